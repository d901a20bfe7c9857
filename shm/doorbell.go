package shm

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DoorbellSize is the number of bytes of shared memory a Doorbell uses.
// It is a whole cache line so that ringing one bell does not disturb
// data next to it.
const DoorbellSize = 64

// Spinning. A futex hand-off costs about 4 µs a hop here (PLATFORM.md),
// often over 10 µs on a busy or idle-halted vCPU, while a spinning peer
// answers in well under 1 µs. So a waiter spins up to maxSpin while at
// least a quarter of its recent full spins succeeded, and mostly only
// shortSpin otherwise (an idle peer), and stops spinning at once when it
// finds it lost its CPU meanwhile (more runnable threads than CPUs): a
// good citizen on 2 cores. See spinBudget and spin.
const (
	defaultMaxSpin = 10 * time.Microsecond
	shortSpin      = 500 * time.Nanosecond
	preemptGap     = 20 * time.Microsecond // see spin
	hitOne         = 1024                  // fixed-point 1.0 for Doorbell.hits
)

// spinKind says which budget a spin had, which decides what its outcome
// teaches (see Wait).
type spinKind int

const (
	spinFull spinKind = iota
	spinShort
	spinProbe
)

// Doorbell is an eventcount in shared memory. A consumer that found
// nothing to do parks on it with Wait; producers Ring it after publishing.
//
// Shared layout (DoorbellSize bytes): uint32 seq at offset 0 (the futex
// word), uint32 sleeping flag at offset 4, the rest padding.
//
// A Doorbell value is local to one process; both processes call NewDoorbell
// on the same bytes. One Doorbell may be used by any number of goroutines.
type Doorbell struct {
	seq     *atomic.Uint32
	sleep   *atomic.Uint32 // 1: someone may sleep on seq and no Ring has bumped it since
	maxSpin atomic.Int64   // ns; local tuning, see SetSpin
	hits    atomic.Int64   // moving average (x hitOne) of full spins that succeeded
	probes  atomic.Int64   // counts short-spin waits, to make every 16th a full spin
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
		seq:   (*atomic.Uint32)(unsafe.Pointer(&mem[0])),
		sleep: (*atomic.Uint32)(unsafe.Pointer(&mem[4])),
	}
	d.maxSpin.Store(int64(defaultMaxSpin))
	d.hits.Store(hitOne)
	return d
}

// SetSpin sets how long Wait spins before sleeping in the kernel while
// spinning pays (default 10 µs; an occasional probe spins four times as
// long). 0 makes Wait sleep at once, which suits machines
// with more busy threads than cores. It affects only this process's
// Doorbell value.
func (d *Doorbell) SetSpin(limit time.Duration) {
	d.maxSpin.Store(int64(min(max(limit, 0), time.Second)))
}

// Ring wakes the waiters, if any. Call it after publishing: when nobody
// sleeps it costs one atomic load. Only the first Ring after a waiter went
// to sleep makes the futex system call: it clears the sleeping flag, so a
// producer publishing a burst while the waiter wakes up pays once.
func (d *Doorbell) Ring() {
	if d.sleep.Load() == 0 || d.sleep.Swap(0) == 0 {
		return
	}
	d.seq.Add(1)
	futexWakeAll(d.seq)
}

