package shm

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// DoorbellSize is the number of bytes of shared memory a Doorbell uses.
// It is a whole cache line so that ringing one bell does not disturb
// data next to it.
const DoorbellSize = 64

// Spin budget bounds. A wake-up through the futex costs about 3-4 µs here
// (see PLATFORM.md), so spinning longer than that rarely pays off.
const (
	defaultMaxSpin = 4 * time.Microsecond
	minSpin        = 250 * time.Nanosecond
)

// Doorbell is an eventcount in shared memory. A consumer that found
// nothing to do parks on it with Wait; producers Ring it after publishing.
//
// Shared layout (DoorbellSize bytes): uint32 seq at offset 0 (the futex
// word), uint32 waiters at offset 4, the rest padding.
//
// A Doorbell value is local to one process; both processes call NewDoorbell
// on the same bytes. One Doorbell may be used by any number of goroutines.
type Doorbell struct {
	seq     *atomic.Uint32
	waiters *atomic.Uint32
	maxSpin atomic.Int64 // ns; local tuning, see SetSpin
	spin    atomic.Int64 // ns; current adaptive budget, within [minSpin, maxSpin]
}

// NewDoorbell returns a Doorbell over mem, which must be at least
// DoorbellSize bytes, 8-byte aligned, and inside shared memory (a Segment)
// when processes share it. The creator passes zeroed memory; the other
// process calls NewDoorbell on the same bytes. It panics on a short or
// misaligned mem: that is a layout bug in the caller.
func NewDoorbell(mem []byte) *Doorbell {
	if len(mem) < DoorbellSize {
		panic(fmt.Sprintf("shm: NewDoorbell: need %d bytes, got %d", DoorbellSize, len(mem)))
	}
	if uintptr(unsafe.Pointer(&mem[0]))%8 != 0 {
		panic("shm: NewDoorbell: memory is not 8-byte aligned")
	}
	d := &Doorbell{
		seq:     (*atomic.Uint32)(unsafe.Pointer(&mem[0])),
		waiters: (*atomic.Uint32)(unsafe.Pointer(&mem[4])),
	}
	d.maxSpin.Store(int64(defaultMaxSpin))
	d.spin.Store(int64(defaultMaxSpin))
	return d
}

// SetSpin sets the longest time Wait spins before sleeping in the kernel
// (default 4 µs); 0 makes Wait sleep at once, which suits machines with
// more busy threads than cores. It affects only this process's Doorbell.
func (d *Doorbell) SetSpin(limit time.Duration) {
	limit = min(max(limit, 0), time.Second)
	d.maxSpin.Store(int64(limit))
	d.spin.Store(int64(limit))
}

// Ring wakes the waiters, if any. Call it after publishing: when nobody
// sleeps it costs one atomic load.
func (d *Doorbell) Ring() {
	if d.waiters.Load() == 0 {
		return
	}
	d.seq.Add(1)
	futexWakeAll(d.seq)
}

// Wait returns true as soon as ready() reports true, and false if timeout
// passes first (timeout <= 0: no limit). It spins for a short adaptive
// time, then registers as a waiter and sleeps on the futex.
//
// No wake-up is lost: the waiter increments waiters, reads seq, re-checks
// ready() and sleeps only while seq is unchanged; the producer publishes,
// then reads waiters and bumps seq if it is non-zero. Go atomics are
// sequentially consistent, so either the re-check sees the publication or
// Ring sees the waiter and changes seq before or during the sleep.
//
// ready is called from the waiting goroutine only; it must be cheap and
// must not block.
func (d *Doorbell) Wait(ready func() bool, timeout time.Duration) bool {
	if ready() {
		return true
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	if d.spinFor(ready, deadline) {
		return true
	}
	for {
		var left time.Duration
		if timeout > 0 {
			if left = time.Until(deadline); left <= 0 {
				return ready()
			}
		}
		d.waiters.Add(1)
		seq := d.seq.Load()
		if ready() {
			d.waiters.Add(^uint32(0))
			return true
		}
		futexSleep(d.seq, seq, left)
		d.waiters.Add(^uint32(0))
		if ready() {
			return true
		}
	}
}

// spinFor polls ready for up to the current spin budget. The budget
// doubles when spinning succeeds and halves when it does not, so a quiet
// peer costs little CPU (a good citizen on 2 cores) while a busy one is
// caught without a futex round trip.
func (d *Doorbell) spinFor(ready func() bool, deadline time.Time) bool {
	budget := time.Duration(d.spin.Load())
	if budget <= 0 {
		return false
	}
	start := time.Now()
	for i := 1; ; i++ {
		if ready() {
			d.spin.Store(int64(min(2*budget, time.Duration(d.maxSpin.Load()))))
			return true
		}
		// Reading the clock costs more than ready(); look only now and then.
		if i%32 != 0 {
			continue
		}
		now := time.Now()
		if now.Sub(start) >= budget || (!deadline.IsZero() && now.After(deadline)) {
			break
		}
		// Let a peer goroutine on this P (same-process use) make progress.
		runtime.Gosched()
	}
	if maxSpin := time.Duration(d.maxSpin.Load()); maxSpin > 0 {
		d.spin.Store(int64(max(budget/2, min(minSpin, maxSpin))))
	}
	return false
}
