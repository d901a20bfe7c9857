package probe

// Tally holds the histograms of a stretch of time: one per stage of the
// chain, the round trip, and the scheduler's waits of the target's
// threads by process (driver or worker) and kind.
type Tally struct {
	stages    []Stage
	segments  []Histogram // segments[i] ends at the entry into stage i
	roundTrip Histogram
	sched     [2][numWaits]Histogram // [worker][waitOf]
}

// NewTally makes an empty tally for a chain of stages.
func NewTally(stages []Stage) *Tally {
	return &Tally{stages: stages, segments: make([]Histogram, len(stages))}
}

// AddRoundTrip records one round trip's stage latencies in nanoseconds,
// as Chain.Add returns them; the round trip is their sum.
func (t *Tally) AddRoundTrip(segs []uint64) {
	var total uint64
	for i, ns := range segs {
		t.segments[i].Record(ns)
		total += ns
	}
	t.roundTrip.Record(total)
}

// The scheduler's waits a Tally keeps apart.
const (
	waitRunQueue = iota // woken, until switched in
	waitBlocked         // off CPU after blocking, until switched in
	waitRunnable        // off CPU still runnable: preempted or yielding
	numWaits
)

func waitOf(e Event) int {
	switch {
	case e.Kind == KindRunQueue:
		return waitRunQueue
	case e.Blocked():
		return waitBlocked
	}
	return waitRunnable
}

// AddSched records a scheduler event (KindRunQueue or KindOffCPU) of a
// thread of the driver or, when worker is set, of a worker; it ignores
// other kinds.
func (t *Tally) AddSched(e Event, worker bool) {
	if e.Kind != KindRunQueue && e.Kind != KindOffCPU {
		return
	}
	w := 0
	if worker {
		w = 1
	}
	t.sched[w][waitOf(e)].Record(e.Wait)
}

// Merge adds o, a tally of the same stages, to t.
func (t *Tally) Merge(o *Tally) {
	for i := range t.segments {
		t.segments[i].Merge(&o.segments[i])
	}
	t.roundTrip.Merge(&o.roundTrip)
	for w := range t.sched {
		for k := range t.sched[w] {
			t.sched[w][k].Merge(&o.sched[w][k])
		}
	}
}
