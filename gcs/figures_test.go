package gcs

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestFigure10a(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, victim := range []string{"tail", "head"} {
		res, err := Figure10a(ctx, Fig10aConfig{Duration: 1500 * time.Millisecond, Victim: victim, Command: replicaCommand})
		if err != nil {
			t.Fatal(err)
		}
		if res.Acknowledged == 0 || res.ReadBack != res.Acknowledged {
			t.Fatalf("%s: %d of %d acknowledged writes read back", victim, res.ReadBack, res.Acknowledged)
		}
		if res.RejoinedAt == 0 || res.Failed != 0 {
			t.Fatalf("%s: rejoined at %v, %d operations failed", victim, res.RejoinedAt, res.Failed)
		}
		worst := slices.Clone(res.Samples)
		slices.SortFunc(worst, func(a, b Fig10aSample) int { return int(b.Latency - a.Latency) })
		for _, w := range worst[:5] {
			t.Logf("  slow: at %v took %v write=%v", w.At, w.Latency, w.Write)
		}
		t.Logf("%s killed at %v, removed at %v, new member at %v, chain whole at %v; %d writes %d reads; latency p50 %v p99 %v max %v",
			victim, res.KilledAt, res.RemovedAt, res.JoinedAt, res.RejoinedAt, res.Writes, res.Reads, res.P50, res.P99, res.MaxLatency)
	}
}

func TestFigure10b(t *testing.T) {
	res, err := Figure10b(context.Background(), Fig10bConfig{Tasks: 60000, Samples: 6, MemoryCap: 1 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	last := res.WithoutFlush[len(res.WithoutFlush)-1]
	if last.StoreBytes < 4*res.MemoryCap {
		t.Fatalf("without flushing the store holds only %d bytes", last.StoreBytes)
	}
	for _, s := range res.WithFlush {
		if s.StoreBytes > res.MemoryCap+res.MemoryCap/4 {
			t.Fatalf("with flushing, %d bytes after %d tasks: over the cap of %d", s.StoreBytes, s.Tasks, res.MemoryCap)
		}
	}
	if res.ReadBack != res.ReadChecked || res.Segments == 0 {
		t.Fatalf("%d of %d flushed tasks read back; %d segments", res.ReadBack, res.ReadChecked, res.Segments)
	}
}
