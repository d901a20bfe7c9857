package shm

import (
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Futex operations. FUTEX_PRIVATE_FLAG is deliberately absent: the futex
// word lives in a MAP_SHARED mapping and the waker may be another process.
const (
	futexWait = 0
	futexWake = 1
)

// futexSleep blocks while *addr == val, for at most d (d <= 0: no limit).
// It returns early on a wake-up, a signal (EINTR) or when *addr != val
// (EAGAIN); the caller re-checks its condition in every case.
func futexSleep(addr *atomic.Uint32, val uint32, d time.Duration) {
	var ts *unix.Timespec
	if d > 0 {
		t := unix.NsecToTimespec(int64(d))
		ts = &t
	}
	// Errors (EINTR, EAGAIN, ETIMEDOUT) all mean "look again".
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWait, uintptr(val),
		uintptr(unsafe.Pointer(ts)), 0, 0)
}

// futexWakeAll wakes every thread, in any process, sleeping on addr.
func futexWakeAll(addr *atomic.Uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWake, math.MaxInt32, 0, 0, 0)
}
