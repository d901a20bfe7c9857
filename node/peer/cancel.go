package peer

import (
	"time"

	"manta/rpc/wire"
)

// EarlyCancelKeep is how long EarlyCancels keeps a cancel for its run:
// as long as a run may wait at its caller for a call slot and still be
// sent (runTimeout, a Run's deadline when its context has none), since a
// run that waits long behind others on the run connection comes long
// after its cancel (which goes on the short connection). Most cancels
// kept are taken far sooner; those whose runs ended before they came are
// bounded by MaxEarlyCancels.
const EarlyCancelKeep = runTimeout

// MaxEarlyCancels bounds the cancels EarlyCancels keeps: past it, the
// oldest is forgotten.
const MaxEarlyCancels = 4096

// EarlyCancels are the cancels (MethodCancel) an Executor got before the
// runs of their tasks: a server serves each request at once on a
// goroutine of its own, so a cancel can overtake the run sent before
// it. The Executor adds a cancel that finds no run of its task, and
// takes it when the run comes. The zero value is empty; it is not safe
// for concurrent use.
type EarlyCancels struct {
	at    map[wire.TaskID]time.Time
	order []earlyCancel // as they came
}

type earlyCancel struct {
	task wire.TaskID
	at   time.Time
}

// Add records a cancel of task that came at now, and forgets the ones
// kept for longer than EarlyCancelKeep, and the oldest past
// MaxEarlyCancels.
func (e *EarlyCancels) Add(task wire.TaskID, now time.Time) {
	if e.at == nil {
		e.at = map[wire.TaskID]time.Time{}
	}
	i := 0
	for ; i < len(e.order) && now.Sub(e.order[i].at) > EarlyCancelKeep; i++ {
		e.forget(e.order[i])
	}
	e.order = append(e.order[i:], earlyCancel{task, now})
	e.at[task] = now
	for len(e.at) > MaxEarlyCancels {
		e.forget(e.order[0])
		e.order = e.order[1:]
	}
	if len(e.order) > 2*len(e.at)+16 {
		// Most entries were taken or added again since: drop them, so
		// that order stays within twice the cancels kept.
		live := e.order[:0]
		for _, c := range e.order {
			if e.at[c.task].Equal(c.at) {
				live = append(live, c)
			}
		}
		clear(e.order[len(live):])
		e.order = live
	}
}

// forget drops the cancel c if it is still kept (not taken, nor added
// again since).
func (e *EarlyCancels) forget(c earlyCancel) {
	if at, ok := e.at[c.task]; ok && at.Equal(c.at) {
		delete(e.at, c.task)
	}
}

// Take reports whether a cancel of task came before its run, and
// forgets it.
func (e *EarlyCancels) Take(task wire.TaskID) bool {
	if _, ok := e.at[task]; !ok {
		return false
	}
	delete(e.at, task)
	return true
}
