package benchmarks

import "testing"

// Every worker count fig14 may run (powers of two to 2 at quick scale, to
// fig14MaxWorkers at full) splits the same batch, none of it rounded away
// and no worker left with none (which the trainers would fill with their
// defaults): the algorithm is the same and only its distribution changes.
func TestFig14SameBatchAtEveryWorkerCount(t *testing.T) {
	for _, s := range []Scale{Quick, Full} {
		most := 2
		if s == Full {
			most = fig14MaxWorkers
		}
		var ppoBatch, esPairs int
		for n := 1; n <= most; n *= 2 {
			p := fig14bConfig(s, "bsp", n, 1)
			if p.Workers != n || p.EnvsPerWorker < 1 || p.Steps < 1 {
				t.Fatalf("%s, %d workers: PPO with %d workers of %d copies × %d steps", s, n, p.Workers, p.EnvsPerWorker, p.Steps)
			}
			e := fig14aConfig(n, 1)
			if e.Workers != n || e.Pairs < 1 {
				t.Fatalf("%d workers: ES with %d workers of %d pairs", n, e.Workers, e.Pairs)
			}
			if n == 1 {
				ppoBatch, esPairs = p.Workers*p.EnvsPerWorker*p.Steps, e.Workers*e.Pairs
			}
			if b := p.Workers * p.EnvsPerWorker * p.Steps; b != ppoBatch {
				t.Errorf("%s, %d workers: PPO's batch is %d steps, %d at 1 worker", s, n, b, ppoBatch)
			}
			if pairs := e.Workers * e.Pairs; pairs != esPairs {
				t.Errorf("%d workers: ES evaluates %d pairs an iteration, %d at 1 worker", n, pairs, esPairs)
			}
		}
	}
}

// Options.Seeds caps the seeds a point runs, never adds any.
func TestFig14Seeds(t *testing.T) {
	for _, c := range []struct {
		env  Env
		want int
	}{{Env{Scale: Quick}, 3}, {Env{Scale: Full}, 5}, {Env{Scale: Full, Seeds: 1}, 1}, {Env{Scale: Quick, Seeds: 9}, 3}} {
		if got := fig14Seeds(&c.env); len(got) != c.want || got[0] != 1 {
			t.Errorf("%s scale, Seeds %d: seeds %v, want the first %d", c.env.Scale, c.env.Seeds, got, c.want)
		}
	}
}
