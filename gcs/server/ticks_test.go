package server

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// A state machine driven by runTicks keeps time with the clock: ticks the
// ticker dropped while a step was busy are made up at the next tick.
func TestRunTicksCatchesUp(t *testing.T) {
	clock := clockwork.NewFakeClock()
	done := make(chan struct{})
	steps := make(chan int)
	release := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		runTicks(done, clock, time.Millisecond, func(n int) bool {
			steps <- n
			<-release // busy until the test lets go
			return true
		})
	}()
	step := func(advance time.Duration, want int) {
		t.Helper()
		clock.Advance(advance)
		release <- struct{}{}
		if n := <-steps; n != want {
			t.Fatalf("after %v: step(%d), want %d", advance, n, want)
		}
	}
	if err := clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Millisecond)
	if n := <-steps; n != 1 {
		t.Fatalf("one tick: step(%d)", n)
	}
	// Five ticks pass while the step is busy: the ticker keeps the first,
	// and the tick after makes up for the other four.
	step(5*time.Millisecond, 1)
	step(time.Millisecond, 5)
	close(done)
	release <- struct{}{}
	<-finished
}
