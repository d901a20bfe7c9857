package rl

import (
	"errors"
	"math"
	"testing"
)

// PPO's gradient computed by two learner actors, each over half of every
// minibatch and summed by the allreduce, gives the single learner's
// weights (to rounding: the halves are summed in another order). Such a
// run has no checkpoints to resume from.
func TestPPOLearnersMatchOne(t *testing.T) {
	startCluster(t)
	cfg := PPODefaults("CartPole-v1")
	cfg.Seed, cfg.TotalSteps = 4, 3*1024
	one, err := TrainPPO(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Learners = 2
	two, err := TrainPPO(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i := range one.Params {
		worst = max(worst, math.Abs(two.Params[i]-one.Params[i])/(1e-3+math.Abs(one.Params[i])))
	}
	t.Logf("after %d iterations: largest relative difference of a weight %.2g; learning %.3fs with one learner, %.3fs with two actors",
		len(two.Curve), worst, one.LearnS, two.LearnS)
	if len(two.Curve) != len(one.Curve) || worst > 1e-6 {
		t.Fatalf("two learners' weights differ from one's by %.2g (relative)", worst)
	}
	// The final state is for acting only: the optimiser's is the actors'.
	if _, err := Greedy(two.Checkpoint); err != nil {
		t.Fatal(err)
	}
	cfg.Learners, cfg.Resume = 0, two.Checkpoint
	if _, err := TrainPPO(ctxT(t), cfg); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("resuming a learner actors' run: %v, want ErrCheckpoint", err)
	}
	cfg.Learners, cfg.Resume, cfg.CheckpointPath = 2, nil, t.TempDir()+"/ck"
	if _, err := TrainPPO(ctxT(t), cfg); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("checkpoints with learner actors: %v, want ErrUnsupported", err)
	}
}
