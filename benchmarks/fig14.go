package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"manta/core"
	"manta/plots"
	"manta/rl"
)

// Figures 14a and 14b of the paper at small scale: time to solve an env
// with ES and with PPO against the number of workers, and for PPO the
// asynchronous learner (rollouts gathered as they arrive, the next ones
// started before evaluation and reporting) beside an MPI-style
// bulk-synchronous one (a barrier on every worker's rollout), on the same
// seeds. The total batch per iteration is the same at every worker count
// (ES: 48 antithetic pairs; PPO: 8 env copies × 128 steps at quick scale,
// 16 × 256 at full), so the algorithm is the same and only its
// distribution changes.

var fig14a = Experiment{
	ID: "fig14a", Title: "Evolution strategies: time to solve against workers", Paper: "Figure 14a (§5.3.1)", State: Reproduced,
	Setup: "The paper ran ES on MuJoCo Humanoid-v1 with up to 8192 cores. Here: rl.TrainES (Salimans et al.: antithetic pairs, a shared noise " +
		"table put once into the object store and read zero-copy by every worker actor, centered ranks, Adam with L2, observation " +
		"normalisation) on sims' LunarLanderContinuous-v3 (solved: mean ≥ 200 over 100 greedy evaluation episodes; 48 antithetic pairs " +
		"per iteration, split over 1 and 2 worker actors at quick scale, powers of 2 to the cores, at most 16, at full), 3 seeds (5 at full), each run " +
		"stopped after 3 minutes if unsolved; on this machine's cores, shared with the driver. Stepping the Box2D sim takes most of an " +
		"iteration, so workers matter, as in the paper. No Humanoid exists in sims, so absolute times are not comparable; the shape " +
		"(time against workers) is.",
	QuickEstimate: 90 * time.Second,
	FullEstimate:  6 * time.Minute,
	Run:           runFig14a,
}

var fig14b = Experiment{
	ID: "fig14b", Title: "PPO: time to solve against workers, asynchronous against bulk-synchronous", Paper: "Figure 14b (§5.3.2)", State: Partial,
	Setup: "The paper ran PPO on Humanoid-v1, Ray against an MPI implementation, on up to 512 CPUs and 64 GPUs. Here: rl.TrainPPO (CleanRL's " +
		"details: GAE, clipped surrogate and value loss, entropy bonus, advantage normalisation, 4 epochs of 4 minibatches, learning-rate " +
		"annealing) on sims' CartPole-v1 at quick scale (solved: mean ≥ 475 over 100 greedy evaluation episodes; 8 env copies × 128 steps " +
		"per iteration) and LunarLanderContinuous-v3 at full scale (≥ 200; 16 copies × 256 steps, 10 epochs of 32 minibatches, each run " +
		"stopped after 5 minutes if unsolved), the copies split over 1 and 2 rollout actors (powers of 2 to the cores, at most 16, at " +
		"full scale), each mode on the same seeds. Async is PPOConfig.Overlap: the workers sample the next batch while the learner learns this one, with weights one update " +
		"old (RLlib's asynchronous sampling). The MPI program is replaced by the same actors gathered bulk-synchronously (a barrier, then " +
		"learning, then the next broadcast): the programming model, not MPI's transport. Partial: async can only use cores that " +
		"bulk-synchronous leaves idle, and on 2 cores the learner's two goroutines already fill both while it learns, so async gains " +
		"at 1 worker (one core idle while sampling) and nothing at 2 (measured on BipedalWalker-v3, 40 iterations of 4,096 steps: 21.6–22.1 s " +
		"against 17.0–17.7 s at 1 worker, 17.6–18.8 s either way at 2); the paper's shape needs more cores than the learner uses.",
	QuickEstimate: 90 * time.Second,
	FullEstimate:  40 * time.Minute,
	Run:           runFig14b,
}

// fig14Run is one training run's outcome.
type fig14Run struct {
	Mode     string  `json:"mode"`
	Workers  int     `json:"workers"`
	Seed     uint64  `json:"seed"`
	Solved   bool    `json:"solved"`
	WallS    float64 `json:"wall_s"`
	EnvSteps int     `json:"env_steps"`
	Return   float64 `json:"mean_return"`
	// The learner's time, split (rl.Summary): waiting for samples,
	// learning, sending weights.
	SampleS float64 `json:"sample_s"`
	LearnS  float64 `json:"learn_s"`
	SyncS   float64 `json:"sync_s"`
}

