package gcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"manta/rpc"
)

var testToken = []byte("gcs test token")

func quiet(string, ...any) {}

// testCluster is a monitor and replicas in this process.
type testCluster struct {
	t    *testing.T
	mon  *MonitorServer
	reps []*ReplicaServer
}

func startCluster(t *testing.T, shards, replicas int) *testCluster {
	t.Helper()
	mon, err := StartMonitor(MonitorServerConfig{Shards: shards, Token: testToken, Logf: quiet})
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
	tc.waitFull(shards, replicas)
	return tc
}

func (tc *testCluster) add(shard int) *ReplicaServer {
	tc.t.Helper()
	r, err := StartReplica(ReplicaServerConfig{Shard: shard, Monitor: tc.mon.Addr(), Token: testToken, Logf: quiet})
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.reps = append(tc.reps, r)
	return r
}

// waitFull waits until every chain has n members and no joiner.
func (tc *testCluster) waitFull(shards, n int) []Chain {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := tc.mon.WaitChains(ctx, func(cs []Chain) bool {
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

func (tc *testCluster) replica(id ReplicaID) *ReplicaServer {
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

func (tc *testCluster) client(t *testing.T) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, ClientConfig{Monitor: tc.mon.Addr(), Token: testToken, Logf: quiet})
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
		if err := c.Put(ctx, KV, fmt.Appendf(nil, "k%d", i), fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		v, ok, err := c.Get(ctx, KV, fmt.Appendf(nil, "k%d", i), nil)
		if err != nil || !ok || string(v) != fmt.Sprintf("v%d", i) {
			t.Fatalf("k%d = %q %v %v", i, v, ok, err)
		}
	}
	if _, ok, err := c.Get(ctx, KV, []byte("missing"), nil); ok || err != nil {
		t.Fatalf("missing key: %v %v", ok, err)
	}
	c.Add(ctx, Objects, []byte("o"), []byte("n1"))
	c.Add(ctx, Objects, []byte("o"), []byte("n2"))
	c.Add(ctx, Objects, []byte("o"), []byte("n1"))
	v, _, _ := c.Get(ctx, Objects, []byte("o"), nil)
	if ms, _ := Members(v, nil); len(ms) != 2 {
		t.Fatalf("objects o has %d members", len(ms))
	}

	// Bad input gets errors naming the problem, and the servers go on.
	err := c.Put(ctx, KV, []byte("big"), make([]byte, DefaultMaxValue+1))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "MaxValue") {
		t.Fatalf("oversized value: %v", err)
	}
	if err := c.Append(ctx, KV, []byte("k"), []byte("v")); !errors.Is(err, ErrBadOp) {
		t.Fatalf("append to a value table: %v", err)
	}
	if err := c.Put(ctx, KV, []byte("after"), []byte("ok")); err != nil {
		t.Fatal(err)
	}

	// A client talking to a replica that is not the head is redirected.
	chain := tc.mon.Chains()[0]
	tail, err := rpc.Dial(rpc.ClientConfig{Addr: chain.Tail().Addr, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	w := writeRequest{client: 1, acked: 1, reqs: []uint64{1}, ops: []Op{{Kind: OpPut, Table: KV, Key: []byte("x"), Value: []byte("y")}}}
	resp, err := tail.Call(ctx, MethodWrite, appendWriteRequest(nil, &w), nil)
	if err != nil {
		t.Fatal(err)
	}
	var rch Chain
	if _, redirect, err := decodeResults(resp, false, nil, &rch); err != nil || !redirect || rch.Head() != chain.Head() {
		t.Fatalf("write at the tail: redirect=%v to %v (%v), want the head %v", redirect, rch, err, chain.Head())
	}

	// Malformed frames fail that call only.
	for _, bad := range [][]byte{{0xff}, {1, 1, 5, 1}, appendWriteRequest(nil, &w)[:5]} {
		if _, err := tail.Call(ctx, MethodWrite, bad, nil); !errors.As(err, new(*rpc.RemoteError)) {
			t.Fatalf("malformed write %x: %v", bad, err)
		}
		if _, err := tail.Call(ctx, MethodPeer, bad, nil); !errors.As(err, new(*rpc.RemoteError)) {
			t.Fatalf("malformed peer batch %x: %v", bad, err)
		}
	}
	if v, _, err := c.Get(ctx, KV, []byte("after"), nil); err != nil || string(v) != "ok" {
		t.Fatalf("after bad input: %q %v", v, err)
	}

	// A wrong token is refused.
	wrong, _ := rpc.Dial(rpc.ClientConfig{Addr: chain.Head().Addr, Token: []byte("wrong")})
	defer wrong.Close()
	if _, err := wrong.Call(ctx, MethodPing, nil, nil); !errors.Is(err, rpc.ErrUnauthenticated) {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := Dial(ctx, ClientConfig{Monitor: tc.mon.Addr(), Token: []byte("wrong"), Logf: quiet}); !errors.Is(err, rpc.ErrUnauthenticated) {
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

	var mu sync.Mutex
	acked := map[string]string{}
	var failed int
	more := make(chan struct{}, 1) // a write was acknowledged
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k, v := fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("v%d", i)
				wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
				err := c.Put(wctx, KV, []byte(k), []byte(v))
				wcancel()
				mu.Lock()
				if err == nil {
					acked[k] = v
					select {
					case more <- struct{}{}:
					default:
					}
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	progress := func(n int) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			mu.Lock()
			got := len(acked)
			mu.Unlock()
			if got >= n {
				return
			}
			select {
			case <-more:
			case <-timeout:
				t.Fatalf("only %d writes acknowledged, want %d", got, n)
			}
		}
	}
	progress(200)
	for round, victim := range []string{"tail", "head", "tail"} {
		chain := tc.mon.Chains()[0]
		id := chain.Tail().ID
		if victim == "head" {
			id = chain.Head().ID
		}
		tc.replica(id).Close()
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		progress(n + 100)
		tc.add(0)
		tc.waitFull(1, 2)
		mu.Lock()
		n = len(acked)
		mu.Unlock()
		progress(n + 100)
		t.Logf("round %d: killed the %s; chain %v", round, victim, tc.mon.Chains()[0])
	}
	close(stop)
	wg.Wait()
	for k, v := range acked {
		got, ok, err := c.Get(ctx, KV, []byte(k), nil)
		if err != nil || !ok || string(got) != v {
			t.Fatalf("acknowledged write %s=%s reads back %q %v %v", k, v, got, ok, err)
		}
	}
	t.Logf("%d writes acknowledged and read back, %d failed visibly", len(acked), failed)
}

func TestServerSubscribe(t *testing.T) {
	tc := startCluster(t, 1, 2)
	c := tc.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := c.Subscribe(ctx, Actors, []byte("a1"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	all, err := c.Subscribe(ctx, Nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	c.Put(ctx, Actors, []byte("a1"), []byte("on node 1"))
	c.Put(ctx, Actors, []byte("a2"), []byte("elsewhere"))
	c.Put(ctx, Nodes, []byte("n1"), []byte("dead"))
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
	if err != nil || n.Op != OpResync {
		t.Fatalf("after the tail died: %+v %v", n, err)
	}
	var v []byte
	for {
		// Writing until the new subscription sees one: the resync came
		// before the subscription was re-established at the new tail.
		if err := c.Put(ctx, Actors, []byte("a1"), []byte("on node 2")); err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		n, err = sub.Next(wctx)
		wcancel()
		if err == nil {
			v = n.Value
			break
		}
	}
	if !bytes.Equal(v, []byte("on node 2")) {
		t.Fatalf("after moving: %q", v)
	}
}
