package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"manta/rpc/wire"
)

type counter struct {
	n       int
	history []int
}

var (
	testCounter = RegisterActor1("test.Counter", func(start int) (*counter, error) {
		if start < 0 {
			return nil, errors.New("negative start")
		}
		return &counter{n: start}, nil
	})
	testIncr = RegisterMethod1(testCounter, "Incr", func(c *counter, d int) (int, error) {
		c.n += d
		c.history = append(c.history, d)
		return c.n, nil
	})
	testHistory = RegisterMethod0(testCounter, "History", func(c *counter) ([]int, error) { return c.history, nil })
	testCrash   = RegisterMethod0(testCounter, "Crash", func(c *counter) (int, error) {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		return 0, nil
	})
	// testIncrVia calls an actor whose handle it was given.
	testIncrVia = Register2("test.incrvia", func(h Actor[counter], d int) (int, error) {
		return testIncr.Remote(h, d).Get(context.Background())
	})
)

func TestActorCallsRunInSubmissionOrder(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	h := testCounter.Remote(100)
	var last Ref[int]
	for i := 1; i <= 200; i++ {
		last = testIncr.Remote(h, i)
	}
	if v, err := last.Get(ctx); err != nil || v != 100+200*201/2 {
		t.Fatalf("last = %d, %v", v, err)
	}
	hist, err := testHistory.Remote(h).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range hist {
		if d != i+1 {
			t.Fatalf("call %d ran as %d: %v", i+1, d, hist[:i+1])
		}
	}
	// A handle passed to a task drives the same actor.
	if v, err := testIncrVia.Remote(h, 1).Get(ctx); err != nil || v != 100+200*201/2+1 {
		t.Fatalf("via task = %d, %v", v, err)
	}
}

func TestActorConstructorErrorAndDeath(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	bad := testCounter.Remote(-1)
	if _, err := testIncr.Remote(bad, 1).Get(ctx); !errors.Is(err, ErrActorDied) {
		t.Fatalf("call on failed constructor: %v", err)
	}
	h := testCounter.Remote(0)
	if _, err := testCrash.Remote(h).Get(ctx); !errors.Is(err, ErrActorDied) {
		t.Fatalf("crash call: %v", err)
	}
	if _, err := testIncr.Remote(h, 1).Get(ctx); !errors.Is(err, ErrActorDied) {
		t.Fatalf("call after death (no restarts): %v", err)
	}
	// An actor no node can place fails at once, saying why as a task would.
	huge := testRestartable.Options(WithActorResources(map[string]float64{"CPU": 64}))
	if err := huge.Remote().Ready(ctx); !errors.Is(err, ErrActorDied) || !errors.Is(err, ErrInfeasible) {
		t.Fatalf("an actor of 64 CPUs: %v; want ErrActorDied and ErrInfeasible", err)
	}
}

type restartable struct{ n int }

var (
	testRestartable = RegisterActor0("test.Restartable", func() (*restartable, error) { return &restartable{}, nil }, WithMaxRestarts(1))
	testRIncr       = RegisterMethod0(testRestartable, "Incr", func(r *restartable) (int, error) { r.n++; return r.n, nil })
	testRCrash      = RegisterMethod0(testRestartable, "Crash", func(r *restartable) (int, error) {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		return 0, nil
	})
)

func TestActorRestartsFromConstructor(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	h := testRestartable.Remote()
	testRIncr.Remote(h)
	if v, _ := testRIncr.Remote(h).Get(ctx); v != 2 {
		t.Fatalf("before crash: %d", v)
	}
	if _, err := testRCrash.Remote(h).Get(ctx); !errors.Is(err, ErrActorDied) {
		t.Fatalf("crash: %v", err)
	}
	if v, err := testRIncr.Remote(h).Get(ctx); err != nil || v != 1 {
		t.Fatalf("after restart: %d, %v; want 1 from a fresh instance", v, err)
	}
	if err := h.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := testRIncr.Remote(h).Get(ctx); !errors.Is(err, ErrActorDied) {
		t.Fatalf("after kill: %v", err)
	}
}

// An actor with restarts without limit (-1, as in Ray) comes back after
// every crash.
func TestActorRestartsWithoutLimit(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	h := testRestartable.Options(WithMaxRestarts(-1)).Remote()
	for crash := range 3 {
		if v, err := testRIncr.Remote(h).Get(ctx); err != nil || v != 1 {
			t.Fatalf("after %d crashes: %d, %v; want 1 from a fresh instance", crash, v, err)
		}
		if _, err := testRCrash.Remote(h).Get(ctx); !errors.Is(err, ErrActorDied) {
			t.Fatalf("crash %d: %v", crash+1, err)
		}
	}
	if v, err := testRIncr.Remote(h).Get(ctx); err != nil || v != 1 {
		t.Fatalf("after 3 crashes: %d, %v; want 1 from a fresh instance", v, err)
	}
}

type gate struct{ inside atomic.Int32 }

var (
	testGate  = RegisterActor0("test.Gate", func() (*gate, error) { return &gate{}, nil }, WithMaxConcurrency(4))
	testEnter = RegisterMethod1(testGate, "Enter", func(g *gate, want int32) (int32, error) {
		// Every caller waits until `want` calls are inside at once, which
		// only happens if they run concurrently.
		g.inside.Add(1)
		deadline := time.Now().Add(10 * time.Second)
		for g.inside.Load() < want {
			if time.Now().After(deadline) {
				return g.inside.Load(), fmt.Errorf("only %d inside", g.inside.Load())
			}
			time.Sleep(time.Millisecond)
		}
		return g.inside.Load(), nil
	})
)

func TestActorMaxConcurrencyRunsCallsTogether(t *testing.T) {
	startCluster(t, Config{})
	h := testGate.Remote()
	refs := make([]Ref[int32], 4)
	for i := range refs {
		refs[i] = testEnter.Remote(h, int32(4))
	}
	if _, err := GetAll(ctxT(t), refs); err != nil {
		t.Fatal(err)
	}
}

func TestCallOnUnknownActorKeepsArgumentsAlive(t *testing.T) {
	c := startCluster(t, Config{})
	ctx := ctxT(t)
	p, err := Put(5)
	if err != nil {
		t.Fatal(err)
	}
	rt := current.Load()
	ghost := Actor[counter]{ref: Ref[struct{}]{h: newHandle(rt, rt.backend.adopt(wire.ReturnID(p.ID().Task.Child(99))))}}
	for range 3 {
		if _, err := testIncr.Remote(ghost, p).Get(ctx); !errors.Is(err, ErrActorDied) {
			t.Fatalf("call on an actor that never existed: %v", err)
		}
	}
	// p is still held by this test, so it must still be readable.
	if v, err := p.Get(ctx); err != nil || v != 5 {
		t.Fatalf("argument after failed calls: %d, %v", v, err)
	}
	if s := c.Stats(); s.Tasks != 0 {
		t.Fatalf("tasks left: %+v", s)
	}
}
