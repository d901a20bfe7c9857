package sims

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"testing"
)

// TestRNGMatchesNumPy checks the SeedSequence + PCG64 port against raw
// draws recorded from NumPy (testdata/rng.json).
func TestRNGMatchesNumPy(t *testing.T) {
	var ref struct {
		Draws []struct {
			Seed    string
			Uint64  []string
			Uniform []float64
			Random  []float64
			Mixed   []float64
		}
	}
	b, err := os.ReadFile("testdata/rng.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	for _, d := range ref.Draws {
		seed, err := strconv.ParseUint(d.Seed, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		r := seedRNG(seed)
		for i, s := range d.Uint64 {
			want, _ := strconv.ParseUint(s, 10, 64)
			if got := r.uint64(); got != want {
				t.Fatalf("seed %d: uint64 #%d = %d, want %d", seed, i, got, want)
			}
		}
		for i, want := range d.Uniform {
			if got := r.uniform(-0.05, 0.05); got != want {
				t.Fatalf("seed %d: uniform #%d = %v, want %v", seed, i, got, want)
			}
		}
		for i, want := range d.Random {
			if got := r.float64(); got != want {
				t.Fatalf("seed %d: random #%d = %v, want %v", seed, i, got, want)
			}
		}
		mixed := []float64{
			float64(r.integers(5, 10)), r.uniform(-1, 1), float64(r.integers(5, 10)),
			float64(r.integers(5, 10)), r.float64(), float64(r.integers(3, 5)),
			float64(r.integers(0, 1000003)), float64(r.integers(1, 3)),
		}
		if !slices.Equal(mixed, d.Mixed) {
			t.Fatalf("seed %d: integers/uniform mix %v, want %v", seed, mixed, d.Mixed)
		}
	}
}
