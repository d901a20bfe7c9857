// Package global is the cluster's global scheduler (the Ray paper's
// §4.2.2), a state machine like sched.Local: no goroutines, clock, I/O or
// randomness inside, so the same code places tasks in a real cluster, in
// script tests and in a virtual-time simulation of hundreds of nodes.
//
// Scheduling is bottom-up. A node queues a task itself unless Spill says
// it cannot or should not: its totals do not fit the task, or its queue
// has reached the threshold. It then asks the global scheduler, which
// Places the task on the node with the lowest estimated wait:
//
//	queue length × average task time + input bytes not on the node ÷ average bandwidth
//
// Both averages are exponential, fed by each node's heartbeat (Report);
// input locations and sizes come from the object table. A placed task is
// not spilled again: at most one redirect per task. A demand that no live
// node can satisfy fails at once, naming what is lacking, unless
// Config.WaitForNodes asks to wait for a node that could join.
// Config.NoLocality drops the transfer term, for Figure 8a's comparison.
//
// The owner serializes calls: AddNode when a node joins, RemoveNode when
// it dies, Report for each heartbeat, Place for each spilled task.
package global
