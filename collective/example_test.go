package collective_test

import (
	"context"
	"fmt"

	"manta/collective"
	"manta/core"
)

// trainer is a data-parallel replica: it computes gradients and averages
// them with the other replicas.
type trainer struct{ rank int }

var (
	// A member type must let MinConcurrency calls run at once.
	trainerType = core.RegisterActor1("example.trainer", func(rank int) (*trainer, error) { return &trainer{rank}, nil },
		core.WithMaxConcurrency(collective.MinConcurrency))
	trainers = collective.Enable(trainerType)

	step = core.RegisterMethod1(trainerType, "step", func(t *trainer, ctx context.Context) ([]float32, error) {
		g, err := collective.GetGroup("replicas")
		if err != nil {
			return nil, err
		}
		grads := []float32{float32(t.rank + 1), float32(10 * (t.rank + 1))} // this replica's gradients
		if err := collective.Allreduce(ctx, g, grads, collective.Sum); err != nil {
			return nil, err
		}
		for i := range grads {
			grads[i] /= float32(g.Size())
		}
		return grads, nil
	})
)

// Three actors form a group; each averages its gradients with the others'
// in a method of its own.
func Example() {
	cluster, err := core.Init(core.Config{Resources: map[string]float64{"CPU": 4}})
	if err != nil {
		panic(err)
	}
	defer cluster.Shutdown()
	ctx := context.Background()

	replicas := []core.Actor[trainer]{trainerType.Remote(0), trainerType.Remote(1), trainerType.Remote(2)}
	if err := trainers.CreateGroup(ctx, "replicas", replicas, collective.Options{}); err != nil {
		panic(err)
	}
	defer trainers.Destroy(ctx, "replicas", replicas)

	refs := make([]core.Ref[[]float32], len(replicas))
	for i, r := range replicas {
		refs[i] = step.Remote(r, ctx)
	}
	avg, err := core.GetAll(ctx, refs)
	fmt.Println(avg, err)
	// Output: [[2 20] [2 20] [2 20]] <nil>
}
