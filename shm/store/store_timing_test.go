package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// window is how many small objects the put benchmarks keep alive: each put
// deletes the object made window puts earlier, as a node whose objects go
// out of scope would, so the store never fills and never spills.
const window = 4096

// benchStore is a store whose every page has been written, so that the
// benchmarks do not include the kernel zeroing fresh pages.
func benchStore(b *testing.B, capacity int64) *testStore {
	b.Helper()
	s := newTestStore(b, Config{Capacity: capacity})
	for i := 0; i < len(s.mem); i += os.Getpagesize() {
		s.mem[i] = 0
	}
	return s
}

func benchID(g, n uint64) ID {
	var id ID
	binary.LittleEndian.PutUint64(id[:], n)
	binary.LittleEndian.PutUint64(id[8:], g)
	return id
}

// putSmall is one small put in the benchmarks' pattern.
func (s *testStore) putSmall(b *testing.B, ctx context.Context, g, n uint64, src []byte, window uint64) {
	id := benchID(g, n)
	sl, err := s.Create(ctx, id, int64(len(src)))
	if err != nil {
		b.Fatal(err)
	}
	w, err := s.v.Writable(sl)
	if err != nil {
		b.Fatal(err)
	}
	copy(w, src)
	if err := s.Seal(id); err != nil {
		b.Fatal(err)
	}
	if n >= window {
		s.Delete(benchID(g, n-window))
	}
}

func BenchmarkPutSmall(b *testing.B) {
	s := benchStore(b, 64<<20)
	src := content(0, 1024)
	ctx := context.Background()
	for n := range uint64(2 * window) { // warm the tables
		s.putSmall(b, ctx, 1, n, src, window)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for n := uint64(0); n < uint64(b.N); n++ {
		s.putSmall(b, ctx, 0, n, src, window)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "puts/s")
}

func BenchmarkGetSmall(b *testing.B) {
	const objects = 1024
	s := benchStore(b, 64<<20)
	src := content(0, 1024)
	ctx := context.Background()
	for n := range uint64(objects) {
		s.putSmall(b, ctx, 0, n, src, objects)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var sum byte
	for n := 0; n < b.N; n++ {
		id := benchID(0, uint64(n%objects))
		sl, err := s.Pin(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		data, err := s.v.Bytes(sl)
		if err != nil {
			b.Fatal(err)
		}
		sum += data[n%len(data)]
		s.Unpin(id)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "gets/s")
	_ = sum
}

// BenchmarkPutSmallManyLive is BenchmarkPutSmall with 100k live objects:
// the allocator and the index must not slow down with the object count.
func BenchmarkPutSmallManyLive(b *testing.B) {
	const live = 100_000
	s := benchStore(b, 128<<20)
	src := content(0, 1024)
	ctx := context.Background()
	for n := range uint64(live) {
		s.putSmall(b, ctx, 0, n, src, live)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	b.ResetTimer()
	for n := uint64(live); n < live+uint64(b.N); n++ {
		s.putSmall(b, ctx, 0, n, src, live)
	}
}

var largeSizes = []int64{1 << 20, 64 << 20}

func sizeName(n int64) string { return fmt.Sprintf("%dMB", n>>20) }

// BenchmarkPutLarge: Create, copy from a preallocated buffer, Seal (and
// Delete, so the same memory is reused as in BenchmarkMemcpy).
func BenchmarkPutLarge(b *testing.B) {
	for _, size := range largeSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			s := benchStore(b, 3*allocSize(size))
			src := content(0, int(size))
			ctx := context.Background()
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				id := benchID(0, uint64(n))
				sl, err := s.Create(ctx, id, size)
				if err != nil {
					b.Fatal(err)
				}
				w, err := s.v.Writable(sl)
				if err != nil {
					b.Fatal(err)
				}
				copy(w, src)
				if err := s.Seal(id); err != nil {
					b.Fatal(err)
				}
				s.Delete(id)
			}
		})
	}
}

// BenchmarkMemcpy is the bound for BenchmarkPutLarge: the same copy
// between two preallocated buffers.
func BenchmarkMemcpy(b *testing.B) {
	for _, size := range largeSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			src, dst := content(0, int(size)), content(1, int(size))
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				copy(dst, src)
			}
		})
	}
}

// BenchmarkPutLargeVsMemcpy alternates one put and one memcpy of the same
// size and reports both bandwidths and their ratio: on a shared machine,
// load from elsewhere then weighs on both alike.
func BenchmarkPutLargeVsMemcpy(b *testing.B) {
	for _, size := range largeSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			s := benchStore(b, 3*allocSize(size))
			src, dst := content(0, int(size)), content(1, int(size))
			ctx := context.Background()
			var putTime, copyTime time.Duration
			b.SetBytes(2 * size)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				id := benchID(0, uint64(n))
				t0 := time.Now()
				sl, err := s.Create(ctx, id, size)
				if err != nil {
					b.Fatal(err)
				}
				w, err := s.v.Writable(sl)
				if err != nil {
					b.Fatal(err)
				}
				copy(w, src)
				if err := s.Seal(id); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				copy(dst, src)
				t2 := time.Now()
				s.Delete(id)
				putTime += t1.Sub(t0)
				copyTime += t2.Sub(t1)
			}
			bytes := float64(b.N) * float64(size)
			b.ReportMetric(bytes/putTime.Seconds()/1e9, "put-GB/s")
			b.ReportMetric(bytes/copyTime.Seconds()/1e9, "memcpy-GB/s")
			b.ReportMetric(100*copyTime.Seconds()/putTime.Seconds(), "put-%-of-memcpy")
		})
	}
}

// BenchmarkPutParallel: small puts from GOMAXPROCS goroutines (2 here).
func BenchmarkPutParallel(b *testing.B) {
	s := benchStore(b, 64<<20)
	ctx := context.Background()
	var next atomic.Uint64
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		g := next.Add(1)
		src := content(g, 1024)
		for n := uint64(0); pb.Next(); n++ {
			s.putSmall(b, ctx, g, n, src, window)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "puts/s")
}
