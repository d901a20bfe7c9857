package main

import (
	"bytes"
	"errors"
	"image/gif"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"manta/rl"
)

// manta rl trains and saves its checkpoint; manta rl render draws an
// episode of that policy; --resume goes on from it; a checkpoint of
// another env is refused.
func TestRLTrainRenderResume(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"rl", "es", "--steps", "6000", "--out", dir, "--json"}, &out); err != nil {
		t.Fatalf("rl es: %v\n%s", err, out.String())
	}
	ck := filepath.Join(dir, "es-CartPole-v1-w2-s1-checkpoint.json")
	file := filepath.Join(dir, "episode.gif")
	out.Reset()
	if err := run([]string{"rl", "render", "--policy", ck, "--out", file, "--every", "5", "--width", "120", "--height", "80"}, &out); err != nil {
		t.Fatalf("rl render: %v", err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	anim, err := gif.DecodeAll(f)
	if err != nil || len(anim.Image) < 2 || anim.Image[0].Bounds().Dx() != 120 {
		t.Fatalf("%s: %v frames, %v", out.String(), len(anim.Image), err)
	}
	out.Reset()
	// A resumed run may go on with other hyperparameters (a smaller σ late).
	if err := run([]string{"rl", "es", "--steps", "12000", "--resume", ck, "--out", dir, "--sigma", "0.05", "--pairs", "4", "--lr", "0.01"}, &out); err != nil || !strings.Contains(out.String(), "iter") {
		t.Fatalf("rl es --resume: %v\n%s", err, out.String())
	}
	if err := run([]string{"rl", "ppo", "--pairs", "4"}, &out); !errors.Is(err, rl.ErrBadConfig) {
		t.Fatalf("rl ppo --pairs: %v, want ErrBadConfig", err)
	}
	for _, args := range [][]string{{"rl", "es", "--overlap"}, {"rl", "ppo", "--overlap", "--sync"}, {"rl", "es", "--envs", "2"}, {"rl", "ppo", "--rollout", "-1"}} {
		if err := run(args, &out); !errors.Is(err, rl.ErrBadConfig) {
			t.Fatalf("%s: %v, want ErrBadConfig", strings.Join(args, " "), err)
		}
	}
	// --envs and --rollout size an iteration: 1 worker × 3 copies × 7 steps.
	out.Reset()
	if err := run([]string{"rl", "a2c", "--workers", "1", "--envs", "3", "--rollout", "7", "--steps", "42", "--out", dir}, &out); err != nil ||
		!strings.Contains(out.String(), "steps        21 ") || !strings.Contains(out.String(), "steps        42 ") {
		t.Fatalf("rl a2c --envs 3 --rollout 7: %v\n%s", err, out.String())
	}
	if err := run([]string{"rl", "es", "--sigma", "-1"}, &out); !errors.Is(err, rl.ErrBadConfig) {
		t.Fatalf("rl es --sigma -1: %v, want ErrBadConfig", err)
	}
	if err := run([]string{"rl", "render", "--policy", ck, "--env", "Pendulum-v1"}, &out); !errors.Is(err, rl.ErrCheckpoint) {
		t.Fatalf("render on another env: %v, want ErrCheckpoint", err)
	}
}
