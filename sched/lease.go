package sched

// adjust changes the free units of resource i, counting the resources that
// an Unblocked worker pushed below zero.
func (l *Local) adjust(i int, delta int64) {
	was := l.avail[i] < 0
	l.avail[i] += delta
	if now := l.avail[i] < 0; now != was {
		if now {
			l.negative++
		} else {
			l.negative--
		}
	}
}

// acquire takes c's resources for w, its GPUs as devices.
func (l *Local) acquire(c *class, w *worker) {
	for _, q := range c.need {
		l.adjust(q.index, -q.units)
	}
	w.devices = l.devices.take(c.gpu)
}

// releaseHeld returns what w holds: its class's request, less the CPU a
// blocked worker already gave back, and its devices.
func (l *Local) releaseHeld(w *worker) {
	for _, q := range w.class.need {
		if !w.blocked || q.index != cpuIndex {
			l.adjust(q.index, q.units)
		}
	}
	l.devices.give(w.devices, w.class.gpu)
	w.devices = nil
}

// fits reports whether c's resources are free now, its GPUs on devices
// that can take them (free fractions of several devices do not make one).
func (l *Local) fits(c *class) bool {
	for _, q := range c.need {
		if l.avail[q.index] < q.units {
			return false
		}
	}
	return l.devices.fits(c.gpu)
}

// fitsBesidesStarts is fits with the resources wanted by workers being
// started set aside.
func (l *Local) fitsBesidesStarts(c *class) bool {
	for _, q := range c.need {
		if l.avail[q.index]-l.startClaims[q.index] < q.units {
			return false
		}
	}
	return true
}

// ActorRoom reports whether an actor of class c could be placed here
// once the running tasks' leases end: whether the actors already here
// leave room for it. A node of a cluster sends an actor that finds no room
// to another node.
func (l *Local) ActorRoom(c ClassID) bool { return l.couldFitWithoutLeases(l.classes[c]) }

// couldFitWithoutLeases reports whether c would fit once every task lease
// ended; only then can leases giving way help it.
func (l *Local) couldFitWithoutLeases(c *class) bool {
	for _, q := range c.need {
		if l.total[q.index]-l.actorHeld[q.index] < q.units {
			return false
		}
	}
	return true
}

// popIdle takes the most recently idle worker that can serve kind: it is
// the warmest, and the oldest ones are left to age out. Task leases take
// only task processes while the pool is full; actors take only workers
// alone in their process.
func (l *Local) popIdle(kind demandKind) *worker {
	for i := len(l.idle) - 1; i >= 0; i-- {
		w := l.idle[i]
		if !l.serves(w, kind) {
			continue
		}
		last := len(l.idle) - 1
		copy(l.idle[i:], l.idle[i+1:])
		l.idle[last] = nil
		l.idle = l.idle[:last]
		return w
	}
	return nil
}

func (l *Local) serves(w *worker, kind demandKind) bool {
	if kind == taskDemand {
		return w.proc != w || w.taskProc || l.taskProcs < l.cfg.MaxWorkers
	}
	return w.proc == w && w.slots == 1
}

// countTaskProc makes the primary w a task process if the pool has room.
func (l *Local) countTaskProc(w *worker) {
	if !w.taskProc && l.taskProcs < l.cfg.MaxWorkers {
		w.taskProc = true
		l.taskProcs++
		l.taskWorkers++
	}
}

// uncountTaskProc takes the primary w out of the task processes.
func (l *Local) uncountTaskProc(w *worker) {
	if w.taskProc {
		w.taskProc = false
		l.taskProcs--
		l.taskWorkers--
	}
}

// hasIdle reports whether an idle worker can serve kind.
func (l *Local) hasIdle(kind demandKind) bool {
	for _, w := range l.idle {
		if l.serves(w, kind) {
			return true
		}
	}
	return false
}

