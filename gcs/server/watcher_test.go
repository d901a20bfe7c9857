package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs"
)

// A node manager's heartbeats stop; a subscriber to Nodes sees it die, and
// come back when it beats again.
func TestWatchNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := gcs.Open(gcs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	nodes, err := st.Subscribe(ctx, gcs.Nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nodes.Close()
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
