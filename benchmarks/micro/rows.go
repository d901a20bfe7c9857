package micro

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"manta/core"
)

// Row is one line of the microbenchmark table.
type Row struct {
	Name string
	Unit string
	Ray  float64 // Ray 2.48's published figure in Unit; 0 where it publishes none
	// Baseline says what the baseline does where it is not the same work
	// as goroutines and channels (or memcpy) in one process.
	Baseline string
	// batch runs one unit of work batch times in manta and returns how
	// many operations it did.
	manta func(ctx context.Context, batch int) (int, error)
	// timed, if set, is used instead of manta by a row whose operations
	// need preparing that is not measured: it also returns the time to
	// count.
	timed func(ctx context.Context, batch int) (int, time.Duration, error)
	// baseline does the same work with goroutines and channels.
	baseline func(batch int) int
	batch    int
	// perSecond scales operations per second into Unit (1e-9: bytes to GB);
	// zero means 1.
	perSecond float64
}

var (
	noop = core.Register0("micro.noop", func() (int, error) { return 0, nil })

	sink     = core.RegisterActor0("micro.Sink", func() (*sinkState, error) { return &sinkState{}, nil })
	sinkCall = core.RegisterMethod0(sink, "Call", func(s *sinkState) (int, error) { s.calls++; return 0, nil })

	concurrentSink     = core.RegisterActor0("micro.ConcurrentSink", func() (*sinkState, error) { return &sinkState{}, nil }, core.WithMaxConcurrency(16))
	concurrentSinkCall = core.RegisterMethod0(concurrentSink, "Call", func(s *sinkState) (int, error) { return 0, nil })

	// taskClient is a client, an actor as in Ray's microbenchmark: its
	// SubmitBatch submits n tasks and waits for them.
	taskClient       = core.RegisterActor0("micro.TaskClient", func() (*sinkState, error) { return &sinkState{}, nil })
	taskClientSubmit = core.RegisterMethod1(taskClient, "SubmitBatch", func(_ *sinkState, n int) (int, error) {
		refs := make([]core.Ref[int], n)
		for i := range refs {
			refs[i] = noop.Remote()
		}
		_, err := core.GetAll(context.Background(), refs)
		return n, err
	})

	// callActorBatch is a client calling its own actor n times.
	callActorBatch = core.Register2("micro.callActorBatch", func(h core.Actor[sinkState], n int) (int, error) {
		refs := make([]core.Ref[int], n)
		for i := range refs {
			refs[i] = sinkCall.Remote(h)
		}
		_, err := core.GetAll(context.Background(), refs)
		return n, err
	}, core.WithResources(map[string]float64{"CPU": 0}))
)

type sinkState struct{ calls int }

var (
	// sinkCallArg is a call with an argument passed by reference (a Put's),
	// which the node resolves before the call runs.
	sinkCallArg = core.RegisterMethod1(sink, "CallArg", func(s *sinkState, x int) (int, error) { s.calls++; return x, nil })

	// callActorsBatch is a client calling each of its actors n times, as
	// Ray's Client.small_value_batch does.
	callActorsBatch = core.Register2("micro.callActorsBatch", func(hs []core.Actor[sinkState], n int) (int, error) {
		refs := make([]core.Ref[int], 0, n*len(hs))
		for _, h := range hs {
			for range n {
				refs = append(refs, sinkCall.Remote(h))
			}
		}
		_, err := core.GetAll(context.Background(), refs)
		return len(refs), err
	}, core.WithResources(map[string]float64{"CPU": 0}))

	// callActorBatchArg is a client that puts a value and calls its actor n
	// times with it, as Ray's Client.small_value_batch_arg does.
	callActorBatchArg = core.Register2("micro.callActorBatchArg", func(h core.Actor[sinkState], n int) (int, error) {
		x, err := core.Put(0)
		if err != nil {
			return 0, err
		}
		refs := make([]core.Ref[int], n)
		for i := range refs {
			refs[i] = sinkCallArg.Remote(h, x)
		}
		_, err = core.GetAll(context.Background(), refs)
		return n, err
	}, core.WithResources(map[string]float64{"CPU": 0}))

	// putRefs puts n small values and returns their references: an
	// object containing n references, as Ray's
	// create_object_containing_ref.
	putRefs = core.Register1("micro.putRefs", func(n int) ([]core.Ref[int], error) {
		refs := make([]core.Ref[int], n)
		for i := range refs {
			var err error
			if refs[i], err = core.Put(1); err != nil {
				return nil, err
			}
		}
		return refs, nil
	})
)

