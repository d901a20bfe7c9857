package serve_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"manta/core"
	"manta/serve"
)

// stateSize is the example's state: 256 float32 values (1 KB).
const stateSize = 256

// newPolicyNet loads the example's model: a Residual network whose
// batches take no extra time.
func newPolicyNet() (serve.Model, error) { return serve.NewResidual(stateSize, 0, 7) }

// policyNet is registered at package level, so worker processes know it.
var policyNet = serve.Register("example.policyNet", newPolicyNet)

// act is a client task: it queries the model actor it is given.
var act = core.Register3("example.act", func(ctx context.Context, replica core.Actor[serve.Replica], state []float32) ([]float32, error) {
	return policyNet.Infer(ctx, replica, state)
})

// A model served by an actor to client tasks, and the same model and
// batching behind the REST baseline.
func Example() {
	cluster, err := core.Init(core.Config{Resources: map[string]float64{"CPU": 2}})
	if err != nil {
		panic(err)
	}
	defer cluster.Shutdown()
	ctx := context.Background()
	policy := serve.Policy{MaxBatch: 8, MaxWait: 2 * time.Millisecond}

	replica, err := policyNet.Deploy(ctx, policy)
	if err != nil {
		panic(err)
	}
	state := make([]float32, stateSize)
	for i := range state {
		state[i] = float32(i%7) / 7
	}
	viaActor, err := act.Remote(ctx, replica, state).Get(ctx)
	fmt.Println(len(viaActor), err)

	model, err := newPolicyNet()
	if err != nil {
		panic(err)
	}
	server, err := serve.NewServer(model, policy, serve.ServerConfig{}) // loopback
	if err != nil {
		panic(err)
	}
	defer server.Close()
	client := serve.HTTPClient{URL: server.URL(), StateSize: stateSize}
	viaREST, err := client.Infer(ctx, state)
	fmt.Println(slices.Equal(viaActor, viaREST), err)
	// Output:
	// 64 <nil>
	// true <nil>
}
