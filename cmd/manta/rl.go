package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/gif"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"manta/core"
	"manta/plots"
	"manta/rl"
	"manta/sims"
	"manta/sims/render"
)

const rlUsage = `usage: manta rl <ppo|es|a2c> [flags]
       manta rl render --policy FILE [--out episode.gif] [--seed S] [--every N]

  --env ID        Gymnasium env id (default CartPole-v1)
  --workers N     rollout actors (default 2)
  --seed S        seed; a seed and worker count give the same run
  --steps N       env step budget (default: the algorithm's per env)
  --sync          PPO, A2C: gather rollouts bulk-synchronously (MPI-style)
  --overlap       PPO: sample the next rollouts while learning, with weights one update old (RLlib's async sampling)
  --learners N    PPO: compute each minibatch's gradient on N learner actors, summed by allreduce
  --lr R          learning rate (default: the algorithm's for the env)
  --pairs N       ES: antithetic pairs each worker evaluates per iteration (default: the env's)
  --sigma S       ES: the noise's standard deviation (default: the env's); a resumed run may change it
                  (an env whose defaults have a second stage, rl.ESRefine, still switches to it)
  --max-wall D    stop after this long (e.g. 60s)
  --out DIR       write the learning curve (JSON) and its plot here (default results/rl)
  --checkpoint F  save the run's state to F every --checkpoint-every iterations (default 10) and at its end
  --resume F      go on from checkpoint F (same env, workers and algorithm); --steps counts its steps too
  --json          end with one summary object`

