package peer

import (
	"time"

	"manta/rpc/wire"
)

// EarlyCancelKeep is how long EarlyCancels keeps a cancel for its run. A
// peer sends the run first, on the same connection, so the run comes
// about at once; a cancel kept longer was for a run that ended before
// it came.
const EarlyCancelKeep = time.Minute

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
// kept for longer than EarlyCancelKeep.
func (e *EarlyCancels) Add(task wire.TaskID, now time.Time) {
	if e.at == nil {
		e.at = map[wire.TaskID]time.Time{}
	}
	i := 0
	for ; i < len(e.order) && now.Sub(e.order[i].at) > EarlyCancelKeep; i++ {
		if old := e.order[i]; e.at[old.task].Equal(old.at) {
			delete(e.at, old.task)
		}
	}
	e.order = append(e.order[i:], earlyCancel{task, now})
	e.at[task] = now
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
