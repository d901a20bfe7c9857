package core

import (
	"context"
	"testing"
	"time"
)

type span struct{ Start, End int64 }

var (
	testAccel = Register1("test.accel", func(d int64) (span, error) {
		s := time.Now().UnixNano()
		time.Sleep(time.Duration(d))
		return span{s, time.Now().UnixNano()}, nil
	}, WithResources(map[string]float64{"CPU": 0, "accel": 1}))

	testAccelHolder = RegisterActor0("test.AccelHolder", func() (*counter, error) { return &counter{}, nil },
		WithActorResources(map[string]float64{"accel": 1}))
	testHolderPing = RegisterMethod0(testAccelHolder, "Ping", func(*counter) (int, error) { return 1, nil })
)

func TestCustomResourceLimitsConcurrency(t *testing.T) {
	startCluster(t, Config{Resources: map[string]float64{"CPU": 2, "accel": 1}})
	ctx := ctxT(t)
	refs := make([]Ref[span], 4)
	for i := range refs {
		refs[i] = testAccel.Remote(int64(20 * time.Millisecond))
	}
	spans, err := GetAll(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range spans {
		for j, b := range spans[:i] {
			if a.Start < b.End && b.Start < a.End {
				t.Fatalf("tasks %d and %d ran at once on the node's single accel: %v %v", j, i, b, a)
			}
		}
	}
}

func TestActorHoldsItsResourcesUntilKilled(t *testing.T) {
	startCluster(t, Config{Resources: map[string]float64{"CPU": 2, "accel": 1}})
	ctx := ctxT(t)
	h := testAccelHolder.Remote()
	if _, err := testHolderPing.Remote(h).Get(ctx); err != nil {
		t.Fatal(err)
	}
	task := testAccel.Remote(int64(0))
	ready, err := WaitAny(ctx, []AnyRef{task}, 1, 100*time.Millisecond)
	if err != nil || len(ready) != 0 {
		t.Fatalf("a task needing the actor's accel ran while the actor lived: %v %v", ready, err)
	}
	if err := h.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Get(ctx); err != nil {
		t.Fatalf("after the actor was killed: %v", err)
	}
}

func TestGPUTaskRunsOnGPUNode(t *testing.T) {
	startCluster(t, Config{Resources: map[string]float64{"CPU": 1, "GPU": 1}})
	if v, err := testGPU.Remote().Get(context.Background()); err != nil || v != 1 {
		t.Fatalf("%d, %v", v, err)
	}
}
