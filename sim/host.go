package sim

import (
	"fmt"
	"time"

	"manta/node"
	"manta/rpc/wire"
	"manta/sched"
	"manta/sched/global"
	"manta/shm/store"
)

// host is one simulated node: its node manager, which serves inputs
// one at a time in arrival order, its worker processes, and its driver.
// As the node's node.Host it turns the node's effects into events.
type host struct {
	s     *Sim
	i     int32
	n     *node.Node
	total sched.Resources
	// q holds the node's events to come; inbox, the inputs that arrived
	// and wait for the node manager, in arrival order.
	q     queue
	inbox fifo
	// end is the end of the window being simulated.
	end time.Duration
	// at is when the effects of the input being served happen: once the
	// node manager is done with it.
	at time.Duration
	// busy is when the node manager is done with the input it took last.
	busy time.Duration
	// queued counts the tasks submitted here and not dispatched yet: the
	// scheduler's queue (sched.Stats.Queued), kept here because Stats
	// allocates.
	queued int
	// procs are the live worker processes, each busy until its time.
	procs map[node.ProcID]time.Duration
	// waiting are the tasks submitted here, by the result they wait on.
	waiting map[*node.Waiter]*flight
	done    wire.Msg // a worker's Done; Worker does not keep it
	// The tasks run since the last heartbeat, and their summed run time.
	runs    int
	runTime time.Duration
	// next numbers the driver's tasks.
	next                    uint64
	submitted, spilled, ran uint64
}

// runUntil simulates the node's events before end.
func (h *host) runUntil(end time.Duration) {
	h.end = end
	for {
		serveAt := end
		if h.inbox.len() > 0 {
			serveAt = min(max(h.busy, h.inbox.front().at), end)
		}
		// An input arriving as the node manager takes the next one queues
		// behind it.
		if h.q.len() > 0 && h.q.next().at < serveAt {
			h.s.stats.Events++
			switch ev := h.q.pop(); ev.kind {
			case evInput:
				h.inbox.push(ev)
			case evComplete:
				h.s.finished(ev.f, ev.at)
			}
			continue
		}
		if serveAt == end {
			return
		}
		h.s.stats.Events++
		h.serve(h.inbox.pop(), serveAt)
	}
}

// input makes ev an input of this node manager. One the node makes for
// itself while serving goes straight to the inbox when no event comes
// before it, here or (being in this window) from elsewhere.
func (h *host) input(ev event) {
	ev.kind = evInput
	if ev.at < h.end && (h.q.len() == 0 || h.q.next().at > ev.at) && (h.inbox.len() == 0 || h.inbox.back().at <= ev.at) {
		h.inbox.push(ev)
		return
	}
	h.q.push(ev)
}

// serve has the node manager take input ev at start; it is done with
// it a modelled cost later, when the effects happen.
func (h *host) serve(ev event, start time.Duration) {
	s := h.s
	h.at = start + s.jitter(s.inputCost)
	h.busy = h.at
	switch ev.in {
	case inSubmit:
		// Bottom-up: the node queues its driver's task unless it cannot
		// run it or its queue is at the threshold.
		if global.Spill(h.total, s.demand, h.queued, s.cfg.SpillThreshold) {
			h.spilled++
			s.stats.Spilled++
			s.gq.push(event{at: h.at + s.jitter(s.cfg.Latency), kind: evPlace, f: ev.f})
			return
		}
		h.run(ev.f)
	case inPlaced:
		h.run(ev.f) // never spilled again
	case inDone:
		h.runs++
		h.runTime += ev.ran
		h.ran++
		h.done = wire.Msg{Kind: wire.KindDone, Task: ev.task}
		if err := h.n.Worker(ev.proc, &h.done); err != nil {
			panic(fmt.Sprintf("BUG: node %d refused a Done: %v", h.i, err))
		}
	case inRelease:
		f := ev.f
		f.failed = h.n.Result(f.obj).Err != nil
		h.n.Release(f.obj)
		f.obj = nil
		if f.origin == h.i {
			s.finished(f, h.at)
		} else {
			s.hosts[f.origin].q.push(event{at: h.at + s.jitter(s.cfg.Latency), kind: evComplete, f: f})
		}
	case inStarted:
		h.procs[ev.proc] = h.at
		h.n.ProcStarted(ev.proc)
	case inExited:
		h.n.ProcExited(ev.proc, errStopped)
	case inPinned:
		h.n.PinDone(node.PinToken(ev.token), store.Slot{}, nil)
	case inTimer:
		h.n.TimerFired(node.TimerToken(ev.token))
	case inHeartbeat:
		h.input(event{at: ev.at + s.cfg.Heartbeat, in: inHeartbeat})
		h.n.Tick(h.at)
		st := h.n.Stats()
		load := &global.Load{Available: st.Sched.Available, Queued: st.Sched.Queued}
		if h.runs > 0 {
			load.TaskTime = h.runTime / time.Duration(h.runs)
		}
		h.runs, h.runTime = 0, 0
		s.gq.push(event{at: h.at + s.jitter(s.cfg.Latency), kind: evReport, node: h.i, load: load})
	}
}

