package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"manta/plots"
)

// State says how much of a paper experiment manta reproduces.
type State string

const (
	// Reproduced: the paper's workload runs (scaled down as Setup says).
	Reproduced State = "reproduced"
	// Partial: only part of the figure's workload can be built yet.
	Partial State = "partial"
	// NotBuilt: the capability the figure measures has not landed; the
	// experiment is listed, never faked.
	NotBuilt State = "not yet built"
)

// Scale picks an experiment's size.
type Scale string

const (
	// Quick runs everything together in a few minutes on 2 cores.
	Quick Scale = "quick"
	// Full runs longer, with more repetitions and every worker count the
	// machine's cores allow.
	Full Scale = "full"
)

// ParseScale accepts "quick" or "full".
func ParseScale(s string) (Scale, error) {
	switch Scale(s) {
	case Quick, Full:
		return Scale(s), nil
	}
	return "", fmt.Errorf("unknown scale %q (want quick or full)", s)
}

// Experiment is one figure or table of the paper's evaluation (or the
// microbenchmark table). An experiment is one file: a package-level
// variable listed in registry below.
type Experiment struct {
	ID    string // "table4"
	Title string
	// Paper names what it reproduces: "Table 4 (§5.2.3)".
	Paper string
	State State
	// Setup says exactly what differs from the paper's setup (for
	// REPORT.md); for NotBuilt experiments, what is missing.
	Setup string
	// Estimates of the run time, for progress output.
	QuickEstimate, FullEstimate time.Duration
	// Run measures; nil for NotBuilt experiments. It must return when ctx
	// is done and leave no cluster running.
	Run func(ctx context.Context, env *Env) (*Outcome, error)
}

// Estimate is the expected run time at a scale.
func (e *Experiment) Estimate(s Scale) time.Duration {
	if e.Run == nil {
		return 0
	}
	if s == Full {
		return e.FullEstimate
	}
	return e.QuickEstimate
}

// Outcome is what a run measured.
type Outcome struct {
	// Metrics are the numbers, headline ones first; a metric naming a
	// paper claim gets the paper's value and the ratio filled in.
	Metrics []Metric
	// Figures are drawn by the runner (PNG and SVG) into the output
	// directory and stored in the result file.
	Figures []plots.Figure
	// Notes go to REPORT.md under the experiment, one paragraph each.
	Notes []string
	// Data is the raw numbers (every repetition), stored in the result.
	Data any
}

// Env is an experiment's view of the run.
type Env struct {
	Scale Scale
	// Manta is Options.Manta: the binary for node processes (see
	// mantaBinary).
	Manta string
	// Out is Options.Out: where peers' results from a `--peers` run are
	// (peerRayPath); empty in tests.
	Out string
	// Seeds is Options.Seeds: when positive, at most that many seeds a
	// point.
	Seeds    int
	progress func(frac float64, status string)
}

// Progress reports how far the experiment is (0 to 1) and what it is doing.
func (e *Env) Progress(frac float64, format string, args ...any) {
	if e.progress != nil {
		e.progress(min(max(frac, 0), 1), fmt.Sprintf(format, args...))
	}
}

// registry is every experiment, in the order of the paper's evaluation,
// the microbenchmark table first. Add a figure by writing its file (a
// package-level Experiment) and listing it here.
var registry = []*Experiment{
	&microExperiment,
	&fig8a, &fig8bExperiment, &fig9, &fig10a, &fig10b, &fig11a, &fig11b, &fig12a,
	&fig12bExperiment,
	&table3,
	&table4Experiment,
	&fig13, &fig14a, &fig14b,
}

// All returns every registered experiment, in order.
func All() []Experiment {
	out := make([]Experiment, len(registry))
	for i, e := range registry {
		out[i] = *e
	}
	return out
}

// ErrUnknownExperiment is wrapped by Select's error for an unknown id.
var ErrUnknownExperiment = errors.New("unknown experiment")

// Select returns the experiments with the given ids, in registry order;
// no ids selects all. An unknown id is an error that lists the known ones.
func Select(exps []Experiment, ids []string) ([]Experiment, error) {
	if len(ids) == 0 {
		return exps, nil
	}
	want := map[string]bool{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		found := false
		for _, e := range exps {
			if e.ID == id {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w %q; known ids: %s", ErrUnknownExperiment, id, strings.Join(IDs(exps), ", "))
		}
		want[id] = true
	}
	var out []Experiment
	for _, e := range exps {
		if want[e.ID] {
			out = append(out, e)
		}
	}
	return out, nil
}

// IDs lists the experiments' ids.
func IDs(exps []Experiment) []string {
	ids := make([]string, len(exps))
	for i, e := range exps {
		ids[i] = e.ID
	}
	return ids
}
