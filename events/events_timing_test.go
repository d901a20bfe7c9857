package events

import (
	"os"
	"sync"
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

// benchRecording opens a recorder with recording on until the benchmark
// ends. It never flushes: the benchmark empties the rings itself (drain),
// so that the appends alone are measured (the flusher's share is
// BenchmarkFlush's) and none is dropped, which the benchmark checks.
func benchRecording(b *testing.B) *Recorder {
	b.Helper()
	r, err := open(b.TempDir(), RoleNode, "bench", ringSlots, time.Hour)
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

// drainEvery is how many events a benchmark appends between drains: a
// small share of a ring, so that no ring fills in between.
const drainEvery = 1 << 12

// drain empties every ring as the flusher does, writing nothing. One
// goroutine at a time may call it (as the flusher is one).
func (r *Recorder) drain() {
	for _, s := range *r.shards.Load() {
		if s != nil {
			s.tail.Store(atomic.LoadUint64(&s.head))
		}
	}
}

func checkNoneDropped(b *testing.B, r *Recorder) {
	b.StopTimer()
	if d := r.dropped.Load(); d > 0 {
		b.Fatalf("%d events dropped: the benchmark measured drops, not appends", d)
	}
}

// BenchmarkRecordOn is the cost of one recorded event to the goroutine
// that records it: the check, the clock and the append.
func BenchmarkRecordOn(b *testing.B) {
	r := benchRecording(b)
	task := wire.TaskID{Lo: 1}
	for i := 0; b.Loop(); i++ {
		Record(Start, task, 0)
		if i%drainEvery == 0 {
			r.drain()
		}
	}
	checkNoneDropped(b, r)
}

// BenchmarkRecordOnParallel is the cost of one recorded event with every
// P recording at once, as a node's driver and inbound loop do.
func BenchmarkRecordOnParallel(b *testing.B) {
	r := benchRecording(b)
	var mu sync.Mutex // drains one at a time, as the one flusher does
	b.RunParallel(func(pb *testing.PB) {
		task := wire.TaskID{Lo: 1}
		for i := 0; pb.Next(); i++ {
			Record(Start, task, 0)
			if i%drainEvery == 0 {
				mu.Lock()
				r.drain()
				mu.Unlock()
			}
		}
	})
	checkNoneDropped(b, r)
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
