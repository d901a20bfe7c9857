package collective_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"manta/collective"
	"manta/core"
)

// loop runs iters allreduces of n float32s at a member and returns the
// heap allocations it made per allreduce.
var loop = core.RegisterMethod4(memberType, "loop", func(_ *member, ctx context.Context, group string, n, iters int) (float64, error) {
	g, err := collective.GetGroup(group)
	if err != nil {
		return 0, err
	}
	buf := make([]float32, n)
	if err := collective.Allreduce(ctx, g, buf, collective.Sum); err != nil { // warm
		return 0, err
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range iters {
		if err := collective.Allreduce(ctx, g, buf, collective.Sum); err != nil {
			return 0, err
		}
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(max(1, iters)), nil
})

// BenchmarkAllreduce is an allreduce of float32 buffers among members on
// one node, round the ring and, for a buffer of at most
// DefaultDirectBytes, in one round: bytes/s is the buffer's size over the
// time of one allreduce; member-allocs/op counts the heap allocations of
// a member's process per allreduce (allocs/op is the driver's, which only
// waits).
func BenchmarkAllreduce(b *testing.B) {
	for _, size := range []int{2, 4} {
		// 64 KiB is a small model's gradient (PPO's learner actors sum one
		// per minibatch): latency, not bandwidth.
		for _, kb := range []int{64, 1 << 10, 16 << 10, 64 << 10} {
			algos := []string{"ring"}
			if kb<<10 <= collective.DefaultDirectBytes {
				algos = append(algos, "direct")
			}
			for _, algo := range algos {
				benchAllreduce(b, size, kb, algo)
			}
		}
	}
}

func benchAllreduce(b *testing.B, size, kb int, algo string) {
	o := collective.Options{}
	if algo == "ring" {
		o.DirectBytes = -1
	}
	b.Run(fmt.Sprintf("members=%d/KiB=%d/%s", size, kb, algo), func(b *testing.B) {
		c, err := core.Init(core.Config{Resources: map[string]float64{"CPU": float64(size + 1)}})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Shutdown()
		ctx := context.Background()
		actors := make([]core.Actor[member], size)
		for i := range actors {
			actors[i] = memberType.Remote()
		}
		if err := members.CreateGroup(ctx, "bench", actors, o); err != nil {
			b.Fatal(err)
		}
		n := kb << 10 / 4
		b.SetBytes(int64(n * 4))
		b.ReportAllocs()
		b.ResetTimer()
		refs := make([]core.Ref[float64], size)
		for i, a := range actors {
			refs[i] = loop.Remote(a, ctx, "bench", n, b.N)
		}
		allocs, err := core.GetAll(ctx, refs)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(allocs[0], "member-allocs/op")
	})
}
