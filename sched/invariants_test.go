package sched

import (
	"fmt"
	"slices"
)

// checkInvariants verifies the internal consistency of l: resource
// conservation, the counters against a recount, lease and queue shape, and
// that dispatching left nothing it could have done.
func checkInvariants(l *Local) error {
	held := make([]int64, len(l.total))
	var taskWorkers, taskProcs, blocked int
	leases := map[*class]int{}
	active := map[*class]int{}
	for id, w := range l.workers {
		if w.id != id {
			return fmt.Errorf("worker %d stored as %d", w.id, id)
		}
		if w.queue.len() > l.cfg.PipelineDepth {
			return fmt.Errorf("w%d has %d tasks, depth is %d", id, w.queue.len(), l.cfg.PipelineDepth)
		}
		if err := checkSlots(l, w); err != nil {
			return err
		}
		if w.proc == w && w.taskProc {
			taskProcs++
			if w.state == hosting {
				return fmt.Errorf("actor w%d counted as a task process", id)
			}
		}
		switch w.state {
		case idle:
			if w.taskProc {
				taskWorkers++
			}
			if !slices.Contains(l.idle, w) || w.queue.len() > 0 || w.blocked || w.linked {
				return fmt.Errorf("idle w%d: in idle list %v, %d tasks, blocked %v, linked %v",
					id, slices.Contains(l.idle, w), w.queue.len(), w.blocked, w.linked)
			}
			continue
		case leased:
			taskWorkers++
			if w.proc == w && !w.taskProc {
				return fmt.Errorf("leased w%d is not a task process", id)
			}
			leases[w.class]++
			if w.blocked {
				blocked++
				if w.queue.len() == 0 || w.linked {
					return fmt.Errorf("blocked w%d has %d tasks, linked %v", id, w.queue.len(), w.linked)
				}
			} else {
				active[w.class]++
				if w.queue.len() == 0 {
					return fmt.Errorf("leased w%d has no task", id)
				}
				if w.linked == (w.draining || w.queue.len() >= l.cfg.PipelineDepth) {
					return fmt.Errorf("w%d linked %v, draining %v, %d tasks", id, w.linked, w.draining, w.queue.len())
				}
			}
		case hosting:
			if w.queue.len() > 0 || w.linked {
				return fmt.Errorf("actor w%d has tasks or is linked", id)
			}
		}
		for _, q := range w.class.need {
			if !w.blocked || q.index != cpuIndex {
				held[q.index] += q.units
			}
		}
	}
	if err := checkDevices(l); err != nil {
		return err
	}
	for i := range l.total {
		if l.avail[i]+held[i] != l.total[i] {
			return fmt.Errorf("%s: %d free + %d held != %d total", l.space.names[i], l.avail[i], held[i], l.total[i])
		}
	}
	if len(l.idle) != len(l.workers)-countWorkers(l, leased)-countWorkers(l, hosting) {
		return fmt.Errorf("idle list has %d workers", len(l.idle))
	}
	if taskProcs > l.cfg.MaxWorkers {
		return fmt.Errorf("%d task processes, max %d", taskProcs, l.cfg.MaxWorkers)
	}
	if taskWorkers != l.taskWorkers || blocked != l.blockedTasks || taskProcs != l.taskProcs {
		return fmt.Errorf("task workers %d (counted %d), processes %d (counted %d), blocked %d (counted %d)",
			l.taskWorkers, taskWorkers, l.taskProcs, taskProcs, l.blockedTasks, blocked)
	}
	starting := 0
	for _, c := range l.classes[1:] {
		starting += c.taskDemand.starting + c.actorDemand.starting
		if c.leases != leases[c] || c.active != active[c] {
			return fmt.Errorf("class %d: leases %d (counted %d), active %d (counted %d)", c.id, c.leases, leases[c], c.active, active[c])
		}
		if err := checkDemands(l, c); err != nil {
			return err
		}
	}
	if starting != l.starts.len()+l.adds.len() {
		return fmt.Errorf("%d starting on demands' behalf, %d starts and %d slots being added", starting, l.starts.len(), l.adds.len())
	}
	return nil
}

