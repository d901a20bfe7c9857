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
	t := clock.NewTicker(tick)
	defer t.Stop()
	last := clock.Now()
	for {
		select {
		case <-done:
			return
		case now := <-t.Chan():
			n := min(int(now.Sub(last)/tick), 1000)
			last = last.Add(time.Duration(n) * tick)
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
