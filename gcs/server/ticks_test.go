package server

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// tickLoop runs a ticks loop (run, given its done channel and its step)
// on a fake clock whose steps stay busy until the test lets them go.
type tickLoop struct {
	clock    *clockwork.FakeClock
	done     chan struct{}
	steps    chan int
	release  chan struct{}
	finished chan struct{}
}

func startTickLoop(t *testing.T, run func(done <-chan struct{}, clock clockwork.Clock, step func(int) bool)) *tickLoop {
	t.Helper()
	l := &tickLoop{clock: clockwork.NewFakeClock(), done: make(chan struct{}), steps: make(chan int),
		release: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(l.finished)
		run(l.done, l.clock, func(n int) bool {
			l.steps <- n
			<-l.release // busy until the test lets go
			return true
		})
	}()
	if err := l.clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	l.clock.Advance(time.Millisecond)
	if n := <-l.steps; n != 1 {
		t.Fatalf("one tick: step(%d)", n)
	}
	return l
}

// step lets the busy step go after advance and checks the next one's n.
func (l *tickLoop) step(t *testing.T, advance time.Duration, want int) {
	t.Helper()
	l.clock.Advance(advance)
	l.release <- struct{}{}
	if n := <-l.steps; n != want {
		t.Fatalf("after %v: step(%d), want %d", advance, n, want)
	}
}

func (l *tickLoop) stop() {
	close(l.done)
	l.release <- struct{}{}
	<-l.finished
}

// A state machine driven by runTicks keeps time with the clock: ticks the
// ticker dropped while a step was busy are made up at the next tick.
func TestRunTicksCatchesUp(t *testing.T) {
	l := startTickLoop(t, func(done <-chan struct{}, clock clockwork.Clock, step func(int) bool) {
		runTicks(done, clock, time.Millisecond, step)
	})
	// Five ticks pass while the step is busy: the ticker keeps the first,
	// and the tick after makes up for the other four.
	l.step(t, 5*time.Millisecond, 1)
	l.step(t, time.Millisecond, 5)
	l.stop()
}

// A monitor driven by runTicksUpTo does not make up a stall of its own
// beyond most ticks: the rest is forgotten, not given later.
func TestRunTicksUpToForgetsAStall(t *testing.T) {
	l := startTickLoop(t, func(done <-chan struct{}, clock clockwork.Clock, step func(int) bool) {
		runTicksUpTo(done, clock, time.Millisecond, 10, step)
	})
	// 500 ticks pass while the step is busy (the process stalls): the
	// ticker keeps the first, and the tick after gives 10 for the other
	// 499; the tick after that, one.
	l.step(t, 500*time.Millisecond, 1)
	l.step(t, time.Millisecond, 10)
	l.step(t, time.Millisecond, 1)
	l.stop()
}