// Wait returns true as soon as ready() reports true, and false if timeout
// passes first (timeout <= 0: no limit). It spins first, for up to the
// SetSpin time while recent spins paid off and much shorter while they did
// not, but no further once it finds it lost its CPU meanwhile; then it
// registers as a waiter and sleeps on the futex. A sleeping Wait holds an
// OS thread.
//
// No wake-up is lost: the waiter reads seq, sets the sleeping flag,
// re-checks ready() and sleeps only while seq is unchanged; the producer
// publishes, then takes the flag and, if it was set, bumps seq and wakes.
// Go atomics are sequentially consistent, so if the re-check misses the
// publication, the producer's read of the flag comes after the waiter set
// it: the producer, or another that took the flag after it was set, bumps
// seq after the waiter read it, before or during the sleep.
//
// ready is called from the waiting goroutine only; it must be cheap and
// must not block.
func (d *Doorbell) Wait(ready func() bool, timeout time.Duration) bool {
	if ready() {
		return true
	}
	budget, kind := d.spinBudget()
	ok, start, preempted := d.spin(ready, budget, timeout)
	switch {
	case preempted:
		// Says nothing about the peer, only that this CPU is contended.
	case ok && kind == spinProbe:
		// The peer is awake again; let the next full spin decide.
		d.hits.Store(hitOne / 4)
	case ok:
		d.observe(true)
	case kind != spinShort:
		// A failed short spin says nothing: the peer may have needed
		// this CPU.
		d.observe(false)
	}
	if ok {
		return true
	}
	deadline := start.Add(timeout)
	for {
		var left time.Duration
		if timeout > 0 {
			if left = time.Until(deadline); left <= 0 {
				return ready()
			}
		}
		// seq first: a Ring that takes the flag after it is set must
		// bump seq past the value this sleep compares with.
		seq := d.seq.Load()
		d.sleep.Store(1)
		// Leave the flag set when returning: another goroutine may be
		// sleeping on it; the next Ring clears it with one wasted wake.
		if ready() {
			return true
		}
		futexSleep(d.seq, seq, left)
		if ready() {
			return true
		}
	}
}

// spinBudget returns how long to spin and what kind of spin that is.
// While at least a quarter of recent full spins succeeded, it spins
// maxSpin. Otherwise it spins shortSpin, except that every 16th wait
// probes with 4*maxSpin: a peer that sleeps too takes a futex wake-up
// (often over 10 µs here) to answer, so only a spin longer than that lets
// the two find each other awake again.
func (d *Doorbell) spinBudget() (time.Duration, spinKind) {
	limit := time.Duration(d.maxSpin.Load())
	switch {
	case limit <= shortSpin || d.hits.Load() >= hitOne/4:
		return limit, spinFull
	case d.probes.Add(1)%16 == 0:
		return 4 * limit, spinProbe
	}
	return shortSpin, spinShort
}

// spin polls ready for budget, or until timeout (> 0) passes, and returns
// whether it became true. The clock is read only every 32 polls, as it
// costs more than ready(); the first reading, returned as start, stands for
// the start of the wait, which spares a clock read when ready() soon holds.
// A gap over preemptGap between readings means the thread lost its CPU
// while spinning: the CPUs are oversubscribed, where a spinner only delays
// the peer it waits for and a sleeper wakes with priority. spin then stops
// and reports preempted. It yields now and then: the Go scheduler may have
// a peer goroutine waiting for this P (same-process use), and the kernel
// may have put the peer thread, just woken, on this CPU.
func (d *Doorbell) spin(ready func() bool, budget, timeout time.Duration) (ok bool, start time.Time, preempted bool) {
	if budget <= 0 {
		return false, time.Now(), false
	}
	var last time.Time
	for i := 1; ; i++ {
		if ready() {
			return true, start, !last.IsZero() && time.Since(last) > preemptGap
		}
		if i%32 != 0 {
			continue
		}
		now := time.Now()
		if start.IsZero() {
			start = now
		} else if now.Sub(last) > preemptGap {
			return false, start, true
		}
		last = now
		if waited := now.Sub(start); waited >= budget || (timeout > 0 && waited >= timeout) {
			return false, start, false
		}
		if i%256 == 0 {
			runtime.Gosched()
			unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		}
	}
}

// observe folds one wait into the hit rate (weight 1/8). Concurrent
// waiters may lose an update; the rate is a heuristic.
func (d *Doorbell) observe(hit bool) {
	sample := int64(0)
	if hit {
		sample = hitOne
	}
	h := d.hits.Load()
	d.hits.Store(h + (sample-h)/8)
}