// containedRefs is the number of references in the object the
// get_object_containing row reads.
const containedRefs = 10000

// largeArgElems is the size of the large-argument row's stored argument:
// 64 MiB of float64, put once and read in place by every task.
const largeArgElems = 8 << 20

var (
	largeArg = sync.OnceValue(func() []float64 {
		xs := make([]float64, largeArgElems)
		for i := range xs {
			xs[i] = float64(i % 7)
		}
		return xs
	})

	// partSum sums its part of a stored argument in place (a View
	// parameter: nothing is copied into the worker).
	partSum = core.Register3("micro.partSum", func(v *core.View[float64], lo, hi int) (float64, error) {
		return sumFloats(v.Data()[lo:hi]), nil
	})
)

func sumFloats(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// putSize is the size of one object in the gigabyte rows.
const putSize = 64 << 20

// largeValue is the value the gigabyte rows put, made once per process.
var largeValue = sync.OnceValue(func() []byte { return filled(putSize) })

var (
	// putSmall is a client putting n small values.
	putSmall = core.Register1("micro.putSmall", func(n int) (int, error) {
		for i := range n {
			if _, err := core.Put(i); err != nil {
				return 0, err
			}
		}
		return n, nil
	}, core.WithResources(map[string]float64{"CPU": 0}))

	// putLarge is a client putting n large values and dropping each, as
	// Ray's `ray.put(arr)` in a loop does; it returns bytes put.
	putLarge = core.Register1("micro.putLarge", func(n int) (int, error) {
		return putAndRelease(n)
	}, core.WithResources(map[string]float64{"CPU": 0}))
)

// partOf is task i's share of the large argument, split n ways.
func partOf(i, n int) (lo, hi int) { return i * largeArgElems / n, (i + 1) * largeArgElems / n }

// putAndRelease puts the large value n times, releasing each reference at
// once (the object is freed and its memory reused by the next put); it
// returns the bytes put.
func putAndRelease(n int) (int, error) {
	b := largeValue()
	for range n {
		r, err := core.Put(b)
		if err != nil {
			return 0, err
		}
		r.Release()
	}
	return n * putSize, nil
}

// Rows returns the table for a node with the given number of clients
// (Ray's "n" in its multi-client rows; here the CPU count).
func Rows(clients int) []Row {
	var largeRef core.Ref[[]float64]
	var actorH core.Actor[sinkState]
	var concH core.Actor[sinkState]
	var clientActors, taskClients, fanActors, argActors []core.Actor[sinkState]
	var containing core.Ref[[]core.Ref[int]]
	return []Row{
		{Name: "single_client_tasks_sync", Unit: "tasks/s", Ray: 981, batch: 1,
			manta: func(ctx context.Context, batch int) (int, error) {
				for range batch {
					if _, err := noop.Remote().Get(ctx); err != nil {
						return 0, err
					}
				}
				return batch, nil
			},
			baseline: syncBaseline},
		{Name: "single_client_tasks_async", Unit: "tasks/s", Ray: 8041, batch: 10000,
			manta:    noopBatch,
			baseline: func(batch int) int { return poolBaseline(batch, 1, clients) }},
		{Name: "multi_client_tasks_async", Unit: "tasks/s", Ray: 21230, batch: 5000,
			manta: func(ctx context.Context, batch int) (int, error) {
				return perClient(ctx, &taskClients, clients, taskClient.Remote, func(h core.Actor[sinkState]) core.Ref[int] {
					return taskClientSubmit.Remote(h, batch/clients)
				})
			},
			baseline: func(batch int) int { return poolBaseline(batch, clients, clients) }},
		{Name: "1_1_actor_calls_sync", Unit: "calls/s", Ray: 2012, batch: 1,
			manta: func(ctx context.Context, batch int) (int, error) {
				if actorH.ID().IsZero() {
					actorH = sink.Remote()
				}
				for range batch {
					if _, err := sinkCall.Remote(actorH).Get(ctx); err != nil {
						return 0, err
					}
				}
				return batch, nil
			},
			baseline: syncBaseline},
		{Name: "1_1_actor_calls_async", Unit: "calls/s", Ray: 8664, batch: 10000,
			manta: func(ctx context.Context, batch int) (int, error) {
				if actorH.ID().IsZero() {
					actorH = sink.Remote()
				}
				return actorBatch(ctx, sinkCall, actorH, batch)
			},
			baseline: func(batch int) int { return poolBaseline(batch, 1, 1) }},
		{Name: "1_1_actor_calls_concurrent", Unit: "calls/s", Ray: 5775, batch: 10000,
			manta: func(ctx context.Context, batch int) (int, error) {
				if concH.ID().IsZero() {
					concH = concurrentSink.Remote()
				}
				return actorBatch(ctx, concurrentSinkCall, concH, batch)
			},
			baseline: func(batch int) int { return poolBaseline(batch, 1, 16) }},
		{Name: "n_n_actor_calls_async", Unit: "calls/s", Ray: 27376, batch: 5000,
			manta: func(ctx context.Context, batch int) (int, error) {
				return perClient(ctx, &clientActors, clients, sink.Remote, func(h core.Actor[sinkState]) core.Ref[int] {
					return callActorBatch.Remote(h, batch/clients)
				})
			},
			baseline: func(batch int) int { return poolBaseline(batch, clients, clients) }},
		{Name: "1_n_actor_calls_async", Unit: "calls/s", Ray: 8038, batch: 5000,
			manta: func(ctx context.Context, batch int) (int, error) {
				for len(fanActors) < clients {
					fanActors = append(fanActors, sink.Remote())
				}
				return callActorsBatch.Remote(fanActors, max(1, batch/clients)).Get(ctx)
			},
			baseline: func(batch int) int { return poolBaseline(batch, 1, clients) }},
		{Name: "n_n_actor_calls_with_arg_async", Unit: "calls/s", Ray: 2759, batch: 1000,
			manta: func(ctx context.Context, batch int) (int, error) {
				return perClient(ctx, &argActors, clients, sink.Remote, func(h core.Actor[sinkState]) core.Ref[int] {
					return callActorBatchArg.Remote(h, max(1, batch/clients))
				})
			},
			baseline: func(batch int) int { return poolBaseline(batch, clients, clients) }},
		{Name: "single_client_put_calls", Unit: "puts/s", Ray: 5173, batch: 10000,
			manta: func(ctx context.Context, batch int) (int, error) {
				for i := range batch {
					if _, err := core.Put(i); err != nil {
						return 0, err
					}
				}
				return batch, nil
			},
			baseline: mapPutBaseline(1)},
		{Name: "single_client_get_calls", Unit: "gets/s", Ray: 10620, batch: 10000,
			manta: func(ctx context.Context, batch int) (int, error) {
				r, err := core.Put(7)
				if err != nil {
					return 0, err
				}
				for range batch {
					if _, err := r.Get(ctx); err != nil {
						return 0, err
					}
				}
				return batch, nil
			},
			baseline: mapGetBaseline},
		{Name: "multi_client_put_calls", Unit: "puts/s", Ray: 16526, batch: 10000,
			manta: func(ctx context.Context, batch int) (int, error) {
				refs := make([]core.Ref[int], clients)
				for i := range refs {
					refs[i] = putSmall.Remote(batch / clients)
				}
				done, err := core.GetAll(ctx, refs)
				return sum(done), err
			},
			baseline: mapPutBaseline(clients)},
		{Name: "single_client_put_gigabytes", Unit: "GB/s", Ray: 19.9, batch: 1,
			manta: func(ctx context.Context, batch int) (int, error) {
				return putAndRelease(batch)
			},
			baseline:  memcpyBaseline(1),
			perSecond: 1e-9},
		{Name: "multi_client_put_gigabytes", Unit: "GB/s", Ray: 38.1, batch: 4,
			manta: func(ctx context.Context, batch int) (int, error) {
				refs := make([]core.Ref[int], clients)
				for i := range refs {
					refs[i] = putLarge.Remote(max(1, batch/clients))
				}
				done, err := core.GetAll(ctx, refs)
				return sum(done), err
			},
			baseline:  memcpyBaseline(clients),
			perSecond: 1e-9},
		{Name: "single_client_get_object_containing_10k_refs", Unit: "gets/s", Ray: 13.37, batch: 1,
			Baseline: "a slice of 10k pointers built by another goroutine, received and copied",
			timed: func(ctx context.Context, batch int) (int, time.Duration, error) {
				if containing.ID().IsZero() {
					containing = putRefs.Remote(containedRefs)
					if _, _, err := core.Wait(ctx, []core.Ref[[]core.Ref[int]]{containing}, 1, 0); err != nil {
						return 0, 0, err
					}
				}
				start := time.Now()
				for range batch {
					refs, err := containing.Get(ctx)
					if err != nil {
						return 0, 0, err
					}
					if len(refs) != containedRefs {
						return 0, 0, fmt.Errorf("an object of %d references read back with %d", containedRefs, len(refs))
					}
					core.ReleaseAll(refs) // as Python drops them
				}
				return batch, time.Since(start), nil
			},
			baseline: refsBaseline},
		{Name: "single_client_large_arg_tasks", Unit: "tasks/s", batch: 8,
			manta: func(ctx context.Context, batch int) (int, error) {
				if largeRef.ID().IsZero() {
					var err error
					if largeRef, err = core.Put(largeArg()); err != nil {
						return 0, err
					}
				}
				refs := make([]core.Ref[float64], batch)
				for i := range refs {
					lo, hi := partOf(i, batch)
					refs[i] = partSum.Remote(largeRef, lo, hi)
				}
				_, err := core.GetAll(ctx, refs)
				return batch, err
			},
			baseline: func(batch int) int {
				xs := largeArg()
				var wg sync.WaitGroup
				for i := range batch {
					wg.Add(1)
					go func() {
						defer wg.Done()
						lo, hi := partOf(i, batch)
						sumFloats(xs[lo:hi])
					}()
				}
				wg.Wait()
				return batch
			}},
		{Name: "single_client_tasks_and_get_batch", Unit: "batches of 1000/s", Ray: 5.80, batch: 1,
			manta: func(ctx context.Context, batch int) (int, error) {
				for range batch {
					refs := make([]core.Ref[int], 1000)
					for i := range refs {
						refs[i] = noop.Remote()
					}
					if _, err := core.GetAll(ctx, refs); err != nil {
						return 0, err
					}
				}
				return batch, nil
			},
			baseline: func(batch int) int {
				for range batch {
					poolBaseline(1000, 1, clients)
				}
				return batch
			}},
		{Name: "single_client_wait_1k_refs", Unit: "rounds of 1000/s", Ray: 5.08, batch: 1,
			manta: func(ctx context.Context, batch int) (int, error) {
				for range batch {
					notReady := make([]core.AnyRef, 1000)
					for i := range notReady {
						notReady[i] = noop.Remote()
					}
					for len(notReady) > 0 {
						ready, err := core.WaitAny(ctx, notReady, 1, 0)
						if err != nil {
							return 0, err
						}
						notReady = without(notReady, ready[:1])
					}
				}
				return batch, nil
			},
			baseline: waitBaseline},
	}
}

// perClient makes one call per client, each on an actor of its own
// (made with newActor into *actors the first time), and sums the
// operations they report.
func perClient(ctx context.Context, actors *[]core.Actor[sinkState], clients int, newActor func() core.Actor[sinkState], call func(core.Actor[sinkState]) core.Ref[int]) (int, error) {
	for len(*actors) < clients {
		*actors = append(*actors, newActor())
	}
	refs := make([]core.Ref[int], clients)
	for i := range refs {
		refs[i] = call((*actors)[i])
	}
	done, err := core.GetAll(ctx, refs)
	return sum(done), err
}

func actorBatch(ctx context.Context, m *core.Method0[sinkState, int], h core.Actor[sinkState], batch int) (int, error) {
	refs := make([]core.Ref[int], batch)
	for i := range refs {
		refs[i] = m.Remote(h)
	}
	_, err := core.GetAll(ctx, refs)
	return batch, err
}

// without removes the refs at the given indexes, keeping the others' order,
// as Ray's wait returns the not-ready list.
func without(refs []core.AnyRef, drop []int) []core.AnyRef {
	out := refs[:0]
	j := 0
	for i, r := range refs {
		if j < len(drop) && drop[j] == i {
			j++
			continue
		}
		out = append(out, r)
	}
	return out
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

// mapPutBaseline stores small encoded values from `clients` goroutines in
// a sync.Map: the least an in-process object table can cost.
func mapPutBaseline(clients int) func(batch int) int {
	return func(batch int) int {
		var m sync.Map
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := c; i < batch; i += clients {
					m.Store(i, binary.AppendVarint(nil, int64(i)))
				}
			}()
		}
		wg.Wait()
		return batch
	}
}

