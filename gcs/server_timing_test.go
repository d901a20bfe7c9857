package gcs

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkChainRPC measures operations through rpc against one shard
// replicated on a chain of 2 on loopback, with the paper's 25-byte keys
// and 512-byte values, from many concurrent callers (the client pipelines
// their operations into shared frames). The goal is 200,000 ops/s.
func BenchmarkChainRPC(b *testing.B) {
	for _, mix := range []struct {
		name   string
		writes int // of every 2 ops
	}{{"put", 2}, {"get", 0}, {"mixed", 1}} {
		b.Run(mix.name, func(b *testing.B) {
			benchChain(b, mix.writes, 256)
		})
	}
}

func benchChain(b *testing.B, writes, callers int) {
	tc := startClusterB(b, 1, 2)
	ctx := context.Background()
	c, err := Dial(ctx, ClientConfig{Monitor: tc.mon.Addr(), Token: testToken, Logf: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	keys := benchKeyset()
	value := make([]byte, benchValueSize)
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(keys); i += 64 {
				if err := c.Put(ctx, KV, keys[i], value); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var next atomic.Int64
	b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0))) // RunParallel starts GOMAXPROCS×p goroutines
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]byte, 0, benchValueSize)
		for pb.Next() {
			i := next.Add(1)
			k := keys[(i*7919)&(benchKeys-1)]
			if int(i&1) < writes {
				if err := c.Put(ctx, KV, k, value); err != nil {
					b.Error(err)
					return
				}
			} else {
				dst, _, err = c.Get(ctx, KV, k, dst[:0])
				if err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

// startClusterB is startCluster for benchmarks.
func startClusterB(b *testing.B, shards, replicas int) *testCluster {
	mon, err := StartMonitor(MonitorServerConfig{Shards: shards, Token: testToken, Logf: quiet})
	if err != nil {
		b.Fatal(err)
	}
	tc := &testCluster{mon: mon}
	b.Cleanup(tc.close)
	for s := range shards {
		for range replicas {
			r, err := StartReplica(ReplicaServerConfig{Shard: s, Monitor: mon.Addr(), Token: testToken, Logf: quiet})
			if err != nil {
				b.Fatal(err)
			}
			tc.reps = append(tc.reps, r)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := mon.WaitChains(ctx, func(cs []Chain) bool {
		for _, c := range cs {
			if len(c.Members) != replicas || c.Joiner.ID != 0 {
				return false
			}
		}
		return true
	}); err != nil {
		b.Fatal(err)
	}
	return tc
}
