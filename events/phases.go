package events

import (
	"slices"

	"manta/rpc/wire"
)

// Phase is one stretch of a task's life, between two of its events, with
// its duration in every task that recorded both.
type Phase struct {
	Name     string
	From, To Kind
	// Nanos holds the durations, sorted.
	Nanos []int64
}

// Quantile returns the q-quantile of the phase's durations in
// nanoseconds (0 when it has none).
func (p Phase) Quantile(q float64) int64 {
	if len(p.Nanos) == 0 {
		return 0
	}
	return p.Nanos[min(len(p.Nanos)-1, int(q*float64(len(p.Nanos))))]
}

// phases are a task's life in order: each ends where the next begins,
// so that, per task, they add up to submit → got.
var phases = []Phase{
	{Name: "node: submit to queued", From: Submit, To: Queued},
	{Name: "scheduler queue", From: Queued, To: Dispatch},
	{Name: "ring push (with the worker's wake-up call)", From: Dispatch, To: Push},
	{Name: "worker: woken, pops it", From: Push, To: Pop},
	{Name: "worker: pop to start", From: Pop, To: Start},
	{Name: "run", From: Start, To: End},
	{Name: "reply to the node manager", From: End, To: Done},
	{Name: "driver: woken, Get returns", From: Done, To: Got},
}

// Breakdown returns the phases of the plain tasks that recorded their
// whole life, submit to Get (so each phase has the same tasks), and the
// whole of it, submit to got, last.
func Breakdown(procs []*Process) []Phase {
	times := map[wire.TaskID]*[numKinds]int64{}
	for _, p := range procs {
		for _, e := range p.Events {
			if e.Kind.Object() {
				continue
			}
			t := times[e.Task]
			if t == nil {
				t = new([numKinds]int64)
				times[e.Task] = t
			}
			if t[e.Kind] == 0 { // a re-run keeps its first events
				t[e.Kind] = e.Time
			}
		}
	}
	// Push is stamped once the push and the worker's wake-up call have
	// returned; a spinning worker may pop the task before that, and then
	// the push counts as done when it popped.
	for _, t := range times {
		if t[Pop] != 0 && t[Push] > t[Pop] {
			t[Push] = t[Pop]
		}
	}
	out := make([]Phase, len(phases)+1)
	copy(out, phases)
	out[len(phases)] = Phase{Name: "submit to Get returning", From: Submit, To: Got}
	for _, t := range times {
		whole := true
		for _, ph := range phases {
			if t[ph.From] == 0 || t[ph.To] == 0 {
				whole = false
				break
			}
		}
		if !whole {
			continue
		}
		for i := range out {
			out[i].Nanos = append(out[i].Nanos, t[out[i].To]-t[out[i].From])
		}
	}
	for i := range out {
		slices.Sort(out[i].Nanos)
	}
	return out
}