// mapGetBaseline loads and decodes a small value from a sync.Map.
func mapGetBaseline(batch int) int {
	var m sync.Map
	m.Store(0, binary.AppendVarint(nil, 7))
	for range batch {
		v, _ := m.Load(0)
		if x, _ := binary.Varint(v.([]byte)); x != 7 {
			panic("baseline lost its value")
		}
	}
	return batch
}

// memcpyBaseline copies putSize bytes between preallocated buffers in
// `clients` goroutines at once; it returns the bytes copied.
func memcpyBaseline(clients int) func(batch int) int {
	srcs, dsts := make([][]byte, clients), make([][]byte, clients)
	for i := range srcs {
		srcs[i], dsts[i] = filled(putSize), filled(putSize)
	}
	return func(batch int) int {
		per := max(1, batch/clients)
		if clients == 1 { // in the calling goroutine, as a single client's puts are
			for range per {
				copy(dsts[0], srcs[0])
			}
			return per * putSize
		}
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range per {
					copy(dsts[c], srcs[c])
				}
			}()
		}
		wg.Wait()
		return per * clients * putSize
	}
}

// filled returns n bytes of data that are really in memory: a buffer never
// written is the kernel's zero page, which reads unrealistically fast.
func filled(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// syncBaseline is a request and its reply between two goroutines.
func syncBaseline(batch int) int {
	req, rep := make(chan int), make(chan int)
	go func() {
		for x := range req {
			rep <- x
		}
	}()
	for i := range batch {
		req <- i
		<-rep
	}
	close(req)
	return batch
}

// poolBaseline sends n requests from `clients` goroutines to `workers`
// goroutines over a channel and gathers every reply.
func poolBaseline(n, clients, workers int) int {
	req := make(chan int, 1024)
	rep := make(chan int, 1024)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := range req {
				rep <- x
			}
		}()
	}
	var senders sync.WaitGroup
	for c := range clients {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for i := c; i < n; i += clients {
				req <- i
			}
		}()
	}
	for range n {
		<-rep
	}
	senders.Wait()
	close(req)
	wg.Wait()
	return n
}

