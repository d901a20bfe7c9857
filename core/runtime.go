package core

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"manta/node/host"
	"manta/rpc/wire"
	"manta/shm"
)

// backend is what the public API needs from the process it runs in: the
// driver talks to its node manager directly, a worker through its rings.
type backend interface {
	// submit and put return the hold this process now has on the result.
	submit(task wire.TaskID, s submission) (hold, error)
	// get waits for hs and fills out with their bytes; stored bytes stay
	// valid until doneReading(out), which the caller owes if get returned
	// nil.
	get(ctx context.Context, hs []hold, out []result) error
	doneReading(out []result)
	// holdForView keeps a stored object's bytes where they are, and the
	// object alive, until the returned release: a View's lifetime.
	holdForView(id wire.ObjectID) (release func())
	wait(ctx context.Context, hs []hold, k int, timeout time.Duration) ([]int, error)
	put(id wire.ObjectID, v encoded, contained []wire.ObjectID) (hold, error)
	// adopt takes one more hold on id for this process; release drops one.
	adopt(id wire.ObjectID) hold
	release(h hold)
	// cancel cancels the call of that task ID, and its children.
	cancel(task wire.TaskID) error
	killActor(id wire.TaskID) error
	// lookupActor finds the live actor named name: its ID and type name.
	lookupActor(ctx context.Context, name string) (wire.TaskID, string, error)
}

// hold is one hold of this process on an object: its ID, and in the
// driver the node's record of it, so the hot paths skip the object table.
type hold = host.Hold

// runtimeState is this process's manta: the driver's or a worker's.
type runtimeState struct {
	backend backend
	objs    *objectStore
	inline  int // encoded values larger than this go through the object store
	// root names the calls and Puts made outside any task: the driver's,
	// and a worker's that cannot be told apart (see workerProc.nextTaskID).
	root    idSource
	release func(hold) // backend.release, bound once for AddCleanup
	// numberer, in a worker, numbers calls and Puts from the task they are
	// made in; nil in the driver.
	numberer idNumberer
}

// idNumberer numbers the calls and Puts of the task they are made in, if
// it can tell which; ok is false otherwise.
type idNumberer interface {
	nextTaskID(ctx context.Context) (id wire.TaskID, ok bool)
	nextPutID() (id wire.ObjectID, ok bool)
}

// idSource derives the IDs of the calls and Puts one invocation makes: the
// k-th call of task T is T.Child(k), its k-th Put wire.PutID(T, k). A task
// run again makes the same calls in the same order, so its children get
// the same IDs and the node finds the results it already has.
type idSource struct {
	task          wire.TaskID
	submits, puts atomic.Uint64
}

func (s *idSource) reset(task wire.TaskID) {
	s.task = task
	s.submits.Store(0)
	s.puts.Store(0)
}

func (s *idSource) nextTask() wire.TaskID  { return s.task.Child(s.submits.Add(1)) }
func (s *idSource) nextPut() wire.ObjectID { return wire.PutID(s.task, s.puts.Add(1)) }

// current is the process's runtime. The API is process-wide like Ray's
// (a worker process serves one node), while node managers themselves are
// plain values, so tests and simulations can hold several.
var current atomic.Pointer[runtimeState]

func newRuntimeState(b backend, objs *objectStore) *runtimeState {
	rt := &runtimeState{backend: b, objs: objs, inline: objs.inline, release: b.release}
	rt.root.task = randomTaskID()
	return rt
}

// storeSegment is this process's writable mapping of the object store.
func (rt *runtimeState) storeSegment() *shm.Segment { return rt.objs.seg }

// nextTaskID returns the ID of a call made with ctx (nil if none): derived
// from the task it is made in where that is known, from root otherwise.
func (rt *runtimeState) nextTaskID(ctx context.Context) wire.TaskID {
	if rt.numberer != nil {
		if id, ok := rt.numberer.nextTaskID(ctx); ok {
			return id
		}
	}
	return rt.root.nextTask()
}

// nextPutID is nextTaskID for a Put.
func (rt *runtimeState) nextPutID() wire.ObjectID {
	if rt.numberer != nil {
		if id, ok := rt.numberer.nextPutID(); ok {
			return id
		}
	}
	return rt.root.nextPut()
}

func randomTaskID() wire.TaskID {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("manta: no randomness for IDs: %v", err))
	}
	return wire.TaskID{Hi: binary.LittleEndian.Uint64(b[:8]), Lo: binary.LittleEndian.Uint64(b[8:]) | 1}
}

// Put stores v and returns a reference to it, for passing one value to
// many calls without sending it again each time.
func Put[T any](v T) (Ref[T], error) {
	rt := current.Load()
	if rt == nil {
		return Ref[T]{}, ErrNotInitialized
	}
	c := codecFor[T]()
	var e encoded
	if c.size != nil && c.size(&v) > rt.inline {
		e.size = c.size(&v)
		e.write = func(dst []byte) error {
			out, err := c.enc(dst[:0], &v)
			if err == nil && (len(out) != len(dst) || &out[0] != &dst[0]) {
				panic("BUG: a sized encoding did not fill its destination in place")
			}
			return err
		}
	} else {
		data, err := c.enc(nil, &v)
		if err != nil {
			return Ref[T]{}, err
		}
		e.data = data
	}
	var held []*refHandle
	if c.refs {
		held = refsIn(nil, v)
	}
	h, err := rt.backend.put(rt.nextPutID(), e, idsOf(nil, held))
	runtime.KeepAlive(held) // the node holds their objects for v's now
	if err != nil {
		return Ref[T]{}, err
	}
	return Ref[T]{h: newHandle(rt, h)}, nil
}
