package server

import (
	"context"
	"testing"
	"time"

	"manta/gcs"
	"manta/gcs/client"
	"manta/gcs/internal/proto"
	"manta/rpc"
)

// Polls slower than the client's poll timeout make it subscribe again,
// again and again; each time it drops the subscription it leaves, so the
// tail holds one.
func TestSlowPollsDoNotPileUpSubscriptions(t *testing.T) {
	tc := startCluster(t, 1, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var fault rpc.FaultInjection
	c, err := client.Dial(ctx, client.Config{Monitor: tc.mon.Addr(), Token: testToken, Logger: quiet, Fault: &fault})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, err := c.Subscribe(ctx, gcs.Actors, []byte("a1"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	fault.Set(proto.MethodPoll, rpc.Fault{Delay: 5 * time.Second})
	tail := tc.reps[0]
	for i := 1; i <= 2; i++ {
		// The client delivers a resync once it has subscribed again.
		n, err := sub.Next(ctx)
		if err != nil || n.Op != gcs.OpResync {
			t.Fatalf("after a slow poll: %+v %v, want a resync", n, err)
		}
		if got := tail.Status().Subscriptions; got != 1 {
			t.Fatalf("after %d re-subscriptions the tail holds %d subscriptions, want 1", i, got)
		}
	}
	// Once polls are quick again, changes arrive (after a last resync,
	// maybe: write again).
	fault.Reset()
	for op := gcs.OpResync; op == gcs.OpResync; {
		if err := c.Put(ctx, gcs.Actors, []byte("a1"), []byte("on node 1")); err != nil {
			t.Fatal(err)
		}
		n, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		op = n.Op
	}
}

// A subscription nobody polls (its client died) is dropped by the sweep
// after the one that finds it unpolled since the previous sweep; one that
// is polled stays.
func TestUnpolledSubscriptionExpires(t *testing.T) {
	tc := startCluster(t, 1, 1)
	c := tc.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	live, err := c.Subscribe(ctx, gcs.Actors, []byte("a1"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	tail := tc.reps[0]
	raw, err := rpc.Dial(rpc.ClientConfig{Addr: tail.Addr(), Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	resp, err := raw.Call(ctx, proto.MethodSubscribe, proto.AppendSubscribe(nil, gcs.Nodes, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	id, redirect, err := proto.DecodeSubscribed(resp, nil)
	if err != nil || redirect {
		t.Fatalf("subscribe: %v %v", redirect, err)
	}
	raw.Close() // the subscriber dies without unsubscribing
	sweep := func() {
		tail.mu.Lock()
		tail.sweepSubsLocked()
		tail.mu.Unlock()
	}
	if got := tail.Status().Subscriptions; got != 2 {
		t.Fatalf("%d subscriptions, want 2", got)
	}
	sweep() // both are new
	if got := tail.Status().Subscriptions; got != 2 {
		t.Fatalf("after one sweep: %d subscriptions, want 2", got)
	}
	// A notification comes back in a poll that ends after that sweep.
	if err := c.Put(ctx, gcs.Actors, []byte("a1"), []byte("on node 1")); err != nil {
		t.Fatal(err)
	}
	if n, err := live.Next(ctx); err != nil || n.Op != gcs.OpPut {
		t.Fatalf("live subscription: %+v %v", n, err)
	}
	sweep()
	if got := tail.Status().Subscriptions; got != 1 {
		t.Fatalf("after two sweeps: %d subscriptions, want 1 (the one polled)", got)
	}
	tail.mu.Lock()
	_, kept := tail.subs[id]
	tail.mu.Unlock()
	if kept {
		t.Fatal("the sweep dropped the polled subscription and kept the abandoned one")
	}
}
