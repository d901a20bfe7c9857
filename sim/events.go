package sim

import (
	"time"

	"manta/node"
	"manta/rpc/wire"
	"manta/sched/global"
)

type eventKind uint8

const (
	// evInput: an input reaches a node manager's inbox.
	evInput eventKind = iota
	// evPlace: a spilled task reaches the global scheduler.
	evPlace
	// evReport: a node's heartbeat reaches the global scheduler.
	evReport
	// evComplete: a task's driver, on another node than the task ran on,
	// learns that it finished.
	evComplete
)

// input is what a node manager is asked to do.
type input uint8

const (
	inSubmit    input = iota // the driver submits a task: queue it here or spill it
	inPlaced                 // a task the global scheduler placed here
	inDone                   // a worker's Done
	inRelease                // the driver got a result and releases it
	inStarted                // a worker process is up
	inExited                 // a worker process is gone
	inPinned                 // a pin is done
	inTimer                  // a timer fired
	inHeartbeat              // time to report the load
)

// event is one thing that happens at a virtual time; the fields beyond
// at, seq and kind are those its kind needs.
type event struct {
	at   time.Duration
	seq  uint64 // ties at the same time go in scheduling order
	kind eventKind
	in   input
	node int32
	proc node.ProcID
	// ran is how long the worker took on the task (inDone).
	ran   time.Duration
	task  wire.TaskID
	token uint64
	f     *flight
	load  *global.Load
}

func (a *event) before(b *event) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

// queue is a binary min-heap of events by time, then scheduling order.
type queue struct {
	events []event
	seq    uint64
}

func (q *queue) len() int { return len(q.events) }

// next is the earliest event; the queue must not be empty.
func (q *queue) next() *event { return &q.events[0] }

func (q *queue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.events = append(q.events, e)
	h := q.events
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h[i].before(&h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *queue) pop() event {
	h := q.events
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = event{} // drop its pointers
	h = h[:last]
	for i := 0; ; {
		small, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l].before(&h[small]) {
			small = l
		}
		if r < len(h) && h[r].before(&h[small]) {
			small = r
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	q.events = h
	return top
}

// fifo is a queue of events in the order they were pushed: a ring
// whose size is a power of two, so that a node's inbox stays as small as
// its longest queue.
type fifo struct {
	ring       []event
	head, size int
}

func (f *fifo) len() int { return f.size }

// front and back are the first and last events; f must not be empty.
func (f *fifo) front() *event { return &f.ring[f.head] }
func (f *fifo) back() *event  { return &f.ring[(f.head+f.size-1)&(len(f.ring)-1)] }

func (f *fifo) push(e event) {
	if f.size == len(f.ring) {
		grown := make([]event, max(16, 2*len(f.ring)))
		n := copy(grown, f.ring[f.head:])
		copy(grown[n:], f.ring[:f.head])
		f.ring, f.head = grown, 0
	}
	f.ring[(f.head+f.size)&(len(f.ring)-1)] = e
	f.size++
}

func (f *fifo) pop() event {
	e := f.ring[f.head]
	f.ring[f.head] = event{} // drop its pointers
	f.head = (f.head + 1) & (len(f.ring) - 1)
	f.size--
	return e
}
