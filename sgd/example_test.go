package sgd_test

import (
	"context"
	"fmt"

	"manta/core"
	"manta/sgd"
)

// Two replicas train an MNIST-shaped classifier on their shards of a
// synthetic task, summing their gradients with a ring allreduce; they
// end where one process training on the whole batch does.
func Example() {
	c, err := core.Init(core.Config{})
	if err != nil {
		panic(err)
	}
	defer c.Shutdown()
	cfg := sgd.Config{Workers: 2, Batch: 128, Steps: 20, Hidden: []int{64}, Inputs: 196, Classes: 10, Samples: 2048}
	res, err := sgd.Train(context.Background(), cfg)
	if err != nil {
		panic(err)
	}
	local, _ := sgd.TrainLocal(cfg)
	fmt.Printf("loss %.2f → %.2f, one process %.2f → %.2f\n", res.Loss[0], res.Loss[len(res.Loss)-1], local.Loss[0], local.Loss[len(local.Loss)-1])
	// Output: loss 2.30 → 2.24, one process 2.30 → 2.24
}
