package hist

import (
	"sync/atomic"
	"time"
)

// Bounds are the buckets' upper bounds: microseconds to seconds, so that
// a sub-microsecond phase and a lost second both land somewhere telling.
var Bounds = []time.Duration{
	time.Microsecond, 2 * time.Microsecond, 5 * time.Microsecond,
	10 * time.Microsecond, 20 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	500 * time.Millisecond, time.Second, 5 * time.Second,
}

// Histogram counts durations in Bounds' buckets; its zero value is empty
// and ready. It must not be copied once used.
type Histogram struct {
	counts [19]atomic.Uint64 // per bucket; the last is above every bound
	sum    atomic.Int64      // nanoseconds
}

// Observe counts d.
func (h *Histogram) Observe(d time.Duration) {
	i := 0
	for i < len(Bounds) && d > Bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// Snapshot is a histogram at one moment.
type Snapshot struct {
	// Bounds are the upper bounds; Counts[i] is how many durations were
	// at most Bounds[i] (cumulative, as Prometheus counts them).
	Bounds []time.Duration
	Counts []uint64
	Count  uint64 // all observations, those above every bound included
	Sum    time.Duration
}

// Snapshot reads the histogram; observations meanwhile may or may not be
// in it.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Bounds: Bounds, Counts: make([]uint64, len(Bounds)), Sum: time.Duration(h.sum.Load())}
	for i := range h.counts {
		s.Count += h.counts[i].Load()
		if i < len(Bounds) {
			s.Counts[i] = s.Count
		}
	}
	return s
}
