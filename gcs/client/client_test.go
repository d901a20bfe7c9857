package client

import (
	"context"
	"errors"
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

// With the shard unavailable and a long write holding its only frame in
// flight, a write with a short deadline returns by that deadline, and a
// cancelled one when it is cancelled, each with its context's error;
// the long write goes on meanwhile.
func TestCallerReturnsByItsDeadline(t *testing.T) {
	g := startGCS(t, 1)
	c := g.dial(Config{MaxInflight: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Put(ctx, gcs.KV, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	sending := make(chan struct{}, 16)
	w := c.writers[0]
	send := w.send
	w.send = func(batch []*call) {
		sending <- struct{}{}
		send(batch)
	}
	g.reps[0].Close() // the chain's last member: it stays, unreachable

	long := make(chan error, 1)
	go func() {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		long <- c.Put(lctx, gcs.KV, []byte("long"), []byte("v"))
	}()
	<-sending // the long write's frame is out

	start := time.Now()
	sctx, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err := c.Put(sctx, gcs.KV, []byte("short"), []byte("v"))
	scancel()
	if took := time.Since(start); took > time.Second {
		t.Fatalf("a write with a 200 ms deadline returned after %v (%v)", took.Round(time.Millisecond), err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, gcs.ErrUnavailable) {
		t.Fatalf("a write past its deadline: %v, want context.DeadlineExceeded and gcs.ErrUnavailable", err)
	}

	start = time.Now()
	cctx, ccancel := context.WithCancel(ctx)
	time.AfterFunc(200*time.Millisecond, ccancel)
	_, _, err = c.Get(cctx, gcs.KV, []byte("k"), nil)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("a read cancelled after 200 ms returned after %v (%v)", took.Round(time.Millisecond), err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled read: %v, want context.Canceled", err)
	}
	cctx, ccancel = context.WithCancel(ctx)
	time.AfterFunc(200*time.Millisecond, ccancel)
	err = c.Put(cctx, gcs.KV, []byte("cancelled"), []byte("v"))
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a write cancelled after 200 ms returned after %v (%v)", took.Round(time.Millisecond), err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled write: %v, want context.Canceled", err)
	}

	select {
	case err := <-long:
		t.Fatalf("the long write ended before its deadline: %v", err)
	default:
	}
	c.Close()
	if err := <-long; !errors.Is(err, gcs.ErrClosed) {
		t.Fatalf("the long write, once the client closed: %v", err)
	}
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
