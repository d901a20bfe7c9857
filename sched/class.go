package sched

import "fmt"

// ClassID names a scheduling class: one resource shape, interned by Class.
// IDs start at 1.
type ClassID uint32

// class is a scheduling class with its queues and its task leases.
type class struct {
	id    ClassID
	req   Resources
	need  []quantity // the request in the node's space, non-zero entries only
	dense []int64    // the same, indexed by resource, for conflict checks
	cpu   int64      // CPU units, which a blocked worker gives back
	gpu   int64      // GPU units, handed out as devices
	// infeasible is set once a lost device leaves the node unable to
	// ever serve the class: Class refuses it from then on.
	infeasible error

	tasks  fifo[TaskRef]
	actors fifo[ActorRef]
	// taskDemand and actorDemand enter the round-robin ring while their
	// queue is not empty.
	taskDemand, actorDemand demand

	// byLoad[k] lists the leased workers with k tasks assigned that may take
	// more; full, blocked and draining workers are in no list.
	byLoad  []*worker
	minLoad int // no list below this index has a worker
	leases  int // task leases, blocked ones included
	active  int // task leases whose worker is not blocked
}

func newClass(id ClassID, req Resources, need []quantity, dense []int64, depth int) *class {
	c := &class{id: id, req: req, need: need, dense: dense, cpu: dense[cpuIndex], gpu: dense[gpuIndex], byLoad: make([]*worker, depth)}
	c.taskDemand = demand{kind: taskDemand, class: c}
	c.actorDemand = demand{kind: actorDemand, class: c}
	return c
}

// Class interns the resource shape req and returns its ID. A request that can
// never fit the node's totals is refused at once with an error wrapping
// ErrInfeasible that names the resource, such as
// "sched: infeasible: needs GPU=2 but node has GPU=0".
func (l *Local) Class(req Resources) (ClassID, error) {
	if id, ok := l.classIDs[req]; ok {
		return id, l.classes[id].infeasible
	}
	need, err := l.space.need(req, l.total)
	if err != nil {
		return 0, err
	}
	if err := l.devices.check(l.space.vector(req)[gpuIndex]); err != nil {
		return 0, err
	}
	id := ClassID(len(l.classes))
	l.classes = append(l.classes, newClass(id, req, need, l.space.vector(req), l.cfg.PipelineDepth))
	l.classIDs[req] = id
	return id, nil
}

func (l *Local) class(id ClassID) *class {
	if id == 0 || int(id) >= len(l.classes) {
		// Class IDs come from this Local, never from another process, so an
		// unknown one is a bug in the caller.
		panic(fmt.Sprintf("sched: unknown class %d", id))
	}
	return l.classes[id]
}

// link makes w, leased to c with k tasks, a candidate for more tasks.
func (c *class) link(w *worker, k int) {
	if k >= len(c.byLoad) {
		return // full
	}
	w.prev, w.next = nil, c.byLoad[k]
	if w.next != nil {
		w.next.prev = w
	}
	c.byLoad[k] = w
	w.linked = true
	c.minLoad = min(c.minLoad, k)
}

func (c *class) unlink(w *worker) {
	if !w.linked {
		return
	}
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		c.byLoad[w.queue.len()] = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	}
	w.prev, w.next, w.linked = nil, nil, false
}

// leastLoaded returns a linked worker with the fewest tasks, if it has fewer
// than limit.
func (c *class) leastLoaded(limit int) *worker {
	limit = min(limit, len(c.byLoad))
	k := c.minLoad
	for ; k < limit; k++ {
		if w := c.byLoad[k]; w != nil {
			c.minLoad = k
			return w
		}
	}
	c.minLoad = k
	return nil
}
