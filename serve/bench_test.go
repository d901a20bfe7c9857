package serve

import (
	"context"
	"runtime"
	"testing"
	"time"

	"manta/core"
)

// benchStateSize is a 4 KB state, the paper's small workload.
const benchStateSize = 1024

// benchNet is Residual with no extra time per batch: the benchmarks
// measure the serving path, not the model's stated cost.
var benchNet = Register("serve.bench.residual", func() (Model, error) { return NewResidual(benchStateSize, 0, 1) })

var benchPolicy = Policy{MaxBatch: 64, MaxWait: 0}

// benchClients runs call from 32 goroutines at once, one 4 KB state per
// call, so batches form.
func benchClients(b *testing.B, call func(ctx context.Context, states []float32) ([]float32, error)) {
	b.ReportAllocs()
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		in := state(0.25, benchStateSize)
		for pb.Next() {
			if _, err := call(context.Background(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBatcher is the shared batching path alone, in process.
func BenchmarkBatcher(b *testing.B) {
	m, err := NewResidual(benchStateSize, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	batcher, err := NewBatcher(m, benchPolicy, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer batcher.Close()
	benchClients(b, batcher.Do)
}

// BenchmarkServer is the REST baseline's path: JSON over loopback HTTP.
func BenchmarkServer(b *testing.B) {
	m, err := NewResidual(benchStateSize, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewServer(m, benchPolicy, ServerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := HTTPClient{URL: s.URL(), StateSize: benchStateSize}
	benchClients(b, c.Infer)
}

// BenchmarkReplica is the model actor's path: a call from the driver to
// the replica's process through the node, batched there.
func BenchmarkReplica(b *testing.B) {
	cluster, err := core.Init(core.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	replica, err := benchNet.Deploy(ctx, benchPolicy)
	if err != nil {
		b.Fatal(err)
	}
	benchClients(b, func(ctx context.Context, states []float32) ([]float32, error) {
		return benchNet.Infer(ctx, replica, states)
	})
}
