package serve

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"manta/core"
)

// sizes serves the recorder: each output is the size of its batch.
var sizes = Register("serve.test.sizes", func() (Model, error) { return &recorder{size: 2}, nil })

// inferTask is a client task of a replica.
var inferTask = core.Register3("serve.test.infer", func(ctx context.Context, replica core.Actor[Replica], states []float32) ([]float32, error) {
	return sizes.Infer(ctx, replica, states)
})

func startCluster(t *testing.T) {
	t.Helper()
	c, err := core.Init(core.Config{Resources: map[string]float64{"CPU": 4}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown() })
}

// TestReplicaBatchesCallsOfDifferentClients: four client tasks call a
// replica that waits an hour for a batch of four; all four are answered
// together, from one batch.
func TestReplicaBatchesCallsOfDifferentClients(t *testing.T) {
	startCluster(t)
	ctx := t.Context()
	replica, err := sizes.Deploy(ctx, Policy{MaxBatch: 4, MaxWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	refs := make([]core.Ref[[]float32], 4)
	for i := range refs {
		refs[i] = inferTask.Remote(ctx, replica, state(float32(i), 2))
	}
	outs, err := core.GetAll(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	for i, out := range outs {
		if !slices.Equal(out, []float32{4}) {
			t.Errorf("client %d: %v, want a batch of 4", i, out)
		}
	}
}

// TestReplicaTimeoutFailsOnlyItsOwnCall: a call whose deadline passes
// while it waits for its batch gets ErrTimeout; the call that waited
// beside it is answered once the batch fills, without it.
func TestReplicaTimeoutFailsOnlyItsOwnCall(t *testing.T) {
	startCluster(t)
	ctx := t.Context()
	replica, err := sizes.Deploy(ctx, Policy{MaxBatch: 3, MaxWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	patient := inferTask.Remote(ctx, replica, state(1, 2))
	hurried, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := sizes.Infer(hurried, replica, state(2, 2)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("hurried call: %v, want ErrTimeout", err)
	}
	late := []core.Ref[[]float32]{inferTask.Remote(ctx, replica, state(3, 2)), inferTask.Remote(ctx, replica, state(4, 2))}
	outs, err := core.GetAll(ctx, append(late, patient))
	if err != nil {
		t.Fatal(err)
	}
	for i, out := range outs {
		if !slices.Equal(out, []float32{3}) {
			t.Errorf("call %d: %v, want a batch of the three calls still waiting", i, out)
		}
	}
}

func TestReplicaBadInput(t *testing.T) {
	startCluster(t)
	ctx := t.Context()
	replica, err := sizes.Deploy(ctx, Policy{MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sizes.Infer(ctx, replica, []float32{1, 2, 3}); !errors.Is(err, ErrBadInput) {
		t.Fatalf("a state and a half: %v", err)
	}
	if out, err := sizes.Infer(ctx, replica, []float32{1, 2}); err != nil || !slices.Equal(out, []float32{1}) {
		t.Fatalf("then a good call: %v %v", out, err)
	}
	if _, err := sizes.Deploy(ctx, Policy{}); !errors.Is(err, ErrBadInput) {
		t.Fatalf("empty policy: %v", err)
	}
}