// fig14RunOf records a finished training run.
func fig14RunOf(mode string, workers int, seed uint64, res *rl.Result) fig14Run {
	return fig14Run{Mode: mode, Workers: workers, Seed: seed, Solved: res.Solved, WallS: res.WallS, EnvSteps: res.EnvSteps, Return: res.MeanReturn,
		SampleS: res.SampleS, LearnS: res.LearnS, SyncS: res.SyncS}
}

// fig14MaxWorkers is the most workers one iteration's batch is split
// over: its env copies (PPO at full scale, 16) and antithetic pairs (ES,
// 48) divide evenly by every power of two up to it, so every worker
// count runs the same algorithm.
const fig14MaxWorkers = 16

// fig14Workers is the worker counts: powers of two up to the cores (2 at
// quick scale), at most fig14MaxWorkers.
func fig14Workers(s Scale) []int {
	limit := min(runtime.NumCPU(), 2)
	if s == Full {
		limit = min(runtime.NumCPU(), fig14MaxWorkers)
	}
	var ws []int
	for n := 1; n <= limit; n *= 2 {
		ws = append(ws, n)
	}
	return ws
}

// fig14Seeds is the seeds of each point: 3 at quick scale, 5 at full,
// the first env.Seeds of them where that is set.
func fig14Seeds(env *Env) []uint64 {
	seeds := []uint64{1, 2, 3}
	if env.Scale == Full {
		seeds = []uint64{1, 2, 3, 4, 5}
	}
	if env.Seeds > 0 && env.Seeds < len(seeds) {
		seeds = seeds[:env.Seeds]
	}
	return seeds
}

// inCluster runs f on a fresh embedded node.
func inCluster(f func() error) error {
	c, err := core.Init(core.Config{})
	if err != nil {
		return err
	}
	defer c.Shutdown()
	return f()
}

func runFig14a(ctx context.Context, env *Env) (*Outcome, error) {
	workers, seeds := fig14Workers(env.Scale), fig14Seeds(env)
	var runs []fig14Run
	total := float64(len(workers) * len(seeds))
	for _, n := range workers {
		for _, seed := range seeds {
			env.Progress(float64(len(runs))/total, "ES %s, %d workers, seed %d", fig14aEnv, n, seed)
			cfg := fig14aConfig(n, seed)
			var res *rl.Result
			err := inCluster(func() (err error) { res, err = rl.TrainES(ctx, cfg); return err })
			if err != nil {
				return nil, err
			}
			runs = append(runs, fig14RunOf("es", n, seed, res))
		}
	}
	return fig14Outcome("fig14a", "ES on "+fig14aEnv+": time to solve", runs, []string{"es"}), nil
}

// fig14aEnv is fig14a's env: CartPole takes ES well under a second,
// mostly start-up; on LunarLanderContinuous-v3 stepping the envs
// dominates, as in the paper.
const fig14aEnv = "LunarLanderContinuous-v3"

// fig14aConfig is ES's config for n workers: the defaults' 48 antithetic
// pairs an iteration (2 workers × 24), split n ways.
func fig14aConfig(n int, seed uint64) rl.ESConfig {
	cfg := rl.ESDefaults(fig14aEnv)
	cfg.Workers, cfg.Pairs, cfg.Seed, cfg.MaxWall = n, 2*cfg.Pairs/n, seed, 3*time.Minute
	return cfg
}

func runFig14b(ctx context.Context, env *Env) (*Outcome, error) {
	workers, seeds := fig14Workers(env.Scale), fig14Seeds(env)
	modes := []string{"async", "bsp"}
	var runs []fig14Run
	total := float64(len(workers) * len(seeds) * len(modes))
	for _, n := range workers {
		for _, seed := range seeds {
			for _, m := range modes {
				env.Progress(float64(len(runs))/total, "PPO %s, %s, %d workers, seed %d", fig14bEnv(env.Scale), m, n, seed)
				cfg := fig14bConfig(env.Scale, m, n, seed)
				var res *rl.Result
				err := inCluster(func() (err error) { res, err = rl.TrainPPO(ctx, cfg); return err })
				if err != nil {
					return nil, err
				}
				runs = append(runs, fig14RunOf(m, n, seed, res))
			}
		}
	}
	out := fig14Outcome("fig14b", "PPO on "+fig14bEnv(env.Scale)+": time to solve", runs, modes)
	out.Notes = append(out.Notes, "PPO's learner (epochs of minibatches over every sample, forward and backward through two 64-64 MLPs) "+
		"takes most of each iteration (the learner's time waiting for samples is in the metrics). Async hides that wait by sampling "+
		"while learning, which needs a core the learner leaves idle: one at 1 worker, none at 2 on this 2-core machine. Its batches "+
		"come from weights one update old, so it may need more env steps to solve than BSP (the median env steps are in the metrics).")
	return out, nil
}

