package store

import (
	"context"
	"testing"
	"time"
)

func TestFigure9(t *testing.T) {
	pts, err := Figure9(context.Background(), []int64{0, 1000, 1 << 20}, []int{1, 2}, 20*time.Millisecond)
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
	if _, err := Figure9(context.Background(), []int64{-1}, []int{1}, time.Millisecond); err == nil {
		t.Fatal("negative size accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Figure9(ctx, []int64{1}, []int{1}, time.Hour); err == nil {
		t.Fatal("a cancelled run reported no error")
	}
}
