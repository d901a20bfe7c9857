package benchmarks_test

import (
	"fmt"

	"manta/benchmarks"
)

// The registry lists every figure and table of the paper's evaluation with
// how much of it manta reproduces; `manta bench --list` prints it.
func Example() {
	for _, e := range benchmarks.All() {
		if e.State != benchmarks.NotBuilt {
			fmt.Printf("%s: %s\n", e.ID, e.State)
		}
	}
	c, _ := benchmarks.Paper().Claim("table4.ray_256cpu")
	fmt.Printf("%s: %.0f %s\n", c.Cite(), c.Value, c.Unit)
	// Output:
	// micro: reproduced
	// fig8a: reproduced
	// fig8b: partial
	// fig9: reproduced
	// fig10a: reproduced
	// fig10b: reproduced
	// fig11a: reproduced
	// fig11b: reproduced
	// fig12a: reproduced
	// fig12b: reproduced
	// table3: reproduced
	// table4: reproduced
	// fig13: reproduced
	// fig14a: reproduced
	// fig14b: partial
	// Table 4, §5.2.3, p. 572: 4030000 timesteps/s
}
