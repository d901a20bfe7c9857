package events

import (
	"maps"
	"sync"
	"sync/atomic"
	"unsafe"

	"manta/rpc/wire"
)

// Kind is what happened.
type Kind uint8

// The task-life events, in the order a task meets them, then the
// objects'. Where each is recorded is in the package documentation.
const (
	Submit      Kind = iota + 1 // a call was submitted; Aux is its name's ID (see Name)
	Ready                       // its arguments are all ready
	Queued                      // it entered the local scheduler's queue
	Dispatch                    // the scheduler leased it a worker; Aux is the worker
	Push                        // its message was pushed onto the worker's ring and the worker woken (a spinning worker may Pop it first); Aux is the worker
	Pop                         // the worker popped it from its ring
	Start                       // the worker started running it
	End                         // its function returned
	Done                        // the node manager saw it finish; Aux is 1 if it failed
	Got                         // a Get that waited for its result returned
	ObjCreate                   // an object's place in the store was made; Aux is its size
	ObjSeal                     // an object was sealed in the store; Aux is its size
	ObjPin                      // an object was pinned for a read or an argument
	ObjSpill                    // an object was spilled to disk; Aux is its size
	ObjRestore                  // an object was restored from disk; Aux is its size
	ObjTransfer                 // an object was pulled from another node; Aux is its size
	numKinds
)

var kindNames = [...]string{"", "submit", "ready", "queued", "dispatch", "push", "pop", "start", "end", "done", "got",
	"obj_create", "obj_seal", "obj_pin", "obj_spill", "obj_restore", "obj_transfer"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "unknown"
}

// Object reports whether k is about an object (its Object field is set)
// rather than a task.
func (k Kind) Object() bool { return k >= ObjCreate && k < numKinds }

// Event is one recorded event. For task events Task is the task; for
// object events Object is the object (Task is Object.Task).
type Event struct {
	Time  int64 // nanoseconds on the machine's monotonic clock, comparable across its processes (a Stamp until its recorder's flush)
	Kind  Kind
	then  Kind   // in a ring only: a second event of the task's (RecordPair), Index stamps after this one
	Index uint32 // the object's index, for object events
	Task  wire.TaskID
	Aux   uint64
}

// second returns the second event of a ring's pair (see RecordPair),
// stamped; ok is false when e is a single event.
func (e *Event) second() (ev Event, ok bool) {
	if e.then == 0 {
		return Event{}, false
	}
	ev = Event{Time: e.Time + int64(e.Index), Kind: e.then, Task: e.Task}
	if e.then == Push { // Dispatch's Aux, the worker, is Push's too
		ev.Aux = e.Aux
	}
	return ev, true
}

// first returns a ring's pair's first event as a single one.
func (e *Event) first() Event {
	ev := *e
	ev.then, ev.Index = 0, 0
	return ev
}

// Object returns the object an object event is about.
func (e Event) Object() wire.ObjectID { return wire.ObjectID{Task: e.Task, Index: e.Index} }

// onWord points at the switch every recording point reads (a *uint32):
// a word of this process's own, or one in shared memory that the node
// flips for its workers too (see Attach). Zero means off; otherwise it is
// the sampling period, a power of two: the tasks whose IDs are a multiple
// of it in their low bits are recorded, all of their events.
var onWord = unsafe.Pointer(new(uint32))

func sw() uint32 { return atomic.LoadUint32((*uint32)(atomic.LoadPointer(&onWord))) }

// On reports whether events are being recorded (for some tasks at
// least): the one check a recording point makes when they are not.
func On() bool { return sw() != 0 }

// Sampled reports whether task's events are being recorded: recording
// is on and the task is in the sample (every task's, unless Sample).
func Sampled(task wire.TaskID) bool {
	w := sw()
	return w != 0 && task.Lo&uint64(w-1) == 0
}

// Attach makes the 32-bit word at sw the switch, typically in memory
// shared with other processes: the node process and its workers attach
// the same word, so that one Enable reaches all. The word must stay
// mapped until Detach.
func Attach(sw *uint32) { atomic.StorePointer(&onWord, unsafe.Pointer(sw)) }

