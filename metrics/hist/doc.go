// Package hist is a latency histogram with microsecond buckets that any
// goroutine may observe into without a lock, for the code that measures
// (the events recorder, the GCS client's wrapper) and the code that
// exports it (package metrics), which imports no more than this. Local
// is the same histogram for a single writer, without atomics.
//
//	var h hist.Histogram
//	h.Observe(d)
//	s := h.Snapshot() // s.Counts[i] counts the durations <= s.Bounds[i]
package hist
