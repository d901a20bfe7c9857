package micro

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"manta/core"
)

// gate is an actor whose Wait call blocks until Open is called: the
// dependency that keeps a million tasks queued while they are measured.
type gate struct{ open chan struct{} }

var (
	gateActor = core.RegisterActor0("micro.Gate", func() (*gate, error) { return &gate{open: make(chan struct{})}, nil },
		core.WithMaxConcurrency(2))
	gateWait = core.RegisterMethod0(gateActor, "Wait", func(g *gate) (int, error) { <-g.open; return 0, nil })
	gateOpen = core.RegisterMethod0(gateActor, "Open", func(g *gate) (int, error) { close(g.open); return 0, nil })

	addOne = core.Register1("micro.addOne", func(x int) (int, error) { return x + 1, nil })
)

// QueuedMemory submits n tasks that all wait on one unfinished dependency
// and returns the driver's heap growth in bytes while they are queued,
// then releases them and checks every one ran. The baseline is the heap
// taken by the same n calls queued in a Go channel of {function, argument}
// records, the least a queue of calls can take in Go.
func QueuedMemory(ctx context.Context, n int) (manta, baseline float64, err error) {
	baseline = queuedBaseline(n)

	g := gateActor.Remote()
	dep := gateWait.Remote(g)
	before := heapInUse()
	refs := make([]core.Ref[int], n)
	for i := range refs {
		refs[i] = addOne.Remote(dep)
	}
	manta = float64(heapInUse()) - float64(before)
	if _, err := gateOpen.Remote(g).Get(ctx); err != nil {
		return 0, 0, err
	}
	vals, err := core.GetAll(ctx, refs)
	if err != nil {
		return 0, 0, err
	}
	for i, v := range vals {
		if v != 1 {
			return 0, 0, fmt.Errorf("queued task %d returned %d, want 1", i, v)
		}
	}
	return manta, baseline, g.Kill()
}

func queuedBaseline(n int) float64 {
	type queuedCall struct {
		fn  func(int) int
		arg int
	}
	// Everything made here stays live, so the bytes allocated are the
	// queue's size; a heap difference would also count the collection of
	// garbage other rows left, and could come out negative.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	queue := make(chan queuedCall, n)
	for i := range n {
		queue <- queuedCall{fn: func(x int) int { return x + 1 }, arg: i}
	}
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(queue)
	return float64(after.TotalAlloc - before.TotalAlloc)
}

// heapInUse is the heap in use once it settles. A collection finds the
// references earlier rows dropped, but the node's records they held are
// freed only when their cleanups have run, after it; measured before
// that, the "before" reading held them and the difference came out
// negative. So it collects until two readings agree within 1%.
func heapInUse() uint64 {
	var last uint64
	for range 20 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if last > 0 && m.HeapInuse <= last+last/100 && m.HeapInuse+last/100 >= last {
			return m.HeapInuse
		}
		last = m.HeapInuse
		time.Sleep(20 * time.Millisecond) // for the cleanups
	}
	return last
}