// Detach gives this process a switch of its own again, set as the
// attached one was: call it before the attached memory goes away.
func Detach() {
	sw := new(uint32)
	*sw = atomic.LoadUint32((*uint32)(atomic.LoadPointer(&onWord)))
	atomic.StorePointer(&onWord, unsafe.Pointer(sw))
}

// Enable turns recording of every task's events on or off, in every
// process attached to the same switch. A process records only once it
// has a Recorder (Open).
func Enable(enabled bool) {
	every := 0
	if enabled {
		every = 1
	}
	Sample(every)
}

// Sample records the events of one task in every (rounded up to a power
// of two; 0 turns recording off), chosen by task ID, so that a sampled
// task's life is whole: what a fast workload can afford when every
// task's would cost too much.
func Sample(every int) {
	v := uint32(0)
	if every > 0 && rec.Load() != nil {
		v = 1
		for int(v) < every && v < 1<<30 {
			v <<= 1
		}
	}
	atomic.StoreUint32((*uint32)(atomic.LoadPointer(&onWord)), v)
}

// Record records one task event, if the task's events are recorded.
func Record(k Kind, task wire.TaskID, aux uint64) {
	if Sampled(task) {
		record(Event{Kind: k, Task: task, Aux: aux})
	}
}

// RecordAt records one task event that happened at (a Now reading), if
// the task's events are recorded: events that happen together (a Get of
// many objects returning) share one reading of the clock.
func RecordAt(k Kind, task wire.TaskID, aux uint64, at Stamp) {
	if Sampled(task) {
		if r := rec.Load(); r != nil {
			r.add(Event{Kind: k, Task: task, Aux: aux}, at)
		}
	}
}

// RecordPair records two events of a task, the first at firstAt (a Now
// reading) and the second now, in one slot of the ring where the two are
// less than 2^32 stamps apart (a second or more): the node's Submit and
// Queued, or Dispatch and Push, which the same call usually records,
// and a worker's Start and End. The first event has aux; the second
// has none, but Push has Dispatch's (the worker).
func RecordPair(first, second Kind, task wire.TaskID, aux uint64, firstAt Stamp) {
	if Sampled(task) {
		if r := rec.Load(); r != nil {
			r.addPair(Event{Kind: first, then: second, Task: task, Aux: aux}, firstAt)
		}
	}
}

// RecordObject records one object event, if the events of the task that
// made the object are recorded.
func RecordObject(k Kind, id wire.ObjectID, aux uint64) {
	if Sampled(id.Task) {
		record(Event{Kind: k, Task: id.Task, Index: id.Index, Aux: aux})
	}
}

// record stamps e and adds it to this process's rings; apart from
// Record so that the check above inlines into the recording points.
func record(e Event) {
	if r := rec.Load(); r != nil {
		r.add(e, 0)
	}
}

// names interns the names of functions and methods for Submit events.
// A name's lookup reads a map without a lock (every Submit makes one);
// a new name copies the map, under mu: programs have few.
type names struct {
	ids   atomic.Pointer[map[string]uint32]
	mu    sync.Mutex  // adding to ids, fresh
	fresh []nameEntry // interned since the last flush
}

type nameEntry struct {
	id   uint32
	name string
}

// Name returns the ID of name, which Submit events carry in Aux; the
// recorder writes each name once. Call it when recording is on.
func Name(name []byte) uint64 {
	r := rec.Load()
	if r == nil {
		return 0
	}
	if id, ok := (*r.names.ids.Load())[string(name)]; ok {
		return uint64(id)
	}
	r.names.mu.Lock()
	defer r.names.mu.Unlock()
	old := *r.names.ids.Load()
	if id, ok := old[string(name)]; ok {
		return uint64(id)
	}
	ids := maps.Clone(old)
	id := uint32(len(old) + 1)
	ids[string(name)] = id
	r.names.ids.Store(&ids)
	r.names.fresh = append(r.names.fresh, nameEntry{id, string(name)})
	return uint64(id)
}