// run submits f to this node manager and waits for its result, as the
// driver's Get does.
func (h *host) run(f *flight) {
	f.exec = h.i
	h.s.spec.ID = f.id
	h.queued++
	f.obj = h.n.Submit(&h.s.spec)
	if h.n.Await(&f.w, f.obj) {
		h.waiting[&f.w] = f
		return
	}
	// It failed at once, never queued.
	h.queued--
	h.input(event{at: h.at, in: inRelease, f: f})
}

// Send: an Execute runs on the worker after the tasks before it there,
// and its Done reaches the node manager when it is through; a Shutdown
// ends the process at once.
func (h *host) Send(p node.ProcID, m *wire.Msg) {
	switch m.Kind {
	case wire.KindExecute:
		h.queued--
		took := h.s.jitter(h.s.cfg.WorkerCost) + h.s.cfg.TaskTime
		end := max(h.at, h.procs[p]) + took
		h.procs[p] = end
		h.input(event{at: end, in: inDone, proc: p, task: m.Task, ran: took})
	case wire.KindShutdown:
		delete(h.procs, p)
		h.input(event{at: h.at, in: inExited, proc: p})
	default:
		panic(fmt.Sprintf("BUG: the simulated workload has no %v messages", m.Kind))
	}
}

// SendControl carries cancellations, which the workload never makes.
func (h *host) SendControl(node.ProcID, *wire.Msg) {}

// StartProc: the process is up after Config.WorkerStart.
func (h *host) StartProc(p node.ProcID) {
	h.input(event{at: h.at + h.s.jitter(h.s.cfg.WorkerStart), in: inStarted, proc: p})
}

// KillProc: the process is gone at once.
func (h *host) KillProc(p node.ProcID) {
	delete(h.procs, p)
	h.input(event{at: h.at, in: inExited, proc: p})
}

// Pin: there is no store to read from, so the pin is done at once.
func (h *host) Pin(_ wire.ObjectID, token node.PinToken) {
	h.input(event{at: h.at, in: inPinned, token: uint64(token)})
}

// Unpin and Free: there is no store.
func (h *host) Unpin(wire.ObjectID) {}
func (h *host) Free(wire.ObjectID)  {}

// Wake: the driver's Get returns, and the driver releases the result.
func (h *host) Wake(w *node.Waiter) {
	f := h.waiting[w]
	delete(h.waiting, w)
	h.input(event{at: h.at, in: inRelease, f: f})
}

// SetTimer: TimerFired after d.
func (h *host) SetTimer(token node.TimerToken, d time.Duration) {
	h.input(event{at: h.at + d, in: inTimer, token: uint64(token)})
}

// CancelTimer: the node ignores a timer it cancelled that fires anyway.
func (h *host) CancelTimer(node.TimerToken) {}

// Finished: the workload watches no task.
func (h *host) Finished(wire.TaskID) {}

// Spill: the simulated nodes run with node.Config.SpillQueue 0; the
// simulation spills at submission, through its global scheduler.
func (h *host) Spill(*node.TaskSpec) {
	panic("sim: a node spilled, but the simulation sets no SpillQueue")
}

// CancelSpilled: no task is spilled (Spill).
func (h *host) CancelSpilled(wire.TaskID) {}
