package events

import (
	"time"

	"manta/metrics/hist"
	"manta/rpc/wire"
)

// LocalPhase names a phase of a task's life that a node process sees
// whole: both its ends are recorded there.
type LocalPhase struct {
	Name     string
	From, To Kind
}

// LocalPhases are the phases PhaseHistograms counts, in a task's order.
var LocalPhases = [numLocalPhases]LocalPhase{
	{"submit_to_queued", Submit, Queued},
	{"scheduler_queue", Queued, Dispatch},
	{"ring_push", Dispatch, Push},
	{"at_worker", Push, Done}, // wake-up, run and reply
	{"driver_wakeup", Done, Got},
}

const numLocalPhases = 5

// maxTracked bounds the tasks whose times a recorder keeps to pair
// their events: past it the oldest are forgotten (their later phases go
// uncounted), so tasks whose result no Get waits for cannot grow it.
const maxTracked = 1 << 16

// phaseTracker pairs the events of this process's tasks into phase
// durations, as the flusher writes them.
type phaseTracker struct {
	hists [numLocalPhases]hist.Histogram
	times map[wire.TaskID]*[numKinds]int64
	order []wire.TaskID // FIFO of tracked tasks, for the bound
	next  int
}

func (p *phaseTracker) add(e Event) {
	if e.Kind.Object() {
		return
	}
	if p.times == nil {
		p.times = map[wire.TaskID]*[numKinds]int64{}
		p.order = make([]wire.TaskID, maxTracked)
	}
	t := p.times[e.Task]
	if t == nil {
		if e.Kind != Submit {
			return
		}
		if old := p.order[p.next]; !old.IsZero() {
			delete(p.times, old)
		}
		p.order[p.next] = e.Task
		p.next = (p.next + 1) % maxTracked
		t = new([numKinds]int64)
		p.times[e.Task] = t
	}
	t[e.Kind] = e.Time
	for i, ph := range LocalPhases {
		if ph.To == e.Kind && t[ph.From] != 0 {
			p.hists[i].Observe(time.Duration(e.Time - t[ph.From]))
		}
	}
}

// PhaseHistograms returns the durations of LocalPhases, in order, over
// the tasks this process recorded (a node process: see LocalPhases),
// up to its last flush; nil when it does not record.
func PhaseHistograms() []hist.Snapshot {
	r := rec.Load()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]hist.Snapshot, len(LocalPhases))
	for i := range out {
		out[i] = r.phases.hists[i].Snapshot()
	}
	return out
}
