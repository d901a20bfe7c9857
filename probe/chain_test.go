package probe

import (
	"slices"
	"testing"
	"time"
)

const (
	testDriver = 100
	testWorker = 200
)

// trip returns the stage events of one round trip of SyncRoundTrip that
// starts at start, with stage i entered gaps[i] ns after stage i-1.
func trip(start uint64, gaps []uint64) []Event {
	var out []Event
	at := start
	for i, st := range SyncRoundTrip {
		if i > 0 {
			at += gaps[i]
		}
		pid := uint32(testDriver)
		if st.Worker {
			pid = testWorker
		}
		out = append(out, Event{Time: at, TGID: pid, TID: pid + 1, Kind: KindStage, Aux: uint32(i)})
	}
	return out
}

// feed adds events to c and returns the round trips it closed.
func feed(c *Chain, events []Event) [][]uint64 {
	var trips [][]uint64
	for _, e := range events {
		if segs, ok := c.Add(e); ok {
			trips = append(trips, slices.Clone(segs))
		}
	}
	return trips
}

func TestChainAttributesEachStage(t *testing.T) {
	gaps := []uint64{0, 100, 200, 300, 400, 500, 600, 700, 800}
	c := NewChain(SyncRoundTrip, testDriver, time.Second)
	var events []Event
	start := uint64(1000)
	for range 3 {
		events = append(events, trip(start, gaps)...)
		start += 10000 // the driver's next submission
	}
	trips := feed(c, events)
	if len(trips) != 2 { // the third is still open
		t.Fatalf("closed %d round trips, want 2", len(trips))
	}
	want := slices.Clone(gaps)
	want[0] = 10000 - (100 + 200 + 300 + 400 + 500 + 600 + 700 + 800)
	for _, segs := range trips {
		if !slices.Equal(segs, want) {
			t.Errorf("segments %v, want %v", segs, want)
		}
	}
	if c.Trips != 2 || c.Broken != 0 || c.Gaps != 0 || c.Skipped != 0 {
		t.Errorf("counters %d %d %d %d", c.Trips, c.Broken, c.Gaps, c.Skipped)
	}
}

func TestChainSkipsStrayEvents(t *testing.T) {
	gaps := []uint64{0, 10, 10, 10, 10, 10, 10, 10, 10}
	one := trip(1000, gaps)
	var events []Event
	for i, e := range one {
		events = append(events, e)
		switch SyncRoundTrip[i].Name {
		case "Node.Worker": // a second message from a worker, then a stage out of turn
			events = append(events, Event{Time: e.Time + 1, TGID: testDriver, Kind: KindStage, Aux: uint32(i)},
				Event{Time: e.Time + 1, TGID: testDriver, Kind: KindStage, Aux: 2})
		case "proc.send": // another worker starting a task, and a worker stage claimed by the driver
			events = append(events, Event{Time: e.Time + 1, TGID: testWorker + 1, Kind: KindStage, Aux: 5},
				Event{Time: e.Time + 1, TGID: testDriver, Kind: KindStage, Aux: 4})
		case "worker invoke": // the same stage again, from another worker
			events = append(events, Event{Time: e.Time + 1, TGID: testWorker + 1, Kind: KindStage, Aux: 5})
		}
	}
	events = append(events, Event{Time: 1000 + 8*10 + 50, TGID: testDriver, Kind: KindStage, Aux: 0},
		Event{Time: 1, TGID: testDriver, Kind: KindRunQueue},       // not a stage
		Event{Time: 1, TGID: testDriver, Kind: KindStage, Aux: 40}) // beyond the chain
	c := NewChain(SyncRoundTrip, testDriver, time.Second)
	trips := feed(c, events)
	if len(trips) != 1 || !slices.Equal(trips[0], []uint64{50, 10, 10, 10, 10, 10, 10, 10, 10}) {
		t.Fatalf("round trips %v, want one of [50 10 10 ...]", trips)
	}
	if c.Skipped != 7 {
		t.Errorf("skipped %d events, want 7", c.Skipped)
	}
}

func TestChainDropsIncompleteAndLongRoundTrips(t *testing.T) {
	gaps := []uint64{0, 10, 10, 10, 10, 10, 10, 10, 10}
	noWake := trip(1000, gaps)
	noWake = append(noWake[:7], noWake[8:]...) // the result came before the driver waited
	long := trip(2000, gaps)
	events := append(append(noWake, long...), trip(2000+uint64(time.Second)+1, gaps)...)
	events = append(events, trip(3000+uint64(time.Second)+1, gaps)...)
	c := NewChain(SyncRoundTrip, testDriver, time.Second)
	trips := feed(c, events)
	if len(trips) != 1 || c.Trips != 1 {
		t.Fatalf("closed %d round trips (Trips %d), want 1", len(trips), c.Trips)
	}
	if c.Broken != 1 || c.BrokenAt[7] != 1 || c.Gaps != 1 {
		t.Errorf("broken %d (at %v), gaps %d; want 1 at effects.Wake, 1 gap", c.Broken, c.BrokenAt, c.Gaps)
	}
}