// checkDevices verifies that each device's free units and what the
// workers holding it hold add up to its capacity, and that the GPUs free
// in all are the devices' free units.
func checkDevices(l *Local) error {
	held := make([]int64, len(l.devices.capacity))
	for id, w := range l.workers {
		want := 0
		if w.state != idle && w.class.gpu > 0 {
			want = max(1, int(w.class.gpu/Unit))
		}
		if len(w.devices) != want {
			return fmt.Errorf("w%d (state %v) holds devices %v, want %d", id, w.state, w.devices, want)
		}
		for _, d := range w.devices {
			held[d] += min(w.class.gpu, Unit)
		}
	}
	// A lost device has nothing free and counts for nothing; what its
	// holders still hold was taken off the node's free GPUs at the loss.
	var free, heldLost int64
	for i, c := range l.devices.capacity {
		if l.devices.lost[i] {
			if c != 0 || l.devices.free[i] != 0 {
				return fmt.Errorf("lost device %d: capacity %d, %d free", i, c, l.devices.free[i])
			}
			heldLost += held[i]
			continue
		}
		if l.devices.free[i]+held[i] != c || l.devices.free[i] < 0 {
			return fmt.Errorf("device %d: %d free + %d held != %d", i, l.devices.free[i], held[i], c)
		}
		free += l.devices.free[i]
	}
	if free-heldLost != l.avail[gpuIndex] {
		return fmt.Errorf("devices have %d GPU units free (%d held on lost ones), the node %d", free, heldLost, l.avail[gpuIndex])
	}
	return nil
}

// checkSlots verifies w's place in its process: an extra slot is leased
// and belongs to a task process; a primary counts its slots.
func checkSlots(l *Local, w *worker) error {
	if w.proc != w {
		p := l.workers[w.proc.id]
		switch {
		case w.state != leased:
			return fmt.Errorf("extra slot w%d is not leased", w.id)
		case p != nil && (p != w.proc || p.state == hosting || !p.taskProc):
			return fmt.Errorf("extra slot w%d belongs to w%d, not a task process", w.id, w.proc.id)
		}
		return nil
	}
	n := 0
	for _, o := range l.workers {
		if o.proc == w {
			n++
		}
	}
	if n != w.slots {
		return fmt.Errorf("w%d counts %d slots, has %d", w.id, w.slots, n)
	}
	if w.state == hosting && w.slots != 1 {
		return fmt.Errorf("actor w%d shares its process", w.id)
	}
	return nil
}

func countWorkers(l *Local, s workerState) int {
	n := 0
	for _, w := range l.workers {
		if w.state == s {
			n++
		}
	}
	return n
}

// checkDemands verifies that c's queues are in the ring exactly when not
// empty and that dispatching left no work it could have done: no queued
// task with a lease of its class able to take it, and no demand that could
// have had an idle worker.
func checkDemands(l *Local, c *class) error {
	for _, d := range []*demand{&c.taskDemand, &c.actorDemand} {
		if d.linked != (d.queued() > 0) {
			return fmt.Errorf("class %d %s demand: linked %v with %d queued", c.id, kindName(d), d.linked, d.queued())
		}
		if d.queued() == 0 {
			continue
		}
		if l.hasIdle(d.kind) && l.fits(c) && (l.reserved == nil || l.reserved == d || !l.takesFromReserved(c)) {
			return fmt.Errorf("class %d %s demand waits with %d queued though an idle worker and resources are free",
				c.id, kindName(d), d.queued())
		}
	}
	if c.tasks.len() > c.taskDemand.starting && c.leastLoaded(l.cfg.PipelineDepth) != nil {
		return fmt.Errorf("class %d has %d tasks queued and a lease with room", c.id, c.tasks.len())
	}
	return nil
}

func kindName(d *demand) string {
	if d.kind == actorDemand {
		return "actor"
	}
	return "task"
}
