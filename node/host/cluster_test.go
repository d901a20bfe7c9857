package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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
func (c *loopCluster) Cancel(string, wire.TaskID)      {}
func (c *loopCluster) Pull(context.Context, wire.ObjectID, int64, []peer.Holder, bool) error {
	return errors.New("no pulls")
}
func (c *loopCluster) RecordActor(context.Context, wire.TaskID, string) error { return nil }
func (c *loopCluster) LocateActor(context.Context, wire.TaskID) (string, error) {
	return c.self.Peer, nil
}

// newClusterHost starts a host of one CPU in the cluster cl.
func newClusterHost(t *testing.T, cl Cluster) *Host {
	t.Helper()
	return newClusterHostOf(t, func(*store.Store) Cluster { return cl })
}

// newClusterHostOf starts a host of one CPU in the cluster attach returns
// for the host's store.
func newClusterHostOf(t *testing.T, attach func(*store.Store) Cluster) *Host {
	t.Helper()
	total, err := sched.NewResources(map[string]float64{"CPU": 1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{
		Node:      node.Config{Errors: textErrors{}, Sched: sched.Config{Total: total, MaxWorkers: 1}},
		Store:     store.Config{Capacity: 16 << 20},
		RingBytes: 1 << 16,
		Cluster:   func(st *store.Store, _ peer.Executor) (Cluster, error) { return attach(st), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Shutdown() })
	return h
}

// A call a peer sends for an actor this node does not run is refused with
// ErrActorNotHere, so that its caller finds the actor anew; it is not
// passed on, which a stale actor table would send back here.
func TestExecuteRefusesACallForAnActorNotHere(t *testing.T) {
	cl := &loopCluster{self: peer.Holder{Peer: "127.0.0.1:1", Transfer: "127.0.0.1:2"}}
	h := newClusterHost(t, cl)
	actor := wire.TaskID{Hi: 7, Lo: 1}
	req := &peer.RunRequest{Caller: "127.0.0.1:3", Seq: 1, Spec: node.TaskSpec{ID: wire.TaskID{Hi: 7, Lo: 2}, Kind: wire.SubmitActorCall,
		Actor: actor, Name: []byte("Call")}}
	_, err := h.Execute(context.Background(), req)
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

// A peer cancels a task it asked this node to run: one running stops,
// and one whose cancel came before its run does not hang; either run's
// reply says it was cancelled. So is a task whose member left.
func TestPeersTasksCancelled(t *testing.T) {
	h := newClusterHost(t, &loopCluster{self: peer.Holder{Peer: "127.0.0.1:1", Transfer: "127.0.0.1:2"}})
	started := filepath.Join(t.TempDir(), "started")
	if err := syscall.Mkfifo(started, 0o600); err != nil {
		t.Fatal(err)
	}
	const member = "127.0.0.1:3"
	execute := func(id wire.TaskID, args ...wire.Arg) <-chan peer.RunReply {
		replied := make(chan peer.RunReply, 1)
		go func() {
			reply, err := h.Execute(context.Background(), &peer.RunRequest{Member: member,
				Spec: node.TaskSpec{ID: id, Kind: wire.SubmitTask, Name: []byte("hang"), Args: args}})
			if err != nil {
				reply.Failed = []byte(err.Error())
			}
			replied <- reply
		}()
		return replied
	}
	wantCancelled := func(what string, replied <-chan peer.RunReply) {
		t.Helper()
		select {
		case reply := <-replied:
			if err := (textErrors{}).Decode(reply.Failed); !errors.Is(err, node.ErrCancelled) {
				t.Fatalf("%s: reply %+v (%v), want one saying it was cancelled", what, reply, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no reply", what)
		}
	}

	running := wire.TaskID{Hi: 8, Lo: 1}
	replied := execute(running, wire.Arg{Data: []byte(started)})
	awaitStarted(t, started)
	h.CancelRun(&peer.CancelRequest{Task: running})
	wantCancelled("a running task", replied)

	early := wire.TaskID{Hi: 8, Lo: 2}
	h.CancelRun(&peer.CancelRequest{Task: early})
	wantCancelled("a task cancelled before its run came", execute(early))

	// The member a task runs for leaves the cluster: it is cancelled, and
	// its reply says ErrShutdown, which an owner alive after all (taken
	// for dead) takes as the node's loss, and runs it again.
	orphan := wire.TaskID{Hi: 8, Lo: 3}
	replied = execute(orphan, wire.Arg{Data: []byte(started)})
	awaitStarted(t, started)
	h.MembersGone([]string{member})
	select {
	case reply := <-replied:
		if err := (textErrors{}).Decode(reply.Failed); !errors.Is(err, node.ErrShutdown) || !strings.Contains(err.Error(), "left the cluster") {
			t.Fatalf("a task run for a member that left: reply %+v (%v), want ErrShutdown", reply, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a task run for a member that left: no reply")
	}
}

// awaitStarted waits for the fake worker's hang to say it started in the
// fifo path.
func awaitStarted(t *testing.T, path string) {
	t.Helper()
	if line, err := os.ReadFile(path); err != nil || string(line) != "started\n" { // blocks until the worker writes
		t.Fatalf("the task never started: %q, %v", line, err)
	}
}

// gateCluster places every task at a peer and runs it there: Place and
// Run wait for the test to let them go, and the cancels are recorded.
type gateCluster struct {
	loopCluster
	placing, running chan wire.TaskID // each Place and Run says its task
	place, run       chan struct{}    // and waits for a value here
	cancels          chan string      // "task at addr" for each Cancel
}

const gatePeer = "127.0.0.1:9"

func (c *gateCluster) Place(spec *node.TaskSpec, _ []peer.Object) (string, error) {
	c.placing <- spec.ID
	<-c.place
	return gatePeer, nil
}
func (c *gateCluster) Run(_ context.Context, addr string, req *peer.RunRequest) (peer.RunReply, error) {
	c.running <- req.Spec.ID
	<-c.run
	return peer.RunReply{From: peer.Holder{Peer: addr}, Data: []byte("ran")}, nil
}
func (c *gateCluster) Cancel(addr string, task wire.TaskID) {
	c.cancels <- fmt.Sprintf("%v at %s", task, addr)
}

// A spilled task cancelled while it runs at a peer is cancelled there
// too; one cancelled while it is placed is not sent at all.
func TestCancelSpilledTask(t *testing.T) {
	cl := &gateCluster{loopCluster: loopCluster{self: peer.Holder{Peer: "127.0.0.1:1", Transfer: "127.0.0.1:2"}},
		placing: make(chan wire.TaskID, 1), running: make(chan wire.TaskID, 1), place: make(chan struct{}), run: make(chan struct{}),
		cancels: make(chan string, 1)}
	h := newClusterHost(t, cl)
	t.Cleanup(func() { close(cl.place); close(cl.run) }) // before Shutdown, which waits for the runs
	spill := func(lo uint64) *node.Object {
		t.Helper()
		spec := &node.TaskSpec{ID: wire.TaskID{Hi: 9, Lo: lo}, Kind: wire.SubmitTask, Name: []byte("f"),
			Options: &node.Options{Resources: map[string]float64{"elsewhere": 1}}} // not on this node: spilled
		o, err := h.Submit(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id := <-cl.placing; id != spec.ID {
			t.Fatalf("placing %v, want %v", id, spec.ID)
		}
		return o
	}

	running := spill(1)
	cl.place <- struct{}{}
	<-cl.running
	if err := h.Cancel(running.ID().Task, node.ErrCancelled); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-cl.cancels:
		if want := fmt.Sprintf("%v at %s", running.ID().Task, gatePeer); got != want {
			t.Fatalf("cancel sent: %q, want %q", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no cancel was sent to the peer running the task")
	}
	if r := get(t, h, running); !errors.Is(r.Err, node.ErrCancelled) {
		t.Fatalf("Get of the cancelled task: %v", r.Err)
	}
	cl.run <- struct{}{} // its late answer is not taken

	placed := spill(2)
	if err := h.Cancel(placed.ID().Task, node.ErrCancelled); err != nil {
		t.Fatal(err)
	}
	cl.place <- struct{}{}
	if r := get(t, h, placed); !errors.Is(r.Err, node.ErrCancelled) {
		t.Fatalf("Get of the task cancelled while placed: %v", r.Err)
	}
	ended := make(chan struct{})
	go func() { h.spills.Wait(); close(ended) }()
	select {
	case <-ended: // its run ended without sending it
	case id := <-cl.running:
		t.Fatalf("task %v, cancelled while placed, was sent", id)
	case <-time.After(30 * time.Second):
		t.Fatal("the spill of a task cancelled while placed never ended")
	}
	select {
	case c := <-cl.cancels:
		t.Fatalf("a cancel was sent for a task never sent: %s", c)
	default:
	}
}

// pullCluster is a cluster of one pull, which says it started, waits for
// the test, then writes the object into the host's store as a Puller does.
type pullCluster struct {
	loopCluster
	st      *store.Store
	pulling chan wire.ObjectID
	release chan struct{}
	pulled  chan struct{} // closed once the pull wrote the object
}

func (c *pullCluster) Pull(ctx context.Context, id wire.ObjectID, size int64, _ []peer.Holder, _ bool) error {
	c.pulling <- id
	<-c.release
	defer close(c.pulled)
	if _, err := c.st.Create(ctx, StoreID(id), size); err != nil {
		return err
	}
	return c.st.Seal(StoreID(id))
}

// A remote argument freed while it is pulled (its task cancelled meanwhile)
// does not stay in the store once the pull ends: nobody here holds it, and
// nothing would delete it.
func TestArgumentFreedWhilePulledIsDropped(t *testing.T) {
	cl := &pullCluster{loopCluster: loopCluster{self: peer.Holder{Peer: "127.0.0.1:1", Transfer: "127.0.0.1:2"}},
		pulling: make(chan wire.ObjectID, 1), release: make(chan struct{}), pulled: make(chan struct{})}
	h := newClusterHostOf(t, func(st *store.Store) Cluster {
		cl.st = st
		return cl
	})
	arg := wire.ObjectID{Task: wire.TaskID{Hi: 9, Lo: 1}, Index: 1}
	task := wire.TaskID{Hi: 9, Lo: 2}
	replied := make(chan error, 1)
	go func() {
		reply, err := h.Execute(context.Background(), &peer.RunRequest{Member: "127.0.0.1:3",
			Spec:    node.TaskSpec{ID: task, Kind: wire.SubmitTask, Name: []byte("hang"), Args: []wire.Arg{{IsRef: true, Ref: arg}}},
			Objects: []peer.Object{{ID: arg, Size: 4096, From: []peer.Holder{{Peer: "127.0.0.1:4", Transfer: "127.0.0.1:5"}}}}})
		if err == nil {
			err = (textErrors{}).Decode(reply.Failed)
		}
		replied <- err
	}()
	if id := <-cl.pulling; id != arg {
		t.Fatalf("pulled %v, want the argument %v", id, arg)
	}
	h.CancelRun(&peer.CancelRequest{Task: task})
	if err := <-replied; !errors.Is(err, node.ErrCancelled) {
		t.Fatalf("the task's reply: %v, want ErrCancelled", err)
	}
	close(cl.release)
	<-cl.pulled
	deadline := time.Now().Add(10 * time.Second)
	for cl.st.Stats().Objects != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the argument pulled after it was freed stays in the store: %+v", cl.st.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
