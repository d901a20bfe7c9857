// Package collective is manta's collective communication among actors,
// as Ray's collective API (ray.util.collective) is: a group of actors,
// each knowing its rank and the group's size, that call Allreduce,
// ReduceScatter, Allgather and Broadcast on []float32 or []float64
// buffers from their own methods.
//
// # Groups
//
// Enable an actor type at package level (its actors need
// core.WithMaxConcurrency(MinConcurrency) or more), make the actors, and
// form a group from the driver; a member's method finds its group by
// name:
//
//	var workerType = core.RegisterActor0("worker", newWorker, core.WithMaxConcurrency(collective.MinConcurrency))
//	var workers = collective.Enable(workerType)
//	var step = core.RegisterMethod1(workerType, "step", func(w *worker, ctx context.Context) (float32, error) {
//		g, err := collective.GetGroup("replicas")
//		...
//		err = collective.Allreduce(ctx, g, w.grads, collective.Sum)
//	})
//
//	// in the driver
//	err := workers.CreateGroup(ctx, "replicas", actors, collective.Options{})
//	defer workers.Destroy(ctx, "replicas", actors)
//
// Every member calls the group's collectives in the same order, one at a
// time. Each takes a context (and Options.Timeout bounds each call).
//
// # How data moves
//
// The collectives are rings: Allreduce is a reduce-scatter phase and an
// allgather phase of Size()-1 steps each, every member sending one
// segment of its buffer to the next member at each step. A small buffer
// (Options.DirectBytes, 256 KiB by default) is bound by each step's
// latency instead, so Allreduce sends it whole to every other member in
// one round, and each member reduces them all in rank order. Segments
// are cut into chunks (Options.ChunkBytes) that follow each other around
// the ring, so a member reduces one chunk while the next is on its way.
// A chunk travels in an actor call to its receiver: inside the call
// where its deliveries carry 96 KiB or less in all (the receiver holds
// it as the call arrives), else as an object of the store (core.Put)
// whose reference the call carries: on one node the receiver maps the
// sender's bytes in place (a core.View; no socket, no copy but the Put),
// and from another node its node pulls them through the transfer path
// first. The sender keeps the object until the receiver holds it.
//
// # Failures
//
// Every error is an *Error wrapping a sentinel. Each member watches the
// one before it in the ring (a method call that lasts as long as the
// group); when a member dies (its process or its node, or it is killed)
// the one after it learns it from that call and tells every other
// member, so every member's collective in flight, and every later one,
// fails with ErrMemberLost rather than wait. A member that gives an
// operation up (its context ended, or it found the members' calls
// disagree: ErrMismatch for buffers of different lengths) tells every
// other member too, so they fail with ErrMismatch or ErrAborted; the
// group stays usable for the next operation.
package collective
