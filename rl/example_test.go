package rl_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"

	"manta/core"
	"manta/rl"
)

// ES solves CartPole in well under a second on two worker actors; the
// same seed and worker count give the same run.
func Example() {
	cluster, err := core.Init(core.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Shutdown()
	cfg := rl.ESDefaults("CartPole-v1")
	cfg.Workers, cfg.Seed, cfg.NoiseSize = 2, 1, 1<<20
	res, err := rl.TrainES(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Algo, res.Env, "solved:", res.Solved)
	// Output: es CartPole-v1 solved: true
}

// An MLP's parameters are one slice; Forward runs a batch.
func ExampleMLP() {
	m, err := rl.NewMLP(4, 16, 2)
	if err != nil {
		log.Fatal(err)
	}
	p := make([]float64, m.NumParams())
	m.InitOrthogonal(p, rand.New(rand.NewPCG(1, 2)), 1)
	ws := m.NewWorkspace(3)
	out := m.Forward(p, make([]float64, 3*4), 3, ws)
	fmt.Println(m.NumParams(), len(out), out[0])
	// Output: 114 6 0
}
