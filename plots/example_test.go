package plots_test

import (
	"fmt"
	"os"
	"path/filepath"

	"manta/plots"
)

// A log-log scaling plot with error bars from repeated runs and the
// paper's numbers overlaid.
func Example() {
	dir, err := os.MkdirTemp("", "plots-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	f := plots.Figure{
		Name:   "scaling",
		Kind:   plots.KindLines,
		Title:  "Pendulum timesteps per second",
		XLabel: "workers (CPUs)",
		YLabel: "timesteps/s",
		LogX:   true,
		LogY:   true,
		XTicks: []float64{1, 2, 16, 256},
		Series: []plots.Series{
			{Label: "manta, async", X: []float64{1, 2}, Y: []float64{190e3, 370e3}, Err: []float64{4e3, 9e3}},
			{Label: "Ray, async", X: []float64{1, 16, 256}, Y: []float64{22.3e3, 290e3, 4.03e6}, Paper: true},
		},
	}
	paths, err := plots.Render(f, dir)
	if err != nil {
		panic(err)
	}
	for _, p := range paths {
		fmt.Println(filepath.Base(p))
	}
	// Output:
	// scaling.png
	// scaling.svg
}
