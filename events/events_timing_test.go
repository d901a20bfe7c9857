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

// BenchmarkRecordOn is the cost of one recorded event.
func BenchmarkRecordOn(b *testing.B) {
	dir := b.TempDir()
	r, err := open(dir, RoleNode, "bench", ringSlots, time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	Enable(true)
	defer Enable(false)
	b.ReportAllocs()
	task := wire.TaskID{Lo: 1}
	for b.Loop() {
		Record(Start, task, 0)
	}
	b.StopTimer()
	if d := r.dropped.Load(); d > 0 {
		b.Logf("%d dropped", d)
	}
}
