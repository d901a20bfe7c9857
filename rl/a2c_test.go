package rl

import (
	"errors"
	"testing"
)

func TestA2CLearnsCartPole(t *testing.T) {
	startCluster(t)
	rnd := randomReturn(t)
	cfg := A2CDefaults("CartPole-v1")
	cfg.Seed, cfg.TotalSteps = 1, 40_000
	res, err := TrainA2C(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	last := res.Curve[len(res.Curve)-1].MeanReturn
	t.Logf("random %.1f; after %d steps (%d updates) mean return %.1f (%.1fs)", rnd, res.EnvSteps, len(res.Curve), last, res.WallS)
	if res.Algo != "a2c" || last < 3*rnd {
		t.Fatalf("%s: mean return %.1f after %d steps, want ≥ 3× random (%.1f)", res.Algo, last, res.EnvSteps, 3*rnd)
	}
	bad := A2CDefaults("CartPole-v1")
	bad.MaxGradNorm = -1
	if _, err := TrainA2C(ctxT(t), bad); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("max grad norm -1: %v, want ErrBadConfig", err)
	}
}
