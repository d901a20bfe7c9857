// Package core is manta's public API: remote functions and actors with
// typed futures on one dynamic task graph, run by worker processes of the
// user's own binary, and the node manager that schedules them.
//
// # Registering and calling
//
// Register functions and actor types at package level, so the worker
// processes (the same binary, re-executed in worker mode) register them
// too; then call Init in main:
//
//	var square = core.Register1("square", func(x int) (int, error) { return x * x, nil })
//
//	func main() {
//		cluster, err := core.Init(core.Config{}) // in a worker: never returns
//		if err != nil { log.Fatal(err) }
//		defer cluster.Shutdown()
//		v, err := square.Remote(7).Get(context.Background()) // 49
//	}
//
// Everything before Init runs again in every worker (package variables,
// init functions, the start of main), and Init never returns there; code
// meant for the driver alone follows Init or checks IsWorker. A function
// that calls itself cannot be a package-level variable's initializer (Go
// reports an initialization cycle): declare the variable and register in
// an init function, as the recursion Example shows.
//
// Register0 to Register6 take functions of up to six parameters,
// RegisterMethod0 to RegisterMethod5 methods of up to five. A first
// parameter of type context.Context is the call's context, not an
// argument: the caller passes its own context in that place, the call is
// cancelled with it and carries its deadline, and inside a task the calls
// made with the task's context are its children, cancelled with it.
// TaskFromContext tells a task who it is. A result of type Pair or Triple
// becomes two or three objects, which Split and Split3 reference one by
// one (Ray's num_returns).
//
// Remote returns a Ref at once. A Ref passed as an argument is a
// dependency: the call runs when the value is ready, with the value. A Ref
// nested inside an argument value stays a reference. Tasks may submit
// tasks; Get, GetAll, Wait and WaitAny are the synchronisation points.
// Cancel drops a call that has not started and cancels the context of one
// that has, on whichever node of a cluster it runs; Get then fails with
// ErrCancelled.
//
// Options on a function or actor type sets resources, retries, restarts, a
// name (GetActor finds the actor from anywhere) or a detached lifetime for
// the calls or actors made through it, without registering again.
//
// # Values and their lifetimes
//
// Arguments and results travel between processes encoded: integers,
// floats, strings and []byte, []float32 and []float64 (named types of those
// kinds too) in compact formats of their own, anything else as CBOR, which
// sends a struct's exported fields only. A value holding a struct with no
// exported fields (and no MarshalCBOR or MarshalBinary method) would arrive
// as its zero value, so it is refused with an error that names the type.
//
// Get returns values that belong to the caller, however large: they may
// be written and kept. A large []byte, []float32 or []float64 can instead
// be read in place with GetView, or by a task whose parameter is a
// *View[E]: the View maps the object store's pages copy-on-write and keeps
// the object pinned until Release (or the end of the call, for a
// parameter); after that its memory is unmapped, so a slice kept too long
// faults instead of reading another object's bytes.
//
// An object lives while some Ref to it does: Release gives a Ref up at once
// (tasks that take it as an argument keep it until they have run), and the
// garbage collector releases the rest. Actor handles work the same way: an
// actor that is not detached dies with its last handle.
//
// # Processes
//
// Actors are registered types whose constructor runs in a dedicated
// worker; their methods run there one at a time in submission order (or up
// to WithMaxConcurrency at once). Tasks run in a pool of at most
// Config.MaxWorkers processes; a task blocked in Get gives its CPU back,
// and work that comes meanwhile runs on goroutines of the same processes,
// so nested graphs neither deadlock nor multiply processes. An ActorPool
// spreads calls over a set of actors.
//
// # Failures
//
// Failures surface at Get as errors: a *TaskError carrying the remote
// error or panic and its stack, wrapping a sentinel such as ErrTaskFailed,
// ErrWorkerDied (after MaxRetries re-runs), ErrActorDied, ErrCancelled,
// ErrInfeasible (at once: no node can ever satisfy the request),
// ErrUnknownFunction, ErrBadArguments or ErrShutdown.
//
// Inside a node nothing goes through a socket: the node manager and each
// worker exchange messages (package rpc/wire) over lock-free rings in
// shared memory (package shm), and the local scheduler (package sched)
// decides which worker runs what. docs/ARCHITECTURE.md tells the whole
// story.
//
// A test binary that runs remote functions calls WorkerMain at the top of
// TestMain, since its workers are the test binary itself.
package core