// lease gives the idle worker w to class c.
func (l *Local) lease(c *class, w *worker) {
	if w.proc == w {
		l.countTaskProc(w)
	}
	l.acquire(c, w)
	w.state, w.class = leased, c
	c.leases++
	c.active++
	c.link(w, 0)
}

// endLease returns w's resources and puts it back in the idle pool; an
// extra slot ends with its lease.
func (l *Local) endLease(w *worker) {
	c := w.class
	c.unlink(w)
	l.releaseHeld(w)
	c.leases--
	c.active--
	l.leaseEnds++
	if w.proc != w {
		w.state, w.class = idle, nil
		l.dropSlot(w)
		return
	}
	l.makeIdle(w)
}

// assign sends task t to the leased worker w.
func (l *Local) assign(w *worker, t TaskRef) {
	c := w.class
	c.unlink(w)
	w.queue.pushBack(t)
	w.served++
	c.link(w, w.queue.len())
	l.emit(Action{Kind: Dispatch, Task: t, Worker: w.id, Class: c.id})
}

// host dedicates the idle worker w to the next queued actor of d's class.
func (l *Local) host(d *demand, w *worker) {
	c := d.class
	a := c.actors.popFront()
	l.acquire(c, w)
	for _, q := range c.need {
		l.actorHeld[q.index] += q.units
	}
	w.state, w.class, w.actor = hosting, c, a
	l.uncountTaskProc(w)
	l.emit(Action{Kind: PlaceActor, Actor: a, Worker: w.id, Class: c.id})
}

// grow asks core for one more worker for d: a new process while the pool
// may have more (actors are bounded by the resources they hold, not by
// MaxWorkers), or else a slot on a process whose work waits in Get. It
// reports whether it asked.
func (l *Local) grow(d *demand) bool {
	if d.kind == actorDemand || l.taskProcs+l.taskStarts < l.cfg.MaxWorkers {
		if l.starts.len() >= l.cfg.MaxStartingWorkers || (d.kind == taskDemand && !l.poolMayGrow()) {
			return false
		}
		l.starts.pushBack(d)
		if d.kind == taskDemand {
			l.taskStarts++
		}
		l.claim(d)
		l.emit(Action{Kind: StartWorker, Class: d.class.id})
		return true
	}
	if !l.poolMayGrow() {
		return false
	}
	p := l.slotHost()
	if p == nil {
		return false
	}
	l.adds.pushBack(slotAdd{d, p})
	p.adding++
	l.claim(d)
	l.emit(Action{Kind: AddSlot, Worker: p.id})
	return true
}

func (l *Local) claim(d *demand) {
	d.starting++
	for _, q := range d.class.need {
		l.startClaims[q.index] += q.units
	}
}

// slotHost picks the task process to add a slot to: the one with the
// fewest slots making progress or coming, so the new slot's tasks do not
// queue behind running ones.
func (l *Local) slotHost() *worker {
	running := map[*worker]int{}
	for _, w := range l.workers {
		if w.state == hosting || !w.proc.taskProc || l.workers[w.proc.id] != w.proc {
			continue // an actor's, or a process whose exit is being reported
		}
		if _, ok := running[w.proc]; !ok {
			running[w.proc] = w.proc.adding
		}
		if w.state == leased && !w.blocked {
			running[w.proc]++
		}
	}
	var best *worker
	for p, n := range running {
		if p.state != hosting && (best == nil || n < running[best] || (n == running[best] && p.id < best.id)) {
			best = p
		}
	}
	return best
}

func (l *Local) poolMayGrow() bool {
	return l.taskWorkers+l.starts.len()+l.adds.len() < l.cfg.MaxWorkers+l.blockedTasks
}

// lacksWorker reports whether d, a task demand whose resources are free, can
// only get a worker that a lease gives back: none is idle or coming (a
// coming one goes to a starved demand first) and the pool is full.
func (l *Local) lacksWorker(d *demand) bool {
	return d.kind == taskDemand && !l.hasIdle(taskDemand) && l.starts.len() == 0 && l.adds.len() == 0 && !l.poolMayGrow()
}
