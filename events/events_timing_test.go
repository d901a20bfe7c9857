package events

import (
	"os"
	"sync/atomic"
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

// BenchmarkFlush is the flusher's cost per event in a node process:
// pairing the sampled tasks' phases and writing a ring's events, 4096
// at a time, to the file (/dev/null here, so that the benchmark does
// not fill the disk: the kernel's copy into the page cache is not in it).
func BenchmarkFlush(b *testing.B) {
	r, err := open(b.TempDir(), RoleNode, "bench", ringSlots, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	r.mu.Lock()
	r.f.Close()
	r.f = null
	r.mu.Unlock()
	r.add(Event{Kind: Submit}, 1) // makes the running P's ring
	var s *shard
	for _, s = range *r.shards.Load() {
		if s != nil {
			break
		}
	}
	kinds := []Kind{Submit, Queued, Dispatch, Push, Done, Got}
	for i := range s.ring {
		s.ring[i] = Event{Time: int64(i + 1), Kind: kinds[i%len(kinds)], Task: wire.TaskID{Lo: 1}.Child(uint64(i/len(kinds)) + 1)}
	}
	const batch = 1 << 12
	b.ReportAllocs()
	for b.Loop() {
		atomic.StoreUint64(&s.head, s.tail.Load()+batch)
		if err := r.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
}
