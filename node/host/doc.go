// Package host runs a node.Node in a process: the thin loop around the
// node manager's state machine. It owns what the node only decides about
// — worker processes and the shared-memory rings to them, the object
// store, the clock — serializes every input to the node under one mutex,
// and carries out the node's effects.
//
// A driver makes one Host (package core does, in Init) and calls it
// directly: Submit, Put, PutStored, Get, Wait, Release are method calls
// under the host's mutex, with no socket or extra hop. Worker processes
// are this program run again (Config.WorkerCommand); a worker finds its
// end of the connection with Attach. Messages from workers are read by one
// inbound goroutine, in batches, and handed to the node; the object
// store's blocking calls (Create for a worker's large value, Pin of a
// spilled object) run off the lock and answer the node under it.
//
// Time comes from Config.Clock (a clockwork.Clock), so tests drive timers
// and ticks with a fake clock.
package host
