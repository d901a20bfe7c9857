package rl

import (
	"context"
	"testing"
)

// The full training runs, as benchmarks (one run each; -benchtime 1x):
//
//	go test -run '^$' -bench Solve -benchtime 1x -timeout 30m ./rl/
//
// Each reports wall seconds, env steps and the final evaluation mean
// (over 100 greedy episodes) of one seed on 2 workers.

func benchSolve(b *testing.B, run func(ctx context.Context) (*Result, error)) {
	c := startBenchCluster(b)
	defer c()
	var res *Result
	for b.Loop() {
		var err error
		if res, err = run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(res.WallS, "wall_s")
	b.ReportMetric(float64(res.EnvSteps), "env_steps")
	b.ReportMetric(res.MeanReturn, "return")
	solved := 0.0
	if res.Solved {
		solved = 1
	}
	b.ReportMetric(solved, "solved")
}

func ppoBench(env string) func(*testing.B) {
	return func(b *testing.B) {
		cfg := PPODefaults(env)
		cfg.Seed = 1
		benchSolve(b, func(ctx context.Context) (*Result, error) { return TrainPPO(ctx, cfg) })
	}
}

func esBench(env string) func(*testing.B) {
	return func(b *testing.B) {
		cfg := ESDefaults(env)
		cfg.Seed = 1
		benchSolve(b, func(ctx context.Context) (*Result, error) { return TrainES(ctx, cfg) })
	}
}

func a2cBench(env string) func(*testing.B) {
	return func(b *testing.B) {
		cfg := A2CDefaults(env)
		cfg.Seed = 1
		benchSolve(b, func(ctx context.Context) (*Result, error) { return TrainA2C(ctx, cfg) })
	}
}

func BenchmarkSolvePPOCartPole(b *testing.B)              { ppoBench("CartPole-v1")(b) }
func BenchmarkSolvePPOPendulum(b *testing.B)              { ppoBench("Pendulum-v1")(b) }
func BenchmarkSolvePPOAcrobot(b *testing.B)               { ppoBench("Acrobot-v1")(b) }
func BenchmarkSolvePPOMountainCarContinuous(b *testing.B) { ppoBench("MountainCarContinuous-v0")(b) }
func BenchmarkSolvePPOLunarLanderContinuous(b *testing.B) { ppoBench("LunarLanderContinuous-v3")(b) }
func BenchmarkSolvePPOBipedalWalker(b *testing.B)         { ppoBench("BipedalWalker-v3")(b) }
func BenchmarkSolveESCartPole(b *testing.B)               { esBench("CartPole-v1")(b) }
func BenchmarkSolveESMountainCarContinuous(b *testing.B)  { esBench("MountainCarContinuous-v0")(b) }
func BenchmarkSolveESLunarLanderContinuous(b *testing.B)  { esBench("LunarLanderContinuous-v3")(b) }
func BenchmarkSolveESBipedalWalker(b *testing.B)          { esBench("BipedalWalker-v3")(b) }
func BenchmarkSolveA2CCartPole(b *testing.B)              { a2cBench("CartPole-v1")(b) }
