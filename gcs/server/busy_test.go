package server

import (
	"bytes"
	"context"
	"fmt"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"manta/gcs"
	"manta/gcs/chain"
)

// TestLargeWritesThroughBusyChain writes MiB-sized values through a chain
// of three replicas whose calls to one another take longer than their
// retransmit interval (one tick), as MiB-sized entries do under load: while
// a frame is out, the resends of every entry not yet acknowledged queue up
// behind it, and a joiner asks the tail for the state again and again while
// a large snapshot is on its way. None of that may pile up into frames that
// never get through (over the receiver's MaxFrame, or past the call's
// timeout, then resent with even more behind them): every write completes,
// a replica joins (by state transfer of the large state) while writes go
// on, no replica is removed while all of them live, and every write reads
// back from the new tail.
func TestLargeWritesThroughBusyChain(t *testing.T) {
	if testing.Short() {
		t.Skip("writes tens of MiB through a chain")
	}
	mon, err := StartMonitor(MonitorConfig{Shards: 1, Token: testToken, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tc := &testCluster{t: t, mon: mon}
	t.Cleanup(tc.close)
	peak := watchHeap(t, 1<<30)
	defer func() { t.Logf("peak heap %d MiB", peak.Load()>>20) }()
	add := func() {
		r, err := StartReplica(ReplicaConfig{Monitor: mon.Addr(), Token: testToken, Logger: quiet,
			RetransmitTicks: 1, MaxFrame: 16 << 20})
		if err != nil {
			t.Fatal(err)
		}
		tc.reps = append(tc.reps, r)
	}
	for range 3 {
		add()
	}
	first := tc.waitFull(3)[0]
	c := tc.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const size = 1 << 20
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, size) }
	written := 0
	put := func(n int) {
		t.Helper()
		for range n {
			wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
			err := c.Put(wctx, gcs.Functions, fmt.Appendf(nil, "chunk-%d", written), value(written))
			wcancel()
			if err != nil {
				t.Fatalf("write %d of %d bytes: %v (chain %v)", written, size, err, mon.Chains()[0])
			}
			written++
		}
	}
	put(16)

	// A fourth replica joins, receiving the state, while writes go on.
	add()
	put(6)
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	_, err = mon.WaitChains(wctx, func(cs []chain.Chain) bool { return len(cs[0].Members) == 4 && cs[0].Joiner.ID == 0 })
	wcancel()
	if err != nil {
		t.Fatalf("the fourth replica did not join: %v", err)
	}
	put(2)

	ch := mon.Chains()[0]
	for _, m := range first.Members {
		if !ch.Contains(m.ID) {
			t.Errorf("replica %v was removed from the chain (now %v) while alive", m.ID, ch)
		}
	}
	for _, r := range tc.reps {
		select {
		case <-r.Done():
			t.Errorf("replica %v stopped: %v", r.ID(), r.Err())
		default:
		}
	}
	for i := range written {
		got, ok, err := c.Get(ctx, gcs.Functions, fmt.Appendf(nil, "chunk-%d", i), nil)
		if err != nil || !ok || !bytes.Equal(got, value(i)) {
			t.Fatalf("chunk %d reads back %d bytes, %v, %v; want %d bytes of %d", i, len(got), ok, err, size, i)
		}
	}
}

// watchHeap samples the heap until the test ends and panics (ending the
// test binary at once) if it goes over limit, so that a regression that
// piles up frames or snapshots fails the test rather than exhausting the
// machine's memory. It returns the peak seen.
func watchHeap(t *testing.T, limit uint64) *atomic.Uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			heap := sample[0].Value.Uint64()
			if heap > peak.Load() {
				peak.Store(heap)
			}
			if heap > limit {
				panic(fmt.Sprintf("%s: the heap grew to %d MiB, over the test's limit of %d MiB", t.Name(), heap>>20, limit>>20))
			}
		}
	}()
	return &peak
}
