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

// PhaseSample is the share of recorded tasks whose phases the
// histograms count: one in PhaseSample, those whose IDs' low bits are
// zero (the tasks that recording one in PhaseSample or fewer keeps, so
// that the two samples agree). Task IDs are hashes, so the sample is
// independent of a task's timing and its quantiles are the whole's;
// its counts are a PhaseSample-th of the tasks'. Pairing every task's
// events cost the flusher a cache miss in its table per event, more
// than recording them.
const PhaseSample = 16

// trackedBits sizes the table in which a node's recorder pairs its
// sampled tasks' events: a task whose slot a later task takes (by the
// hash of their IDs) loses its phases after that, so tasks whose result
// no Get waits for cannot grow it. 4096 slots for one task in 16 hold
// as many tasks in flight as 65536 slots for all of them.
const trackedBits = 12

// localKinds maps the kinds LocalPhases pair to their place in a
// tracked task's times; the others are not tracked.
var localKinds = func() (m [numKinds]int8) {
	for k := range m {
		m[k] = -1
	}
	for i, k := range []Kind{Submit, Queued, Dispatch, Push, Done, Got} {
		m[k] = int8(i)
	}
	return m
}()

const numLocalKinds = 6

// tracked is one task's times, by localKinds (zero: not seen).
type tracked struct {
	task  wire.TaskID
	times [numLocalKinds]int64
}

// phaseTracker pairs the events of this process's tasks into phase
// durations, as the flusher writes them, in whatever order they come
// (each P's events are written apart): a phase counts when its second
// end arrives. It allocates nothing per task.
type phaseTracker struct {
	hists [numLocalPhases]hist.Local // under the recorder's mu, as the tracker is
	table []tracked                  // by the hash of the task's ID
}

func newPhaseTracker() *phaseTracker {
	return &phaseTracker{table: make([]tracked, 1<<trackedBits)}
}

// add pairs e, stamped, with its task's other events, if the task is in
// the sample (PhaseSample), a stamp being perStamp nanoseconds.
func (p *phaseTracker) add(e *Event, perStamp float64) {
	at := localKinds[e.Kind]
	if at < 0 || e.Task.Lo&(PhaseSample-1) != 0 {
		return
	}
	// Task IDs are hashes (wire.TaskID.Child): their top bits will do.
	t := &p.table[e.Task.Lo>>(64-trackedBits)]
	if t.task != e.Task {
		*t = tracked{task: e.Task}
	}
	t.times[at] = e.Time
	for i, ph := range LocalPhases {
		from, to := t.times[localKinds[ph.From]], t.times[localKinds[ph.To]]
		if (ph.From == e.Kind || ph.To == e.Kind) && from != 0 && to != 0 {
			p.hists[i].Observe(time.Duration(float64(to-from) * perStamp))
		}
	}
}

// PhaseHistograms returns the durations of LocalPhases, in order, over
// a sample of the tasks this process recorded (one in PhaseSample; a
// node process: see LocalPhases), up to its last flush; nil when it
// does not record or is a worker.
func PhaseHistograms() []hist.Snapshot {
	r := rec.Load()
	if r == nil || r.phases == nil {
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
