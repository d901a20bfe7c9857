package events

import (
	"testing"
	"time"

	"manta/rpc/wire"
)

// BenchmarkRecordOff is the cost of a recording point while recording is
// off: what every task pays when no one records.
func BenchmarkRecordOff(b *testing.B) {
	b.ReportAllocs()
	task := wire.TaskID{Lo: 1}
	for b.Loop() {
		Record(Start, task, 0)
	}
}

// benchRecording opens a recorder flushing every millisecond, with
// recording on, until the benchmark ends.
func benchRecording(b *testing.B) *Recorder {
	b.Helper()
	r, err := open(b.TempDir(), RoleNode, "bench", ringSlots, time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	Enable(true)
	b.Cleanup(func() {
		Enable(false)
		r.Close()
	})
	b.ReportAllocs()
	return r
}

// BenchmarkRecordOn is the cost of one recorded event.
func BenchmarkRecordOn(b *testing.B) {
	r := benchRecording(b)
	task := wire.TaskID{Lo: 1}
	for b.Loop() {
		Record(Start, task, 0)
	}
	b.StopTimer()
	if d := r.dropped.Load(); d > 0 { // the flusher fell behind
		b.Logf("%d dropped", d)
	}
}

// BenchmarkRecordOnParallel is the cost of one recorded event with every
// P recording at once, as a node's driver and inbound loop do.
func BenchmarkRecordOnParallel(b *testing.B) {
	benchRecording(b)
	b.RunParallel(func(pb *testing.PB) {
		task := wire.TaskID{Lo: 1}
		for pb.Next() {
			Record(Start, task, 0)
		}
	})
}

// BenchmarkFlush is the flusher's cost per event in a node process: its
// encoding and the pairing of phases, without the file's write.
func BenchmarkFlush(b *testing.B) {
	r, err := open(b.TempDir(), RoleNode, "bench", ringSlots, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	kinds := []Kind{Submit, Queued, Dispatch, Push, Done, Got}
	evs := make([]Event, 1<<12)
	for i := range evs {
		evs[i] = Event{Time: int64(i + 1), Kind: kinds[i%len(kinds)], Task: wire.TaskID{Lo: 1}.Child(uint64(i/len(kinds)) + 1)}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := &evs[i%len(evs)]
		r.buf = appendEvent(r.buf[:0], e)
		r.phases.add(e)
		i++
	}
}