// refsBaseline receives, batch times, a slice of containedRefs pointers
// that another goroutine built, and copies it: a Get of an object that
// contains references, in one process.
func refsBaseline(batch int) int {
	out := make(chan []*int)
	go func() {
		for range batch {
			ps := make([]*int, containedRefs)
			for i := range ps {
				ps[i] = new(int)
			}
			out <- ps
		}
	}()
	for range batch {
		ps := <-out
		got := make([]*int, len(ps))
		copy(got, ps)
	}
	return batch
}

// waitBaseline starts 1000 goroutines and takes their completions one at a
// time, the shape of waiting on one of the not-ready refs 1000 times.
func waitBaseline(batch int) int {
	for range batch {
		done := make(chan int, 1000)
		for i := range 1000 {
			go func() { done <- i }()
		}
		for range 1000 {
			<-done
		}
	}
	return batch
}

func (r Row) String() string { return fmt.Sprintf("%s (%s)", r.Name, r.Unit) }

// noopBatch submits batch empty tasks and waits for them all.
func noopBatch(ctx context.Context, batch int) (int, error) {
	refs := make([]core.Ref[int], batch)
	for i := range refs {
		refs[i] = noop.Remote()
	}
	_, err := core.GetAll(ctx, refs)
	return batch, err
}
