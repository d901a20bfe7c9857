package benchmarks

import (
	"context"
	"testing"
	"time"
)

func TestStoreFigure9(t *testing.T) {
	pts, err := storeFigure9(context.Background(), []int64{0, 1000, 1 << 20}, []int{1, 2}, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 6 {
		t.Fatalf("%d points", len(pts))
	}
	for _, p := range pts {
		if p.Puts <= 0 || p.IOPS <= 0 || p.Seconds <= 0 || (p.Size > 0 && (p.GBps <= 0 || p.MemcpyGBps <= 0)) {
			t.Fatalf("point %+v", p)
		}
	}
	if _, err := storeFigure9(context.Background(), []int64{-1}, []int{1}, time.Millisecond); err == nil {
		t.Fatal("negative size accepted")
	}
	if _, err := storeFigure9(context.Background(), []int64{1}, []int{0}, time.Millisecond); err == nil {
		t.Fatal("zero threads accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := storeFigure9(ctx, []int64{1}, []int{1}, time.Hour); err == nil {
		t.Fatal("a cancelled run reported no error")
	}
}

// BenchmarkStoreFigure9 logs Figure 9's points for the bare store at a
// few sizes.
func BenchmarkStoreFigure9(b *testing.B) {
	for range b.N {
		pts, err := storeFigure9(context.Background(), []int64{1 << 10, 1 << 20, 64 << 20}, []int{1, 2}, 200*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range pts {
			b.Logf("size %9d threads %d: %6.2f GB/s %10.0f IOPS (memcpy %6.2f GB/s, %.0f%%)",
				p.Size, p.Threads, p.GBps, p.IOPS, p.MemcpyGBps, 100*p.GBps/p.MemcpyGBps)
		}
	}
}
