package probe

// Stage is a function on the path being measured, probed at its entry.
type Stage struct {
	// Name is the short label the tables use.
	Name string
	// Symbol is the function's symbol in the executable's symbol table
	// (go tool nm), for example "manta/node.(*Node).Submit". It must not
	// be inlined everywhere: mark it //go:noinline if go tool nm lacks it.
	Symbol string
	// Worker says that the stage runs in a worker process rather than in
	// the driver.
	Worker bool
}

// SyncRoundTrip is the path of a synchronous task in a manta driver: the
// driver submits one task (driver.submit, Node.Submit), the node dispatches
// it to an idle worker and pushes it on the worker's ring (Node.dispatch,
// proc.send); the worker runs it (workerProc.invoke) and pushes its result
// back (workerProc.send); the driver's inbound loop hands the message to
// the node (Node.Worker), which wakes the driver's Get (effects.Wake); the
// woken Get reads the result (Host.resultsLocked) and the driver's loop
// submits the next task. `manta microbenchmark --only
// single_client_tasks_sync` runs exactly this loop.
var SyncRoundTrip = []Stage{
	{Name: "driver.submit", Symbol: "manta/core.(*driver).submit"},
	{Name: "Node.Submit", Symbol: "manta/node.(*Node).Submit"},
	{Name: "Node.dispatch", Symbol: "manta/node.(*Node).dispatch"},
	{Name: "proc.send", Symbol: "manta/node/host.(*proc).send"},
	{Name: "worker invoke", Symbol: "manta/core.(*workerProc).invoke", Worker: true},
	{Name: "worker send", Symbol: "manta/core.(*workerProc).send", Worker: true},
	{Name: "Node.Worker", Symbol: "manta/node.(*Node).Worker"},
	{Name: "effects.Wake", Symbol: "manta/node/host.(*effects).Wake"},
	{Name: "Host.resultsLocked", Symbol: "manta/node/host.(*Host).resultsLocked"},
}

// SegmentName names the time attributed to stage i of stages: from the
// previous stage's entry to this one's (for stage 0, from the last stage
// of the round trip before).
func SegmentName(stages []Stage, i int) string {
	prev := (i + len(stages) - 1) % len(stages)
	return stages[prev].Name + " → " + stages[i].Name
}
