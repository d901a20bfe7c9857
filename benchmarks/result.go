package benchmarks

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"manta/internal/atomicfile"
	"manta/plots"
)

// Status is how an experiment's run ended.
type Status string

const (
	StatusOK       Status = "ok"
	StatusFailed   Status = "failed"
	StatusNotBuilt Status = "not built"
)

// Metric is one measured number.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	// Err is one standard deviation over N repeated runs (0: one run).
	Err  float64 `json:"err,omitempty"`
	N    int     `json:"n,omitempty"`
	Unit string  `json:"unit"`
	// Claim is the id of the paper.json claim this is compared with; the
	// runner fills Paper, Source and Ratio from it. Value must then be in
	// the claim's unit.
	Claim string `json:"claim,omitempty"`
	// Paper is the compared value, from Claim or set directly (with
	// Source) for references outside the paper, such as Ray 2.48's
	// published microbenchmark.
	Paper  *float64 `json:"paper,omitempty"`
	Source string   `json:"source,omitempty"`
	// Ratio is Value / Paper.
	Ratio *float64 `json:"ratio,omitempty"`
	// Headline metrics appear in REPORT.md's summary table.
	Headline bool   `json:"headline,omitempty"`
	Note     string `json:"note,omitempty"`
}

// Result is one experiment's results/<id>.json.
type Result struct {
	ID       string         `json:"id"`
	Title    string         `json:"title"`
	Paper    string         `json:"paper"`
	State    State          `json:"state"`
	Status   Status         `json:"status"`
	Error    string         `json:"error,omitempty"`
	Scale    Scale          `json:"scale"`
	Started  time.Time      `json:"started"`
	Seconds  float64        `json:"seconds"`
	Machine  Machine        `json:"machine"`
	Setup    string         `json:"setup_differences"`
	Claims   []Claim        `json:"paper_claims,omitempty"`
	Metrics  []Metric       `json:"metrics,omitempty"`
	Figures  []plots.Figure `json:"figures,omitempty"`
	Files    []string       `json:"files,omitempty"` // rendered figures, relative to the output directory
	Notes    []string       `json:"notes,omitempty"`
	Data     any            `json:"data,omitempty"`
	Duration time.Duration  `json:"-"`
}

// resolve fills each metric's paper value and ratio from its claim.
func resolve(ms []Metric, paper *PaperData) error {
	for i := range ms {
		m := &ms[i]
		if m.Claim != "" {
			c, ok := paper.Claim(m.Claim)
			if !ok {
				return fmt.Errorf("metric %q names unknown claim %q", m.Name, m.Claim)
			}
			v := c.Value
			m.Paper, m.Source = &v, c.Cite()
		}
		if m.Paper != nil && *m.Paper != 0 && !math.IsNaN(m.Value) {
			r := m.Value / *m.Paper
			m.Ratio = &r
		}
	}
	return nil
}

// writeJSON writes v to path through a temporary file and a rename.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'))
}

// meanStd returns the mean and the sample standard deviation.
func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return math.NaN(), 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)-1))
}
