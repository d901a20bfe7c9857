package core

import (
	"context"
	"testing"
)

var benchNoop = Register0("bench.noop", func() (int, error) { return 0, nil })

func BenchmarkTasksAsync(b *testing.B) {
	c, err := Init(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Shutdown()
	ctx := context.Background()
	const batch = 10000
	refs := make([]Ref[int], batch)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		for i := range n {
			refs[i] = benchNoop.Remote()
		}
		if _, err := GetAll(ctx, refs[:n]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}

func BenchmarkTaskSync(b *testing.B) {
	c, err := Init(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Shutdown()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := benchNoop.Remote().Get(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutLarge(b *testing.B) {
	c, err := Init(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Shutdown()
	buf := make([]byte, 64<<20)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Put(buf); err != nil {
			b.Fatal(err)
		}
	}
}
