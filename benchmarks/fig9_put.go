package benchmarks

import (
	"context"
	"time"

	"manta/core"
)

// putFigure9 is Figure 9 through core.Put, the runtime's put path, from
// goroutines of the driver: values above core's inline threshold go
// through the shared-memory store, smaller ones into the node's memory.
func putFigure9(ctx context.Context, sizes []int64, threads []int, d time.Duration) ([]fig9Point, error) {
	return fig9Sweep(ctx, sizes, threads, d, func(_ int, _ int64, src []byte) error {
		_, err := core.Put(src)
		return err
	})
}
