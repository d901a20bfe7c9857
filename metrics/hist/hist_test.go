package hist

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Histogram and Local count alike.
func TestObserveAndSnapshot(t *testing.T) {
	var h Histogram
	var l Local
	for _, d := range []time.Duration{500 * time.Nanosecond, time.Microsecond, 3 * time.Microsecond, 2 * time.Millisecond, time.Minute} {
		h.Observe(d)
		l.Observe(d)
	}
	for _, s := range []Snapshot{h.Snapshot(), l.Snapshot()} {
		checkSnapshot(t, s)
	}
}

func checkSnapshot(t *testing.T, s Snapshot) {
	t.Helper()
	want := map[time.Duration]uint64{time.Microsecond: 2, 2 * time.Microsecond: 2, 5 * time.Microsecond: 3, 2 * time.Millisecond: 4, 5 * time.Second: 4}
	for i, b := range s.Bounds {
		if n, ok := want[b]; ok && s.Counts[i] != n {
			t.Errorf("<= %v: %d, want %d", b, s.Counts[i], n)
		}
	}
	if s.Count != 5 || s.Sum != 500*time.Nanosecond+time.Microsecond+3*time.Microsecond+2*time.Millisecond+time.Minute {
		t.Errorf("count %d sum %v", s.Count, s.Sum)
	}
}

func TestConcurrent(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				h.Observe(7 * time.Microsecond)
			}
		})
	}
	wg.Wait()
	if s := h.Snapshot(); s.Count != 4000 || s.Counts[len(s.Counts)-1] != 4000 || s.Counts[2] != 0 || s.Counts[3] != 4000 {
		t.Fatalf("%+v", s)
	}
}

func ExampleHistogram() {
	var h Histogram
	h.Observe(3 * time.Microsecond)
	h.Observe(40 * time.Millisecond)
	s := h.Snapshot()
	fmt.Println(s.Count, s.Counts[2], s.Sum)
	// Output: 2 1 40.003ms
}
