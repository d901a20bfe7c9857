package sims

import (
	"fmt"
	"testing"
)

// Anchors for CartPole-v1 steps per core: Gymnasium (Python) ≈ 2.4 µs a
// step, a Rust port ≈ 0.29 µs; the Ray paper's Pendulum ran 22.3K steps/s
// per CPU. Goal: ≥ 10M steps/s per core for CartPole and Pendulum
// vectorised, with no allocations per step. Run with
//
//	go test -run '^$' -bench . -benchtime 2s ./sims/

// BenchmarkStep times Env.Step on one env, resets included.
func BenchmarkStep(b *testing.B) {
	for _, id := range IDs() {
		b.Run(id, func(b *testing.B) {
			env := mustMake(b, id)
			ad := env.ActionSpace().Dim()
			acts := randomActions(env.ActionSpace(), 1024, 1)
			if _, err := env.Reset(0); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			k := 0
			for b.Loop() {
				i := k & 1023 * ad
				k++
				if _, _, term, trunc, _ := env.Step(acts[i : i+ad]); term || trunc {
					env.Reset(NoSeed)
				}
			}
			reportSteps(b, k)
		})
	}
}

// BenchmarkVecStep times Vec.Step over N copies; one op is one batch.
// Box2D envs run at N=16 only: each copy is a whole physics world.
func BenchmarkVecStep(b *testing.B) {
	for _, id := range IDs() {
		ns := []int{16, 256, 4096}
		if _, classic := refFiles[id]; !classic {
			ns = ns[:1]
		}
		for _, n := range ns {
			b.Run(fmt.Sprintf("%s/N=%d", id, n), func(b *testing.B) {
				v, err := NewVec(id, n, NextStep)
				if err != nil {
					b.Fatal(err)
				}
				acts := randomActions(v.ActionSpace(), n, 1)
				r, te, tr := make([]float64, n), make([]bool, n), make([]bool, n)
				if _, err := v.Reset(0); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				k := 0
				for b.Loop() {
					v.Step(acts, r, te, tr)
					k++
				}
				reportSteps(b, k*n)
			})
		}
	}
}

func reportSteps(b *testing.B, steps int) {
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(steps)/s, "steps/s")
	b.ReportMetric(s*1e9/float64(steps), "ns/step")
}
