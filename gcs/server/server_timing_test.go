package server

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"manta/gcs"
	"manta/gcs/internal/workload"
)

// BenchmarkChainRPC measures operations through rpc against one shard
// replicated on a chain of 2 on loopback, with the paper's 25-byte keys
// and 512-byte values, from many concurrent callers (the client pipelines
// their operations into shared frames). The goal is 200,000 ops/s.
func BenchmarkChainRPC(b *testing.B) {
	for _, mix := range workload.Mixes {
		b.Run(mix.Name, func(b *testing.B) {
			benchChain(b, mix.Writes, 256)
		})
	}
}

func benchChain(b *testing.B, writes, callers int) {
	tc := startCluster(b, 1, 2)
	ctx := context.Background()
	c := tc.client(b)
	keys := workload.Keys()
	value := make([]byte, workload.ValueSize)
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(keys); i += 64 {
				if err := c.Put(ctx, gcs.KV, keys[i], value); err != nil {
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
		dst := make([]byte, 0, workload.ValueSize)
		for pb.Next() {
			i := next.Add(1)
			k := keys[(i*7919)&(workload.NumKeys-1)]
			if int(i&1) < writes {
				if err := c.Put(ctx, gcs.KV, k, value); err != nil {
					b.Error(err)
					return
				}
			} else {
				var err error
				if dst, _, err = c.Get(ctx, gcs.KV, k, dst[:0]); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}