// fig14bEnv is fig14b's env at scale s.
func fig14bEnv(s Scale) string {
	if s == Full {
		return "LunarLanderContinuous-v3"
	}
	return "CartPole-v1"
}

// fig14bConfig is PPO's config for mode ("async" or "bsp") and n workers.
// Quick: CartPole's 8 copies × 128 steps an iteration. Full: the
// defaults' batch of 4,096 steps (2 workers × 4 copies × 512) as 16
// copies × 256, so that 16 workers can share it.
func fig14bConfig(s Scale, mode string, n int, seed uint64) rl.PPOConfig {
	copies, steps := 8, 128
	if s == Full {
		copies, steps = fig14MaxWorkers, 256
	}
	cfg := rl.PPODefaults(fig14bEnv(s))
	cfg.Workers, cfg.EnvsPerWorker, cfg.Steps, cfg.Seed, cfg.MaxWall = n, copies/n, steps, seed, 5*time.Minute
	cfg.Sync, cfg.Overlap = mode == "bsp", mode == "async"
	return cfg
}

// fig14Outcome summarises runs per mode and worker count: the median time
// to solve with its spread (min and max), the median env steps, and the
// share of runs that solved within the budget.
func fig14Outcome(id, title string, runs []fig14Run, modes []string) *Outcome {
	out := &Outcome{Data: runs}
	fig := plots.Figure{
		Name: id, Kind: plots.KindLines, Title: title, XLabel: "workers", YLabel: "median time to solve (s)",
		Caption: "Median over seeds; error bars span half the range (min to max).",
	}
	for _, m := range modes {
		s := plots.Series{Label: m}
		byN := map[int][]fig14Run{}
		var ns []int
		for _, r := range runs {
			if r.Mode != m {
				continue
			}
			if byN[r.Workers] == nil {
				ns = append(ns, r.Workers)
			}
			byN[r.Workers] = append(byN[r.Workers], r)
		}
		for _, n := range ns {
			var times, steps, waiting []float64
			solved := 0
			for _, r := range byN[n] {
				times = append(times, r.WallS)
				steps = append(steps, float64(r.EnvSteps))
				if all := r.SampleS + r.LearnS + r.SyncS; all > 0 {
					waiting = append(waiting, r.SampleS/all)
				}
				if r.Solved {
					solved++
				}
			}
			slices.Sort(times)
			slices.Sort(steps)
			med := median(times)
			s.X = append(s.X, float64(n))
			s.Y = append(s.Y, med)
			s.Err = append(s.Err, (times[len(times)-1]-times[0])/2)
			out.Metrics = append(out.Metrics,
				Metric{Name: fmt.Sprintf("%s, %d workers: median time to solve", m, n), Value: med, N: len(times), Unit: "s", Headline: n == ns[len(ns)-1],
					Note: fmt.Sprintf("min %.2f s, max %.2f s; %d of %d seeds solved", times[0], times[len(times)-1], solved, len(times))},
				Metric{Name: fmt.Sprintf("%s, %d workers: median env steps to solve", m, n), Value: median(steps), N: len(steps), Unit: "steps"})
			if len(waiting) > 0 {
				slices.Sort(waiting)
				out.Metrics = append(out.Metrics, Metric{Name: fmt.Sprintf("%s, %d workers: learner's time waiting for samples", m, n),
					Value: 100 * median(waiting), N: len(waiting), Unit: "%",
					Note: "the rest is learning and sending weights (median over seeds)"})
			}
		}
		fig.Series = append(fig.Series, s)
		fig.XTicks = s.X
	}
	out.Figures = []plots.Figure{fig}
	out.Notes = append(out.Notes, "Each run starts a fresh embedded node; wall time counts from the first rollout request to the evaluation that "+
		"reached the target (worker start-up included). The machine has 2 cores shared with the driver, so 2 workers cannot give 2×.")
	return out
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
