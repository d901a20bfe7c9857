// Package core is manta's public API: remote functions and actors with
// typed futures on one dynamic task graph, run by worker processes of the
// user's own binary, and the node manager that schedules them.
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
// Remote returns a Ref at once. A Ref passed as an argument is a
// dependency: the call runs when the value is ready, with the value. A Ref
// nested inside an argument value stays a reference. Tasks may submit tasks;
// a task blocked in Get gives its CPU back, so nested graphs cannot
// deadlock the pool. Get, GetAll and Wait are the synchronisation points.
//
// Actors are registered types whose constructor runs in a dedicated worker;
// methods registered with RegisterMethodN run there one at a time in
// submission order (or up to WithMaxConcurrency at once). Handles are plain
// values that can be passed to tasks and other actors.
//
// Failures surface at Get as errors: a *TaskError carrying the remote
// error or panic and its stack, wrapping a sentinel such as ErrTaskFailed,
// ErrWorkerDied (after MaxRetries re-runs), ErrActorDied, ErrInfeasible
// (at once: no node can ever satisfy the request), ErrUnknownFunction,
// ErrBadArguments or ErrShutdown.
//
// Inside a node nothing goes through a socket: the node manager and each
// worker exchange messages (package rpc/wire) over a pair of lock-free
// rings in shared memory (package shm), and the local scheduler (package
// sched) decides which worker runs what. docs/ARCHITECTURE.md tells the
// whole story.
//
// A test binary that runs remote functions calls WorkerMain at the top of
// TestMain, since its workers are the test binary itself.
package core
