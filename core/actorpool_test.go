package core

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

var testSlowDouble = RegisterMethod1(testCounter, "SlowDouble", func(c *counter, x int) (int, error) {
	if x < 0 {
		return 0, errors.New("negative")
	}
	time.Sleep(time.Duration(10-x) * time.Millisecond) // early values finish last
	return 2 * x, nil
})

func TestActorPoolMapsOrderedAndUnordered(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	pool := NewActorPool([]Actor[counter]{testCounter.Remote(0), testCounter.Remote(0), testCounter.Remote(0)})
	values := []int{0, 1, 2, 3, 4, 5, 6, 7}
	double := func(a Actor[counter], v int) Ref[int] { return testSlowDouble.Remote(a, v) }
	var ordered []int
	for v, err := range Map(ctx, pool, values, double) {
		if err != nil {
			t.Fatal(err)
		}
		ordered = append(ordered, v)
	}
	if !slices.Equal(ordered, []int{0, 2, 4, 6, 8, 10, 12, 14}) {
		t.Fatalf("Map = %v", ordered)
	}
	var unordered []int
	for v, err := range MapUnordered(ctx, pool, values, double) {
		if err != nil {
			t.Fatal(err)
		}
		unordered = append(unordered, v)
	}
	slices.Sort(unordered)
	if !slices.Equal(unordered, ordered) {
		t.Fatalf("MapUnordered = %v", unordered)
	}
	// An error is yielded in its place; the others go on.
	var errs, oks int
	for _, err := range Map(ctx, pool, []int{1, -1, 2}, double) {
		if err != nil {
			errs++
		} else {
			oks++
		}
	}
	if errs != 1 || oks != 2 {
		t.Fatalf("%d errors, %d results", errs, oks)
	}
	// Stopping early gives the actors back.
	for range Map(ctx, pool, values, double) {
		break
	}
	if len(pool.idle) != 3 {
		t.Fatalf("%d of 3 actors back in the pool after an early stop", len(pool.idle))
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, err := range Map(cancelled, pool, values, double) {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Map with a done context: %v", err)
		}
	}
}
