package gcs

import (
	"context"
	"fmt"
	"testing"

	"manta/gcs/internal/workload"
)

// BenchmarkEmbeddedShard measures one embedded shard: ns/op is per
// operation, half writes and half reads over 65536 keys (the ops/s goal is
// 1,000,000 per shard).
func BenchmarkEmbeddedShard(b *testing.B) {
	for _, mix := range workload.Mixes {
		b.Run(mix.Name, func(b *testing.B) {
			ctx := context.Background()
			st, err := Open(Config{Shards: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			keys := workload.Keys()
			value := make([]byte, workload.ValueSize)
			for _, k := range keys {
				st.Put(ctx, KV, k, value)
			}
			dst := make([]byte, 0, workload.ValueSize)
			b.SetBytes(workload.ValueSize)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := keys[i&(workload.NumKeys-1)]
				if i&1 < mix.Writes {
					if err := st.Put(ctx, KV, k, value); err != nil {
						b.Fatal(err)
					}
				} else if dst, _, _ = st.Get(ctx, KV, k, dst[:0]); len(dst) != workload.ValueSize {
					b.Fatal("bad read")
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkEmbeddedShardParallel runs the mixed load on 4 shards from
// every CPU.
func BenchmarkEmbeddedShardParallel(b *testing.B) {
	ctx := context.Background()
	st, _ := Open(Config{Shards: 4})
	defer st.Close()
	keys := workload.Keys()
	value := make([]byte, workload.ValueSize)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]byte, 0, workload.ValueSize)
		i := 0
		for pb.Next() {
			k := keys[(i*7919)&(workload.NumKeys-1)]
			if i&1 == 0 {
				st.Put(ctx, KV, k, value)
			} else {
				dst, _, _ = st.Get(ctx, KV, k, dst[:0])
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkEmbeddedInsert measures inserting new task entries, the Figure
// 10b load, without flushing.
func BenchmarkEmbeddedInsert(b *testing.B) {
	ctx := context.Background()
	st, _ := Open(Config{Shards: 1})
	defer st.Close()
	value := make([]byte, 64)
	key := make([]byte, 0, 32)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key = fmt.Appendf(key[:0], "task-%020d", i)
		st.Put(ctx, Tasks, key, value)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