// rlCommand runs `manta rl ppo|es`: a progress line per iteration, the
// learning curve saved as JSON and drawn, and with --json one summary.
func rlCommand(args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "render" {
		return rlRender(args[1:], out)
	}
	if len(args) == 0 || (args[0] != "ppo" && args[0] != "es" && args[0] != "a2c") {
		return fmt.Errorf("%s", rlUsage)
	}
	algo := args[0]
	fs := flag.NewFlagSet("rl "+algo, flag.ContinueOnError)
	env := fs.String("env", "CartPole-v1", "env id")
	workers := fs.Int("workers", 2, "rollout actors")
	seed := fs.Uint64("seed", 1, "seed")
	steps := fs.Int("steps", 0, "env step budget (0: default)")
	sync := fs.Bool("sync", false, "PPO: bulk-synchronous gathering")
	overlap := fs.Bool("overlap", false, "PPO: sample while learning, one update behind")
	learnerActors := fs.Int("learners", 0, "PPO: learner actors (0 or 1: learn in the driver)")
	lr := fs.Float64("lr", 0, "learning rate (0: the algorithm's default for the env)")
	envs := fs.Int("envs", 0, "PPO, A2C: env copies each worker steps (0: the env's default)")
	rollout := fs.Int("rollout", 0, "PPO, A2C: steps each copy takes an iteration (0: the env's default)")
	pairs := fs.Int("pairs", 0, "ES: antithetic pairs each worker evaluates per iteration (0: the env's default)")
	sigma := fs.Float64("sigma", 0, "ES: noise standard deviation (0: the env's default)")
	maxWall := fs.Duration("max-wall", 0, "stop after this long (0: no limit)")
	dir := fs.String("out", filepath.Join("results", "rl"), "directory for the curve and plot")
	asJSON := fs.Bool("json", false, "print one summary object at the end")
	checkpoint := fs.String("checkpoint", "", "file to save the run's state to")
	checkpointEvery := fs.Int("checkpoint-every", 10, "iterations between checkpoints")
	resumeFrom := fs.String("resume", "", "checkpoint file to go on from")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *checkpointEvery < 1 {
		return fmt.Errorf("%w: checkpoint-every = %d, want ≥ 1", rl.ErrBadConfig, *checkpointEvery)
	}
	var resume *rl.Checkpoint
	if *resumeFrom != "" {
		var err error
		if resume, err = rl.LoadCheckpoint(*resumeFrom); err != nil {
			return err
		}
	}
	if *workers < 1 {
		return fmt.Errorf("%w: workers = %d, want ≥ 1", rl.ErrBadConfig, *workers)
	}
	if *steps < 0 {
		return fmt.Errorf("%w: steps = %d, want ≥ 0", rl.ErrBadConfig, *steps)
	}
	if algo != "es" && (*pairs != 0 || *sigma != 0) {
		return fmt.Errorf("%w: --pairs and --sigma are ES's", rl.ErrBadConfig)
	}
	if algo == "es" && (*envs != 0 || *rollout != 0) {
		return fmt.Errorf("%w: --envs and --rollout are PPO's and A2C's", rl.ErrBadConfig)
	}
	if *envs < 0 || *rollout < 0 {
		return fmt.Errorf("%w: envs = %d, rollout = %d, want ≥ 0", rl.ErrBadConfig, *envs, *rollout)
	}
	if algo != "ppo" && *overlap {
		return fmt.Errorf("%w: --overlap is PPO's", rl.ErrBadConfig)
	}
	progress := func(it rl.Iteration) {
		if *asJSON {
			return
		}
		ev := ""
		if it.Evaluated {
			ev = fmt.Sprintf("  eval %.1f", it.EvalReturn)
		}
		fmt.Fprintf(out, "iter %4d  steps %9d  mean return %8.2f  %8.0f steps/s  %6.1fs  sample %.3fs learn %.3fs sync %.3fs%s\n",
			it.Iter, it.EnvSteps, it.MeanReturn, it.StepsPerSec, it.WallS, it.SampleS, it.LearnS, it.SyncS, ev)
	}
	// Validate before starting anything.
	var run func(ctx context.Context) (*rl.Result, error)
	switch algo {
	case "ppo":
		cfg := rl.PPODefaults(*env)
		setIfGiven(&cfg.EnvsPerWorker, *envs)
		setIfGiven(&cfg.Steps, *rollout)
		cfg.Workers, cfg.Seed, cfg.Sync, cfg.MaxWall, cfg.Progress = *workers, *seed, *sync, *maxWall, progress
		cfg.Learners, cfg.Overlap = *learnerActors, *overlap
		cfg.CheckpointPath, cfg.CheckpointEvery, cfg.Resume = *checkpoint, *checkpointEvery, resume
		setIfGiven(&cfg.TotalSteps, *steps)
		if *lr != 0 {
			cfg.LR = *lr
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		run = func(ctx context.Context) (*rl.Result, error) { return rl.TrainPPO(ctx, cfg) }
	case "a2c":
		cfg := rl.A2CDefaults(*env)
		setIfGiven(&cfg.EnvsPerWorker, *envs)
		setIfGiven(&cfg.Steps, *rollout)
		cfg.Workers, cfg.Seed, cfg.Sync, cfg.MaxWall, cfg.Progress = *workers, *seed, *sync, *maxWall, progress
		cfg.CheckpointPath, cfg.CheckpointEvery, cfg.Resume = *checkpoint, *checkpointEvery, resume
		setIfGiven(&cfg.TotalSteps, *steps)
		if *lr != 0 {
			cfg.LR = *lr
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		run = func(ctx context.Context) (*rl.Result, error) { return rl.TrainA2C(ctx, cfg) }
	case "es":
		cfg := rl.ESDefaults(*env)
		cfg.Workers, cfg.Seed, cfg.MaxWall, cfg.Progress = *workers, *seed, *maxWall, progress
		cfg.CheckpointPath, cfg.CheckpointEvery, cfg.Resume = *checkpoint, *checkpointEvery, resume
		setIfGiven(&cfg.TotalSteps, *steps)
		if *lr != 0 {
			cfg.LR = *lr
		}
		if *pairs != 0 {
			cfg.Pairs = *pairs
		}
		if *sigma != 0 {
			cfg.Sigma = *sigma
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		run = func(ctx context.Context) (*rl.Result, error) { return rl.TrainES(ctx, cfg) }
	}
	cluster, err := core.Init(core.Config{})
	if err != nil {
		return err
	}
	defer cluster.Shutdown()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, runErr := run(ctx)
	if res == nil {
		return runErr
	}
	if err := saveCurve(res, *dir); err != nil && runErr == nil {
		runErr = err
	}
	if *asJSON {
		b, err := json.Marshal(res.Summary)
		if err != nil {
			return errors.Join(runErr, err)
		}
		fmt.Fprintln(out, string(b))
	} else {
		fmt.Fprintf(out, "%s %s: solved %v, mean return %.2f, %d env steps, %.1f s (waiting for samples %.1f s, learning %.1f s, sending weights %.1f s)\n",
			res.Algo, res.Env, res.Solved, res.MeanReturn, res.EnvSteps, res.WallS, res.SampleS, res.LearnS, res.SyncS)
	}
	return runErr
}

// saveCurve writes DIR/<algo>-<env>-w<workers>-s<seed>.json (summary and
// curve), its plot, and -checkpoint.json beside them.
func saveCurve(res *rl.Result, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%s-w%d-s%d", res.Algo, res.Env, res.Workers, res.Seed)
	if err := res.SaveJSON(filepath.Join(dir, name+".json")); err != nil {
		return err
	}
	// The final state (after a divergence: the last good weights), to
	// resume from (--resume) or watch (manta rl render --policy).
	if err := res.Checkpoint.Save(filepath.Join(dir, name+"-checkpoint.json")); err != nil {
		return err
	}
	var s plots.Series
	s.Label = "mean return (training)"
	for _, it := range res.Curve {
		if it.MeanReturn == it.MeanReturn { // skip NaN before the first episode
			s.X = append(s.X, float64(it.EnvSteps))
			s.Y = append(s.Y, it.MeanReturn)
		}
	}
	if len(s.X) == 0 {
		return nil
	}
	series := []plots.Series{s}
	ev := plots.Series{Label: "greedy evaluation (100 episodes)"}
	for _, it := range res.Curve {
		if it.Evaluated {
			ev.X = append(ev.X, float64(it.EnvSteps))
			ev.Y = append(ev.Y, it.EvalReturn)
		}
	}
	if len(ev.X) > 0 {
		series = append(series, ev)
	}
	f := plots.Figure{
		Name: name, Kind: plots.KindLines, Title: fmt.Sprintf("%s on %s (%d workers, seed %d)", res.Algo, res.Env, res.Workers, res.Seed),
		XLabel: "env steps", YLabel: "mean return", Series: series, Legend: "bottom-right",
	}
	_, err := plots.Render(f, dir)
	return err
}

// rlRender is `manta rl render`: one episode of a checkpoint's policy,
// acting greedily, drawn as an animated GIF.
func rlRender(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rl render", flag.ContinueOnError)
	policy := fs.String("policy", "", "checkpoint that manta rl saved (DIR/NAME-checkpoint.json) or --checkpoint wrote")
	env := fs.String("env", "", "env id (default: the checkpoint's; another is refused)")
	file := fs.String("out", "episode.gif", "GIF to write")
	seed := fs.Int64("seed", 0, "the episode's seed")
	every := fs.Int("every", 1, "draw every N-th step")
	width := fs.Int("width", 480, "frame width in pixels")
	height := fs.Int("height", 320, "frame height in pixels")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *policy == "" {
		return fmt.Errorf("rl render: --policy FILE is required\n%s", rlUsage)
	}
	ck, err := rl.LoadCheckpoint(*policy)
	if err != nil {
		return err
	}
	if *env != "" && *env != ck.Env {
		return fmt.Errorf("%w: the policy was trained on %s, not %s", rl.ErrCheckpoint, ck.Env, *env)
	}
	act, err := rl.Greedy(ck)
	if err != nil {
		return err
	}
	e, err := sims.Make(ck.Env)
	if err != nil {
		return err
	}
	anim, ret, err := render.Episode(e, act, render.Options{Width: *width, Height: *height, Seed: *seed, Every: *every})
	if err != nil {
		return err
	}
	f, err := os.Create(*file)
	if err != nil {
		return err
	}
	if err := gif.EncodeAll(f, anim); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %s on %s, return %.2f, %d frames\n", *file, ck.Algo, ck.Env, ret, len(anim.Image))
	return nil
}

// setIfGiven sets *field to a flag's value where one was given (positive):
// 0 keeps the algorithm's default.
func setIfGiven(field *int, flag int) {
	if flag > 0 {
		*field = flag
	}
}
