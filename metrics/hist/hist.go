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
	counts [numBuckets]atomic.Uint64 // per bucket; the last is above every bound
	sum    atomic.Int64              // nanoseconds
}

// numBuckets is len(Bounds)+1: the last bucket is above every bound.
const numBuckets = 19

// bucket returns the index of d's bucket.
func bucket(d time.Duration) int {
	i := 0
	for i < len(Bounds) && d > Bounds[i] {
		i++
	}
	return i
}

// Observe counts d.
func (h *Histogram) Observe(d time.Duration) {
	h.counts[bucket(d)].Add(1)
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
	var counts [numBuckets]uint64
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
	}
	return snapshot(&counts, h.sum.Load())
}

func snapshot(counts *[numBuckets]uint64, sum int64) Snapshot {
	s := Snapshot{Bounds: Bounds, Counts: make([]uint64, len(Bounds)), Sum: time.Duration(sum)}
	for i, n := range counts {
		s.Count += n
		if i < len(Bounds) {
			s.Counts[i] = s.Count
		}
	}
	return s
}

// Local is a Histogram for one goroutine at a time (or its owner's lock
// held, for writer and readers alike): the same buckets, counted without
// atomic instructions, for a writer that observes millions a second.
// Its zero value is empty and ready.
type Local struct {
	counts [numBuckets]uint64
	sum    int64
}

// Observe counts d.
func (h *Local) Observe(d time.Duration) {
	h.counts[bucket(d)]++
	h.sum += int64(d)
}

// Snapshot reads the histogram.
func (h *Local) Snapshot() Snapshot { return snapshot(&h.counts, h.sum) }
