package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"manta/gcs"
	"manta/gcs/chain"
	"manta/gcs/client"
	"manta/gcs/internal/proto"
	"manta/rpc"
)

var testToken = []byte("gcs test token")

// quiet discards what the servers and clients of a test log.
var quiet = slog.New(slog.DiscardHandler)

// testCluster is a monitor and replicas in this process.
type testCluster struct {
	t    testing.TB
	mon  *Monitor
	reps []*Replica
}

func startCluster(t testing.TB, shards, replicas int) *testCluster {
	t.Helper()
	mon, err := StartMonitor(MonitorConfig{Shards: shards, Token: testToken, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tc := &testCluster{t: t, mon: mon}
	t.Cleanup(tc.close)
	for s := range shards {
		for range replicas {
			tc.add(s)
		}
	}
	tc.waitFull(replicas)
	return tc
}

func (tc *testCluster) add(shard int) *Replica {
	tc.t.Helper()
	r, err := StartReplica(ReplicaConfig{Shard: shard, Monitor: tc.mon.Addr(), Token: testToken, Logger: quiet})
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.reps = append(tc.reps, r)
	return r
}

// waitFull waits until every chain has n members and no joiner.
func (tc *testCluster) waitFull(n int) []chain.Chain {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := tc.mon.WaitChains(ctx, func(cs []chain.Chain) bool {
		for _, c := range cs {
			if len(c.Members) != n || c.Joiner.ID != 0 {
				return false
			}
		}
		return true
	})
	if err != nil {
		tc.t.Fatal(err)
	}
	return cs
}

func (tc *testCluster) replica(id chain.ReplicaID) *Replica {
	for _, r := range tc.reps {
		if r.ID() == id {
			return r
		}
	}
	return nil
}

func (tc *testCluster) close() {
	for _, r := range tc.reps {
		r.Close()
	}
	tc.mon.Close()
}

func (tc *testCluster) client(t testing.TB) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{Monitor: tc.mon.Addr(), Token: testToken, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestServerReadWrite(t *testing.T) {
	tc := startCluster(t, 2, 2)
	c := tc.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 50 {
		if err := c.Put(ctx, gcs.KV, fmt.Appendf(nil, "k%d", i), fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		v, ok, err := c.Get(ctx, gcs.KV, fmt.Appendf(nil, "k%d", i), nil)
		if err != nil || !ok || string(v) != fmt.Sprintf("v%d", i) {
			t.Fatalf("k%d = %q %v %v", i, v, ok, err)
		}
	}
	if _, ok, err := c.Get(ctx, gcs.KV, []byte("missing"), nil); ok || err != nil {
		t.Fatalf("missing key: %v %v", ok, err)
	}
	c.Add(ctx, gcs.Objects, []byte("o"), []byte("n1"))
	c.Add(ctx, gcs.Objects, []byte("o"), []byte("n2"))
	c.Add(ctx, gcs.Objects, []byte("o"), []byte("n1"))
	v, _, _ := c.Get(ctx, gcs.Objects, []byte("o"), nil)
	if ms, _ := gcs.Members(v, nil); len(ms) != 2 {
		t.Fatalf("objects o has %d members", len(ms))
	}

	// Bad input gets errors naming the problem, and the servers go on.
	err := c.Put(ctx, gcs.KV, []byte("big"), make([]byte, gcs.DefaultMaxValue+1))
	if !errors.Is(err, gcs.ErrTooLarge) || !strings.Contains(err.Error(), "MaxValue") {
		t.Fatalf("oversized value: %v", err)
	}
	if err := c.Append(ctx, gcs.KV, []byte("k"), []byte("v")); !errors.Is(err, gcs.ErrBadOp) {
		t.Fatalf("append to a value table: %v", err)
	}
	if err := c.Put(ctx, gcs.KV, []byte("after"), []byte("ok")); err != nil {
		t.Fatal(err)
	}

	// A client talking to a replica that is not the head is redirected.
	ch := tc.mon.Chains()[0]
	tail, err := rpc.Dial(rpc.ClientConfig{Addr: ch.Tail().Addr, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	w := proto.WriteRequest{Client: 1, Acked: 1, Reqs: []uint64{1}, Ops: []gcs.Op{{Kind: gcs.OpPut, Table: gcs.KV, Key: []byte("x"), Value: []byte("y")}}}
	resp, err := tail.Call(ctx, proto.MethodWrite, proto.AppendWriteRequest(nil, &w), nil)
	if err != nil {
		t.Fatal(err)
	}
	var rch chain.Chain
	if _, redirect, err := proto.DecodeResults(resp, false, nil, &rch); err != nil || !redirect || rch.Head() != ch.Head() {
		t.Fatalf("write at the tail: redirect=%v to %v (%v), want the head %v", redirect, rch, err, ch.Head())
	}

	// Malformed frames fail that call only.
	for _, bad := range [][]byte{{0xff}, {1, 1, 5, 1}, proto.AppendWriteRequest(nil, &w)[:5]} {
		if _, err := tail.Call(ctx, proto.MethodWrite, bad, nil); !errors.As(err, new(*rpc.RemoteError)) {
			t.Fatalf("malformed write %x: %v", bad, err)
		}
		if _, err := tail.Call(ctx, proto.MethodPeer, bad, nil); !errors.As(err, new(*rpc.RemoteError)) {
			t.Fatalf("malformed peer batch %x: %v", bad, err)
		}
	}
	if v, _, err := c.Get(ctx, gcs.KV, []byte("after"), nil); err != nil || string(v) != "ok" {
		t.Fatalf("after bad input: %q %v", v, err)
	}

	// A wrong token is refused.
	wrong, _ := rpc.Dial(rpc.ClientConfig{Addr: ch.Head().Addr, Token: []byte("wrong")})
	defer wrong.Close()
	if _, err := wrong.Call(ctx, proto.MethodPing, nil, nil); !errors.Is(err, rpc.ErrUnauthenticated) {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := client.Dial(ctx, client.Config{Monitor: tc.mon.Addr(), Token: []byte("wrong"), Logger: quiet}); !errors.Is(err, rpc.ErrUnauthenticated) {
		t.Fatalf("client with a wrong token: %v", err)
	}
}

// TestServerFailover kills replicas in the middle of writes and adds new
// ones; every acknowledged write is read back.
func TestServerFailover(t *testing.T) {
	tc := startCluster(t, 1, 2)
	c := tc.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	load := startWrites(ctx, t, c, 4, 5*time.Second)
	load.progress(ctx, 200)
	for round, victim := range []string{"tail", "head", "tail"} {
		ch := tc.mon.Chains()[0]
		id := ch.Tail().ID
		if victim == "head" {
			id = ch.Head().ID
		}
		tc.replica(id).Close()
		load.progress(ctx, 100)
		tc.add(0)
		tc.waitFull(2)
		load.progress(ctx, 100)
		t.Logf("round %d: killed the %s; chain %v", round, victim, tc.mon.Chains()[0])
	}
	load.finish(ctx)
}

func TestServerSubscribe(t *testing.T) {
	tc := startCluster(t, 1, 2)
	c := tc.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := c.Subscribe(ctx, gcs.Actors, []byte("a1"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	all, err := c.Subscribe(ctx, gcs.Nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	c.Put(ctx, gcs.Actors, []byte("a1"), []byte("on node 1"))
	c.Put(ctx, gcs.Actors, []byte("a2"), []byte("elsewhere"))
	c.Put(ctx, gcs.Nodes, []byte("n1"), []byte("dead"))
	n, err := sub.Next(ctx)
	if err != nil || string(n.Value) != "on node 1" {
		t.Fatalf("got %+v %v", n, err)
	}
	n, err = all.Next(ctx)
	if err != nil || string(n.Key) != "n1" || string(n.Value) != "dead" {
		t.Fatalf("got %+v %v", n, err)
	}

	// The tail dies: the subscription moves to the new tail with a resync.
	tc.replica(tc.mon.Chains()[0].Tail().ID).Close()
	n, err = sub.Next(ctx)
	if err != nil || n.Op != gcs.OpResync {
		t.Fatalf("after the tail died: %+v %v", n, err)
	}
	// The resync is delivered once the subscription is at the new tail, so
	// a write from now on is seen, unless the subscription moves again
	// (another resync first: write again).
	for n.Op == gcs.OpResync {
		if err := c.Put(ctx, gcs.Actors, []byte("a1"), []byte("on node 2")); err != nil {
			t.Fatal(err)
		}
		if n, err = sub.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	v := n.Value
	if !bytes.Equal(v, []byte("on node 2")) {
		t.Fatalf("after moving: %q", v)
	}
}

// The tail is replaced again and again, found dead by a probe or
// reported by the head that runs it after a probe found it alive; the
// monitor keeps connections (peers and probes) only to the replicas in
// the chain.
func TestMonitorConnectionsFollowTheChain(t *testing.T) {
	tc := startCluster(t, 1, 2)
	c := tc.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for round := 1; round <= 6; round++ {
		tail := tc.mon.Chains()[0].Tail().ID
		if round%2 == 0 {
			// Suspected while alive (slow, say), its process then exits.
			tc.mon.probe(tail)
			tc.mon.markDead(tail)
		}
		tc.replica(tail).Close()
		// A write commits only once the chain has dropped the dead tail
		// (its head, forwarding, reports it; the monitor's probe finds it
		// dead).
		if err := c.Put(ctx, gcs.KV, []byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		if _, err := tc.mon.WaitChains(ctx, func(cs []chain.Chain) bool { return !cs[0].Contains(tail) }); err != nil {
			t.Fatal(err)
		}
		tc.add(0)
		tc.waitFull(2)
		tc.mon.mu.Lock()
		peers, probes := len(tc.mon.peers), len(tc.mon.probes)
		tc.mon.mu.Unlock()
		if peers > 2 || probes > 2 {
			t.Fatalf("after replacing the tail %d times the monitor holds %d peers and %d probes, want at most 2 of each (chain %v)", round, peers, probes, tc.mon.Chains()[0])
		}
	}
}

// A suspected replica that is stalled (its port accepts, its handshake
// never comes) is left to the heartbeats; one whose port refuses is gone.
func TestProbeRemovesOnlyAReplicaThatIsGone(t *testing.T) {
	mon, err := StartMonitor(MonitorConfig{Shards: 1, Token: testToken, Logger: quiet, FailTicks: 100000})
	if err != nil {
		t.Fatal(err)
	}
	tc := &testCluster{t: t, mon: mon}
	t.Cleanup(tc.close)
	tc.add(0)
	tc.add(0)
	tc.waitFull(2)
	tail := tc.mon.Chains()[0].Tail().ID
	addr := tc.replica(tail).Addr()
	tc.replica(tail).Close()
	stalled, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen again on the tail's address: %v", err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := stalled.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }() // never answered
		}
	}()
	for range 5 {
		tc.mon.probe(tail)
	}
	if !tc.mon.Chains()[0].Contains(tail) {
		t.Fatal("a stalled replica (its port accepts) was removed by a probe")
	}
	stalled.Close()
	tc.mon.probe(tail)
	if tc.mon.Chains()[0].Contains(tail) {
		t.Fatal("a replica whose port refuses stayed after a probe")
	}
}
