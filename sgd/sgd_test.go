package sgd

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"manta/core"
)

// small is a task and network that train in a second.
var small = Config{Batch: 64, Steps: 40, Hidden: []int{32}, Inputs: 64, Classes: 4, Samples: 1024, LR: 3e-3, Seed: 3}

// Replicas on several actors end with the weights of one process
// training on the whole batch (to rounding: their gradients are summed
// in another order), all replicas alike, and the loss falls.
func TestReplicasMatchOneProcess(t *testing.T) {
	c, err := core.Init(core.Config{Resources: map[string]float64{"CPU": 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, workers := range []int{2, 3} {
		cfg := small
		cfg.Workers, cfg.Batch = workers, 21*workers
		dist, err := Train(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		local, err := TrainLocal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i := range local.Params {
			worst = max(worst, math.Abs(dist.Params[i]-local.Params[i])/(1e-3+math.Abs(local.Params[i])))
		}
		first, last := dist.Loss[0], dist.Loss[len(dist.Loss)-1]
		t.Logf("%d workers: loss %.3f → %.3f (one process %.3f → %.3f); largest relative difference of a weight %.2g; allreduce %.3fs of %.3fs",
			workers, first, last, local.Loss[0], local.Loss[len(local.Loss)-1], worst, dist.AllreduceS, dist.WallS)
		if worst > 1e-6 {
			t.Fatalf("%d workers: a weight differs from one process's by %.2g (relative)", workers, worst)
		}
		if math.Abs(first-local.Loss[0]) > 1e-9 || last > 0.8*first {
			t.Fatalf("%d workers: loss %.4f → %.4f, one process's first %.4f", workers, first, last, local.Loss[0])
		}
	}
	bad := small
	bad.Workers, bad.Batch = 3, 64
	if _, err := Train(ctx, bad); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("a batch of 64 over 3 workers: %v, want ErrBadConfig", err)
	}
}
