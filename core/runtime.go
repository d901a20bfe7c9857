package core

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
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
	inline  int         // encoded values larger than this go through the object store
	root    wire.TaskID // parent of every task this process submits
	seq     atomic.Uint64
	release func(hold) // backend.release, bound once for AddCleanup
}

// current is the process's runtime. The API is process-wide like Ray's
// (a worker process serves one node), while node managers themselves are
// plain values, so tests and simulations can hold several.
var current atomic.Pointer[runtimeState]

func newRuntimeState(b backend, objs *objectStore) *runtimeState {
	return &runtimeState{backend: b, objs: objs, inline: objs.inline, root: randomTaskID(), release: b.release}
}

// storeSegment is this process's writable mapping of the object store.
func (rt *runtimeState) storeSegment() *shm.Segment { return rt.objs.seg }

// nextTaskID returns a fresh ID for a task this process submits.
func (rt *runtimeState) nextTaskID() wire.TaskID { return rt.root.Child(rt.seq.Add(1)) }

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
	var contained []wire.ObjectID
	if c.refs {
		contained = refsIn(nil, v)
	}
	h, err := rt.backend.put(wire.ObjectID{Task: rt.nextTaskID(), Index: wire.PutIndexBase}, e, contained)
	if err != nil {
		return Ref[T]{}, err
	}
	return Ref[T]{h: newHandle(rt, h)}, nil
}
