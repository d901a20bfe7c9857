package events

import (
	"os"
	"strings"
	_ "unsafe" // for go:linkname
)

// nanotime is the runtime's monotonic clock (CLOCK_MONOTONIC on Linux),
// the same in every process of the machine, and cheaper to read than
// time.Now, which reads the wall clock too.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// useTSC says events are stamped with the time-stamp counter, which the
// flusher turns into nanoseconds: where the kernel keeps its monotonic
// clock on the TSC (it checked that every CPU's counts alike, at a
// constant rate), reading the counter directly costs half of a read of
// that clock (18 against 36 ns in a VM), and a task has 9 events.
var useTSC = haveTSC && kernelClockIsTSC()

func kernelClockIsTSC() bool {
	b, err := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	return err == nil && strings.TrimSpace(string(b)) == "tsc"
}

// Stamp is a reading of the clock events are stamped with: the TSC's
// count or nanoseconds, as useTSC says. A recorder writes stamps with
// the clock that converts them (stampClock); Parse turns them into an
// Event's Time.
type Stamp int64

// Now returns the clock events are stamped with, for RecordAt.
func Now() Stamp {
	if useTSC {
		return Stamp(rdtsc())
	}
	return Stamp(nanotime())
}

// anchor is a stamp and the monotonic clock read together.
type anchor struct {
	stamp Stamp
	nanos int64
}

// readAnchor reads the two clocks together: the stamp is the middle of
// two counter reads around the clock's (which reads the counter too),
// the closest of three tries, so that the processes of a machine, each
// converting its own stamps, agree to tens of nanoseconds.
func readAnchor() anchor {
	if !useTSC {
		n := nanotime()
		return anchor{Stamp(n), n}
	}
	best, gap := anchor{}, int64(-1)
	for range 3 {
		before := rdtsc()
		n := nanotime()
		after := rdtsc()
		if g := after - before; gap < 0 || g < gap {
			best, gap = anchor{Stamp(before + g/2), n}, g
		}
	}
	return best
}

// stampClock turns stamps into nanoseconds on the monotonic clock, by
// the line through two anchors: the flusher reads a new one each flush,
// so the stamps it converts lie between them (or just before the
// first), and the line follows the clock's slewing.
type stampClock struct {
	from, to anchor
	perStamp float64 // nanoseconds a stamp
}

func newStampClock() stampClock {
	a := readAnchor()
	return stampClock{from: a, to: a, perStamp: 1}
}

// advance begins converting the stamps taken up to now.
func (c *stampClock) advance() {
	next := readAnchor()
	if !useTSC {
		c.from, c.to = next, next
		return
	}
	if next.stamp > c.to.stamp && next.nanos > c.to.nanos {
		c.from, c.to = c.to, next
		c.perStamp = float64(c.to.nanos-c.from.nanos) / float64(c.to.stamp-c.from.stamp)
	}
}

// nanos converts s: a recorder's own stamps, or a file's by the clock
// its recorder wrote (in nanoseconds, as useTSC is false, its line is
// the identity: one nanosecond a stamp, through a pair of equal readings).
func (c *stampClock) nanos(s Stamp) int64 {
	return c.from.nanos + int64(float64(s-c.from.stamp)*c.perStamp)
}
