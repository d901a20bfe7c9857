package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs"
)

// openNodes opens an embedded store and subscribes to its Nodes table,
// both closed when the test ends.
func openNodes(t *testing.T, ctx context.Context) (*gcs.Store, *gcs.Subscription) {
	t.Helper()
	st, err := gcs.Open(gcs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	nodes, err := st.Subscribe(ctx, gcs.Nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nodes.Close() })
	return st, nodes
}

// A node manager's heartbeats stop; a subscriber to Nodes sees it die, and
// come back when it beats again.
func TestWatchNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, nodes := openNodes(t, ctx)
	clock := clockwork.NewFakeClock()
	w, err := WatchNodes(ctx, NodeWatcherConfig{GCS: st, Timeout: time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	next := func(want gcs.NodeState) gcs.NodeInfo {
		t.Helper()
		for {
			n, err := nodes.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			info, err := gcs.DecodeNodeInfo(n.Value)
			if err != nil {
				t.Fatal(err)
			}
			if info.State == want {
				return info
			}
		}
	}

	st.Put(ctx, gcs.Nodes, []byte("node-1"), gcs.AppendNodeInfo(nil, gcs.NodeInfo{Addr: "10.0.0.1", State: gcs.NodeAlive}))
	st.Put(ctx, gcs.Heartbeats, []byte("node-1"), []byte("load=0"))
	// Once the watcher has the heartbeat, it times the node's death.
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if info := next(gcs.NodeDead); info.Addr != "10.0.0.1" {
		t.Fatalf("death lost the address: %+v", info)
	}
	st.Put(ctx, gcs.Heartbeats, []byte("node-1"), []byte("load=1"))
	if info := next(gcs.NodeAlive); info.Addr != "10.0.0.1" {
		t.Fatalf("revival lost the address: %+v", info)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("watcher: %v", err)
	}
}

// failingNodes is a GCS whose first Put to Nodes fails, as when the
// shard holding the node is unavailable for a while.
type failingNodes struct {
	*gcs.Store
	failed chan struct{} // closed by the failing Put
	once   sync.Once
}

func (f *failingNodes) Put(ctx context.Context, t gcs.Table, key, value []byte) error {
	fail := false
	if t == gcs.Nodes {
		f.once.Do(func() { fail = true })
	}
	if fail {
		close(f.failed)
		return fmt.Errorf("%w: injected", gcs.ErrUnavailable)
	}
	return f.Store.Put(ctx, t, key, value)
}

// A node beats once and goes silent, and the write that marks it dead
// fails: the watcher goes on, and marks it dead when the write is tried
// again.
func TestWatchNodesRetriesFailedWrite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, nodes := openNodes(t, ctx)
	api := &failingNodes{Store: st, failed: make(chan struct{})}
	clock := clockwork.NewFakeClock()
	w, err := WatchNodes(ctx, NodeWatcherConfig{GCS: api, Timeout: time.Second, Clock: clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()

	st.Put(ctx, gcs.Nodes, []byte("node-1"), gcs.AppendNodeInfo(nil, gcs.NodeInfo{Addr: "10.0.0.1", State: gcs.NodeAlive}))
	st.Put(ctx, gcs.Heartbeats, []byte("node-1"), []byte("load=0"))
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	select {
	case <-api.failed:
	case <-ctx.Done():
		t.Fatal("the watcher did not try to mark the silent node dead")
	}
	// The watcher either stops (the defect) or sets a timer to retry.
	retrying := make(chan error, 1)
	go func() { retrying <- clock.BlockUntilContext(wctx, 1) }()
	select {
	case err := <-done:
		t.Fatalf("the watcher stopped after one failed write: %v", err)
	case err := <-retrying:
		if err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(writeRetry)
	for {
		n, err := nodes.Next(ctx)
		if err != nil {
			t.Fatalf("node-1 was never marked dead: %v", err)
		}
		if info, err := gcs.DecodeNodeInfo(n.Value); err == nil && info.State == gcs.NodeDead {
			if info.Addr != "10.0.0.1" {
				t.Fatalf("death lost the address: %+v", info)
			}
			break
		}
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("watcher: %v", err)
	}
}
