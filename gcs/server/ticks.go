package server

import (
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"
)

// runTicks calls step every tick of clock with the number of ticks due,
// catching up on ticks the ticker dropped so a state machine's clock (a
// replica's lease, the monitor's timeouts) keeps time when the process is
// slow. It returns when done closes or step returns false.
func runTicks(done <-chan struct{}, clock clockwork.Clock, tick time.Duration, step func(n int) bool) {
	runTicksUpTo(done, clock, tick, 0, step)
}

// runTicksUpTo is runTicks, except that where more than most ticks (most
// > 0) passed since the last step, the step is given most and the rest is
// forgotten: the state machine's clock falls behind after a stall.
func runTicksUpTo(done <-chan struct{}, clock clockwork.Clock, tick time.Duration, most int, step func(n int) bool) {
	t := clock.NewTicker(tick)
	defer t.Stop()
	last := clock.Now()
	for {
		select {
		case <-done:
			return
		case now := <-t.Chan():
			due := int(now.Sub(last) / tick)
			n := min(due, 1000)
			if most > 0 && due > most {
				n = most
				last = last.Add(time.Duration(due) * tick)
			} else {
				last = last.Add(time.Duration(n) * tick)
			}
			if !step(n) {
				return
			}
		}
	}
}

// loggerOrDefault is l, or slog.Default() for nil.
func loggerOrDefault(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// clockOrReal is c, or the real clock for nil.
func clockOrReal(c clockwork.Clock) clockwork.Clock {
	if c == nil {
		return clockwork.NewRealClock()
	}
	return c
}
