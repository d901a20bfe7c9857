package host

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"manta/node"
	"manta/node/peer"
	"manta/rpc/wire"
	"manta/sched"
	"manta/shm/store"
)

// loopCluster is a cluster whose actor table names this node for every
// actor, as a stale record does once the actor died here; it counts the
// runs the host sends.
type loopCluster struct {
	self peer.Holder
	runs atomic.Int32
}

func (c *loopCluster) Self() peer.Holder { return c.self }
func (c *loopCluster) Place(*node.TaskSpec, []peer.Object) (string, error) {
	return c.self.Peer, nil
}
func (c *loopCluster) Run(context.Context, string, *peer.RunRequest) (peer.RunReply, error) {
	c.runs.Add(1)
	return peer.RunReply{}, errors.New("not sent")
}
func (c *loopCluster) Release(string, []wire.ObjectID) {}
func (c *loopCluster) Pull(context.Context, wire.ObjectID, int64, []peer.Holder, bool) error {
	return errors.New("no pulls")
}
func (c *loopCluster) RecordActor(context.Context, wire.TaskID, string) error { return nil }
func (c *loopCluster) LocateActor(context.Context, wire.TaskID) (string, error) {
	return c.self.Peer, nil
}

// A call a peer sends for an actor this node does not run is refused with
// ErrActorNotHere, so that its caller finds the actor anew; it is not
// passed on, which a stale actor table would send back here.
func TestExecuteRefusesACallForAnActorNotHere(t *testing.T) {
	total, err := sched.NewResources(map[string]float64{"CPU": 1})
	if err != nil {
		t.Fatal(err)
	}
	cl := &loopCluster{self: peer.Holder{Peer: "127.0.0.1:1", Transfer: "127.0.0.1:2"}}
	h, err := New(Config{
		Node:      node.Config{Errors: textErrors{}, Sched: sched.Config{Total: total, MaxWorkers: 1}},
		Store:     store.Config{Capacity: 16 << 20},
		RingBytes: 1 << 16,
		Cluster:   func(*store.Store, peer.Executor) (Cluster, error) { return cl, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Shutdown() })
	actor := wire.TaskID{Hi: 7, Lo: 1}
	req := &peer.RunRequest{Caller: "127.0.0.1:3", Seq: 1, Spec: node.TaskSpec{ID: wire.TaskID{Hi: 7, Lo: 2}, Kind: wire.SubmitActorCall,
		Actor: actor, Name: []byte("Call")}}
	_, err = h.Execute(context.Background(), req)
	if !errors.Is(err, peer.ErrActorNotHere) {
		t.Fatalf("Execute of a call to an actor not here = %v, want ErrActorNotHere", err)
	}
	if n := cl.runs.Load(); n != 0 {
		t.Fatalf("the call was passed on %d times", n)
	}
	if s := h.Stats(); s.Node.Objects != 0 {
		t.Fatalf("a refused call left %d objects", s.Node.Objects)
	}
}
