package benchmarks

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"manta/gcs/server"
)

var (
	fig10aDuration = flag.Duration("fig10a.duration", 1500*time.Millisecond, "length of each TestFigure10a run")
	fig10bTasks    = flag.Int("fig10b.tasks", 60000, "tasks recorded by TestFigure10b")
	fig10bCap      = flag.Int64("fig10b.cap", 1<<20, "memory cap of TestFigure10b's run with flushing")
)

// TestFigure10aReplicaProcess is not a test: it is the replica process of
// TestFigure10a's head (this test binary, run with the MANTA_GCS_*
// variables set). Run without them, it does nothing.
func TestFigure10aReplicaProcess(t *testing.T) {
	cfg, ok, err := server.ReplicaConfigFromEnv()
	if !ok {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err = server.RunReplica(ctx, cfg, nil)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// replicaCommand runs this test binary as a replica process.
func replicaCommand() *exec.Cmd {
	return exec.Command(os.Args[0], "-test.run=^TestFigure10aReplicaProcess$")
}

func TestFigure10a(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10**fig10aDuration+60*time.Second)
	defer cancel()
	for _, victim := range []string{"tail", "head"} {
		res, err := figure10a(ctx, fig10aConfig{Duration: *fig10aDuration, Victim: victim, Command: replicaCommand})
		if err != nil {
			t.Fatal(err)
		}
		if res.Acknowledged == 0 || res.ReadBack != res.Acknowledged {
			t.Fatalf("%s: %d of %d acknowledged writes read back", victim, res.ReadBack, res.Acknowledged)
		}
		if res.RejoinedAt == 0 || res.Failed != 0 {
			t.Fatalf("%s: rejoined at %v, %d operations failed", victim, res.RejoinedAt, res.Failed)
		}
		t.Logf("%s killed at %v (removed %v later), new member started at %v (in the chain %v later); %d writes, %d reads, %d failed; %d of %d acknowledged writes read back; latency p50 %v p99 %v max %v",
			victim, res.KilledAt.Round(time.Millisecond), (res.RemovedAt - res.KilledAt).Round(10*time.Microsecond),
			res.JoinedAt.Round(time.Millisecond), (res.RejoinedAt - res.JoinedAt).Round(10*time.Microsecond),
			res.Writes, res.Reads, res.Failed, res.ReadBack, res.Acknowledged, res.P50, res.P99, res.MaxLatency)
		t.Logf("%s: max latency per %v window: %s", victim, *fig10aDuration/20, windows(res, *fig10aDuration/20))
		worst := slices.Clone(res.Samples)
		slices.SortFunc(worst, func(a, b fig10aSample) int { return int(b.Latency - a.Latency) })
		for _, w := range worst[:3] {
			t.Logf("  slowest: at %v took %v (write %v)", w.At.Round(time.Millisecond), w.Latency.Round(10*time.Microsecond), w.Write)
		}
	}
}

// windows summarises latency over time: the maximum in each window.
func windows(res fig10aResult, w time.Duration) string {
	var out []string
	var cur time.Duration
	next := w
	for _, s := range res.Samples {
		for s.At >= next {
			out = append(out, fmt.Sprintf("%.1f", float64(cur)/1e6))
			cur, next = 0, next+w
		}
		cur = max(cur, s.Latency)
	}
	out = append(out, fmt.Sprintf("%.1f", float64(cur)/1e6))
	return strings.Join(out, " ") + " (ms)"
}

func TestFigure10b(t *testing.T) {
	res, err := figure10b(context.Background(), fig10bConfig{Tasks: *fig10bTasks, Samples: 10, MemoryCap: *fig10bCap, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	last := res.WithoutFlush[len(res.WithoutFlush)-1]
	if last.StoreBytes < 4*res.MemoryCap {
		t.Fatalf("without flushing the store holds only %d bytes", last.StoreBytes)
	}
	// The cap bounds the entries; the bloom filters (about 1.2 bytes per
	// flushed task) come on top.
	for _, s := range res.WithFlush {
		if s.StoreBytes > res.MemoryCap+int64(s.Tasks)*2 {
			t.Fatalf("with flushing, %d bytes after %d tasks: over the cap of %d", s.StoreBytes, s.Tasks, res.MemoryCap)
		}
	}
	if res.ReadBack != res.ReadChecked || res.Segments == 0 {
		t.Fatalf("%d of %d flushed tasks read back; %d segments", res.ReadBack, res.ReadChecked, res.Segments)
	}
	mb := func(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
	for i := range res.WithoutFlush {
		a, b := res.WithoutFlush[i], res.WithFlush[i]
		t.Logf("tasks %9d   no flush: store %7s MB heap %7s MB   flush (cap %s MB): store %7s MB heap %7s MB",
			a.Tasks, mb(a.StoreBytes), mb(int64(a.HeapBytes)), mb(res.MemoryCap), mb(b.StoreBytes), mb(int64(b.HeapBytes)))
	}
	t.Logf("%d segments, %s MB on disk; %d of %d flushed tasks read back", res.Segments, mb(res.FlushedBytes), res.ReadBack, res.ReadChecked)
}
