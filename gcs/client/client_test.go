package client

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"manta/gcs"
	"manta/gcs/chain"
	"manta/gcs/internal/proto"
	"manta/gcs/server"
)

var testToken = []byte("gcs client test token")

// quiet discards what the servers and clients of a test log.
var quiet = slog.New(slog.DiscardHandler)

// testGCS is a monitor of one shard and its replicas, in this process.
type testGCS struct {
	t    *testing.T
	mon  *server.Monitor
	reps []*server.Replica
}

func startGCS(t *testing.T, replicas int) *testGCS {
	t.Helper()
	mon, err := server.StartMonitor(server.MonitorConfig{Shards: 1, Token: testToken, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	g := &testGCS{t: t, mon: mon}
	t.Cleanup(func() {
		for _, r := range g.reps {
			r.Close()
		}
		mon.Close()
	})
	for range replicas {
		g.add()
	}
	g.waitFull(replicas)
	return g
}

// add starts a replica, which joins the chain.
func (g *testGCS) add() {
	g.t.Helper()
	r, err := server.StartReplica(server.ReplicaConfig{Monitor: g.mon.Addr(), Token: testToken, Logger: quiet})
	if err != nil {
		g.t.Fatal(err)
	}
	g.reps = append(g.reps, r)
}

// waitFull waits until the chain has n members and no joiner.
func (g *testGCS) waitFull(n int) chain.Chain {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := g.mon.WaitChains(ctx, func(cs []chain.Chain) bool { return len(cs[0].Members) == n && cs[0].Joiner.ID == 0 })
	if err != nil {
		g.t.Fatal(err)
	}
	return cs[0]
}

// dial returns a client of the GCS, closed when the test ends.
func (g *testGCS) dial(cfg Config) *Client {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg.Monitor, cfg.Token, cfg.Logger = g.mon.Addr(), testToken, quiet
	c, err := Dial(ctx, cfg)
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { c.Close() })
	return c
}

// The tail is replaced again and again; the client keeps connections only
// to the replicas in the chain, not to every replica it ever used.
func TestConnectionsFollowTheChain(t *testing.T) {
	g := startGCS(t, 2)
	c := g.dial(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rw := func() {
		t.Helper()
		if err := c.Put(ctx, gcs.KV, []byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Get(ctx, gcs.KV, []byte("k"), nil); err != nil {
			t.Fatal(err)
		}
	}
	rw()
	for round := 1; round <= 4; round++ {
		tail := g.mon.Chains()[0].Tail()
		for _, r := range g.reps {
			if r.ID() == tail.ID {
				r.Close()
			}
		}
		rw() // the write commits once the dead tail is out of the chain
		g.add()
		g.waitFull(2)
		// The client learns the new chain (the old tail may serve a read
		// or two before it hears) and reads at the new tail.
		c.askMonitor(ctx, proto.MethodChains, nil)
		rw()
		c.mu.Lock()
		conns, ch := len(c.conns), c.chains[0]
		c.mu.Unlock()
		if ch.Tail().ID != g.mon.Chains()[0].Tail().ID {
			t.Fatalf("the client knows chain %v, the monitor %v", ch, g.mon.Chains()[0])
		}
		if conns > 2 {
			t.Fatalf("after replacing the tail %d times the client holds %d connections to replicas, want at most 2 (chain %v)", round, conns, ch)
		}
	}
}
