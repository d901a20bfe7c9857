package core

import (
	"context"
	"runtime"
	"testing"
	"time"
)

var benchNoop = Register0("bench.noop", func() (int, error) { return 0, nil })

// BenchmarkTasksAsync submits batches of empty tasks and gets them,
// leaving their references to the garbage collector, as a Go program
// usually does.
func BenchmarkTasksAsync(b *testing.B) { benchTasksAsync(b, false) }

// BenchmarkTasksAsyncReleased releases each batch's references once read,
// as Python's reference counting does in Ray's benchmark: against
// BenchmarkTasksAsync, the cost of results that wait for a collection
// (their records, lineage and map entries stay until it runs).
func BenchmarkTasksAsyncReleased(b *testing.B) { benchTasksAsync(b, true) }

func benchTasksAsync(b *testing.B, release bool) {
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
		if release {
			ReleaseAll(refs[:n])
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

// BenchmarkPutSmall is the driver's Put of an inline value, its reference
// left to the collector as the microbenchmark's put row does.
func BenchmarkPutSmall(b *testing.B) {
	c, err := Init(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Shutdown()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := Put(i); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetReady is the driver's Get of a ready inline value.
func BenchmarkGetReady(b *testing.B) {
	c, err := Init(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Shutdown()
	ctx := context.Background()
	r, err := Put(7)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Get(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSpill puts three times the store's capacity, holding every
// reference, then reads it all back and checks every byte: the store
// spills the least recently used objects to disk and restores them on
// Get. It reports the spill and restore rates.
func BenchmarkSpill(b *testing.B) {
	const capacity, size = 64 << 20, 1 << 20
	for b.Loop() {
		c, err := Init(Config{StoreBytes: capacity, SpillDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		refs := make([]Ref[[]byte], 3*capacity/size)
		val := make([]byte, size)
		start := time.Now()
		for i := range refs {
			for j := range val {
				val[j] = byte(i*7 + j)
			}
			if refs[i], err = Put(val); err != nil {
				b.Fatal(err)
			}
		}
		putTime := time.Since(start)
		start = time.Now()
		for i, r := range refs {
			got, err := r.Get(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			for j := range got {
				if got[j] != byte(i*7+j) {
					b.Fatalf("object %d byte %d differs after spilling", i, j)
				}
			}
			refs[i] = Ref[[]byte]{} // let the store drop its pin on it
			if i%16 == 15 {
				runtime.GC()
			}
		}
		getTime := time.Since(start)
		st := c.Stats().Store
		c.Shutdown()
		if st.SpillWrites == 0 || st.Restores == 0 {
			b.Fatalf("nothing was spilled or restored: %+v", st)
		}
		b.ReportMetric(float64(st.SpillWriteBytes)/putTime.Seconds()/1e6, "spill-MB/s")
		b.ReportMetric(float64(st.RestoreBytes)/getTime.Seconds()/1e6, "restore-MB/s")
		b.ReportMetric(float64(st.SpillWrites), "spills")
		b.ReportMetric(float64(st.Restores), "restores")
	}
}

// BenchmarkFib20 runs fib(20) as a tree of 21891 nested tasks, every one
// waiting for its children in Get, on a two-CPU node (two worker
// processes); BenchmarkFib20Goroutines is the same recursion with a
// goroutine per call in this process.
func BenchmarkFib20(b *testing.B) {
	c, err := Init(Config{Resources: map[string]float64{"CPU": 2}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Shutdown()
	ctx := context.Background()
	for b.Loop() {
		if v, err := testFibCtx.Remote(ctx, 20).Get(ctx); err != nil || v != 6765 {
			b.Fatal(v, err)
		}
	}
	b.ReportMetric(float64(c.Stats().WorkersStarted), "processes")
}

func BenchmarkFib20Goroutines(b *testing.B) {
	var fib func(n int) int
	fib = func(n int) int {
		if n < 2 {
			return n
		}
		ch := make(chan int, 2)
		go func() { ch <- fib(n - 1) }()
		go func() { ch <- fib(n - 2) }()
		return <-ch + <-ch
	}
	for b.Loop() {
		if v := fib(20); v != 6765 {
			b.Fatal(v)
		}
	}
}
