package shm

import (
	"encoding/binary"
	"testing"
	"time"
)

// benchRing returns producer and consumer handles on a ring in a real
// shared-memory segment.
func benchRing(b *testing.B, capacity int) (prod, cons *Ring) {
	b.Helper()
	seg, err := NewSegment("shm-bench", DoorbellSize+RingSize(capacity))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { seg.Close() })
	mem := seg.Bytes()
	if prod, err = NewRing(mem[DoorbellSize:], capacity, NewDoorbell(mem)); err != nil {
		b.Fatal(err)
	}
	if cons, err = AttachRing(mem[DoorbellSize:], capacity, NewDoorbell(mem)); err != nil {
		b.Fatal(err)
	}
	return prod, cons
}

func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// One producer and one consumer goroutine, 64-byte messages.
func BenchmarkRingPushPop(b *testing.B) {
	prod, cons := benchRing(b, 1<<16)
	msg := make([]byte, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	start := time.Now()
	// The segment is unmapped when the benchmark returns: wait for the
	// producer to be done with it first.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < b.N; i++ {
			if prod.Push(msg, 0) != nil {
				return
			}
		}
	}()
	defer func() { <-done }()
	defer prod.Close()
	dst := make([]byte, 0, 64)
	for i := 0; i < b.N; i++ {
		var err error
		if dst, err = cons.Pop(dst, 0); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, start)
}

// The cost of a message without a second core involved: push then pop in
// one goroutine.
func BenchmarkRingTryPushTryPop(b *testing.B) {
	prod, cons := benchRing(b, 1<<16)
	msg := make([]byte, 64)
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		prod.TryPush(msg)
		dst, _, _ = cons.TryPop(dst)
	}
}

// Round trip through two rings and an echo goroutine.
func BenchmarkRingPingPong(b *testing.B) {
	there, thereEnd := benchRing(b, 1<<16)
	back, backEnd := benchRing(b, 1<<16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf []byte
		for {
			var err error
			if buf, err = thereEnd.Pop(buf, 0); err != nil {
				return
			}
			if backEnd.Push(buf, 0) != nil {
				return
			}
		}
	}()
	// Stop the echo before the segments are unmapped.
	defer func() { <-done }()
	defer there.Close()
	msg := make([]byte, 64)
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		if err := there.Push(msg, 0); err != nil {
			b.Fatal(err)
		}
		var err error
		if dst, err = back.Pop(dst, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// Against a child process: "sink" measures one-way throughput of 64-byte
// messages, "pingpong" the round trip.
func BenchmarkRingCrossProcess(b *testing.B) {
	msg := make([]byte, 64)
	b.Run("sink", func(b *testing.B) {
		c := startChild(b, "sink")
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			if err := c.toChild.Push(msg, 0); err != nil {
				b.Fatal(err)
			}
		}
		c.toChild.Close()
		res, err := c.toParent.Pop(nil, 30*time.Second)
		reportRate(b, start)
		if err != nil || len(res) != 16 || binary.LittleEndian.Uint64(res) != uint64(b.N) {
			b.Fatalf("child's count: %x, %v; want %d messages", res, err, b.N)
		}
	})
	b.Run("pingpong", func(b *testing.B) {
		c := startChild(b, "bounce")
		defer c.toChild.Close()
		dst := make([]byte, 0, 64)
		b.ReportAllocs()
		for b.Loop() {
			if err := c.toChild.Push(msg, 0); err != nil {
				b.Fatal(err)
			}
			var err error
			if dst, err = c.toParent.Pop(dst, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Ring with nobody waiting: the cost a producer pays per publication.
func BenchmarkDoorbellRing(b *testing.B) {
	d := NewDoorbell(alignedMem(DoorbellSize))
	b.ReportAllocs()
	for b.Loop() {
		d.Ring()
	}
}
