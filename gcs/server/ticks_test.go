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

// A monitor driven by runTicksUpTo does not make up a stall of its own
// beyond most ticks: the rest is forgotten, not given later.
func TestRunTicksUpToForgetsAStall(t *testing.T) {
	clock := clockwork.NewFakeClock()
	done := make(chan struct{})
	steps := make(chan int)
	release := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		runTicksUpTo(done, clock, time.Millisecond, 10, func(n int) bool {
			steps <- n
			<-release
			return true
		})
	}()
	if err := clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Millisecond)
	if n := <-steps; n != 1 {
		t.Fatalf("one tick: step(%d)", n)
	}
	// 500 ticks pass while the step is busy (the process stalls): the
	// ticker keeps the first, and the tick after gives 10 for the other
	// 499; the tick after that, one.
	for _, s := range []struct {
		advance time.Duration
		want    int
	}{{500 * time.Millisecond, 1}, {time.Millisecond, 10}, {time.Millisecond, 1}} {
		clock.Advance(s.advance)
		release <- struct{}{}
		if n := <-steps; n != s.want {
			t.Fatalf("after %v: step(%d), want %d", s.advance, n, s.want)
		}
	}
	close(done)
	release <- struct{}{}
	<-finished
}
