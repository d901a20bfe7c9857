package probe

import "time"

// Chain turns the stage events of a serial path, one round trip at a
// time, into the latency of each stage. Its rule: the driver's entry into
// stage 0 opens a round trip; each later stage is taken when it is the next
// one expected and comes from the right process (the driver, or for worker
// stages the one worker of this round trip); the next entry into stage 0
// closes it if every stage was seen. Events out of that order are skipped:
// they belong to other work (another message to a worker, a second wakeup)
// or a round trip some event of which was lost. This holds only while the
// driver runs one round trip at a time, as a synchronous loop does.
type Chain struct {
	stages       []Stage
	driver       uint32
	maxRoundTrip uint64

	open   bool
	next   int      // the stage expected next
	worker uint32   // the open round trip's worker process, once seen
	times  []uint64 // the open round trip's event times, by stage
	segs   []uint64

	// Trips counts the round trips closed and returned.
	Trips uint64
	// Broken counts round trips dropped because a stage was missing when
	// the next one opened (lost events, or the path took another turn:
	// no wakeup when the result came before the driver waited for it).
	Broken uint64
	// BrokenAt counts the broken round trips by the first stage missing.
	BrokenAt []uint64
	// Gaps counts round trips dropped for lasting longer than the limit:
	// the driver's loop paused (a benchmark measuring its baseline, say).
	Gaps uint64
	// Skipped counts stage events that fit no open round trip.
	Skipped uint64
}

// NewChain follows stages in the driver process driver (its PID) and the
// workers; a round trip longer than maxRoundTrip counts as a gap.
func NewChain(stages []Stage, driver uint32, maxRoundTrip time.Duration) *Chain {
	return &Chain{stages: stages, driver: driver, maxRoundTrip: uint64(maxRoundTrip),
		times: make([]uint64, len(stages)), segs: make([]uint64, len(stages)), BrokenAt: make([]uint64, len(stages))}
}

// Add takes the next stage event in ring-buffer order, which is the order
// the events happened in since each stage follows from the one before.
// When e closes a round trip it returns the round trip's latencies and
// true: segs[i] is the time from the entry into stage i-1 to the entry into
// stage i, segs[0] from the last stage to this submission, so they add up
// to the round trip. segs is overwritten by the next call.
func (c *Chain) Add(e Event) (segs []uint64, ok bool) {
	s := int(e.Aux)
	if e.Kind != KindStage || s >= len(c.stages) || c.stages[s].Worker == (e.TGID == c.driver) {
		c.Skipped++
		return nil, false
	}
	if s == 0 {
		ok = c.close(e.Time)
		c.open, c.next, c.worker = true, 1, 0
		c.times[0] = e.Time
		if ok {
			return c.segs, true
		}
		return nil, false
	}
	if !c.open || s != c.next || e.Time < c.times[s-1] {
		c.Skipped++
		return nil, false
	}
	if c.stages[s].Worker {
		if c.worker == 0 {
			c.worker = e.TGID
		} else if e.TGID != c.worker {
			c.Skipped++
			return nil, false
		}
	}
	c.times[s] = e.Time
	c.next++
	return nil, false
}

// close ends the open round trip at now, the next submission, filling
// c.segs if it is complete.
func (c *Chain) close(now uint64) bool {
	n := len(c.stages)
	switch {
	case !c.open:
		return false
	case c.next < n:
		c.Broken++
		c.BrokenAt[c.next]++
		return false
	case now < c.times[n-1]: // out of order: a clock the events do not share
		c.Broken++
		c.BrokenAt[0]++
		return false
	case now-c.times[0] > c.maxRoundTrip:
		c.Gaps++
		return false
	}
	c.segs[0] = now - c.times[n-1]
	for i := 1; i < n; i++ {
		c.segs[i] = c.times[i] - c.times[i-1]
	}
	c.Trips++
	return true
}
