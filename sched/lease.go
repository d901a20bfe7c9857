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

func (l *Local) acquire(c *class) {
	for _, q := range c.need {
		l.adjust(q.index, -q.units)
	}
}

// releaseHeld returns what w holds: its class's request, less the CPU a
// blocked worker already gave back.
func (l *Local) releaseHeld(w *worker) {
	for _, q := range w.class.need {
		if !w.blocked || q.index != cpuIndex {
			l.adjust(q.index, q.units)
		}
	}
}

func (l *Local) fits(c *class) bool {
	for _, q := range c.need {
		if l.avail[q.index] < q.units {
			return false
		}
	}
	return true
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

// popIdle takes the most recently idle worker: it is the warmest, and the
// oldest ones are left to age out.
func (l *Local) popIdle() *worker {
	n := len(l.idle)
	if n == 0 {
		return nil
	}
	w := l.idle[n-1]
	l.idle[n-1] = nil
	l.idle = l.idle[:n-1]
	return w
}

// lease gives the idle worker w to class c.
func (l *Local) lease(c *class, w *worker) {
	l.acquire(c)
	w.state, w.class = leased, c
	c.leases++
	c.active++
	c.link(w, 0)
}

// endLease returns w's resources and puts it back in the idle pool.
func (l *Local) endLease(w *worker) {
	c := w.class
	c.unlink(w)
	l.releaseHeld(w)
	c.leases--
	c.active--
	l.makeIdle(w)
	l.leaseEnds++
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
	l.acquire(c)
	for _, q := range c.need {
		l.actorHeld[q.index] += q.units
	}
	w.state, w.class, w.actor = hosting, c, a
	l.taskWorkers--
	l.emit(Action{Kind: PlaceActor, Actor: a, Worker: w.id, Class: c.id})
}

func (l *Local) startWorker(d *demand) {
	l.starts.pushBack(d)
	d.starting++
	for _, q := range d.class.need {
		l.startClaims[q.index] += q.units
	}
	l.emit(Action{Kind: StartWorker, Class: d.class.id})
}

// mayStart reports whether a worker may be started for d. Actor workers are
// bounded by the resources they hold, not by MaxWorkers.
func (l *Local) mayStart(d *demand) bool {
	return l.starts.len() < l.cfg.MaxStartingWorkers && (d.kind == actorDemand || l.poolMayGrow())
}

func (l *Local) poolMayGrow() bool {
	return l.taskWorkers+l.starts.len() < l.cfg.MaxWorkers+l.blockedTasks
}

// lacksWorker reports whether d, a task demand whose resources are free, can
// only get a worker that a lease gives back: none is idle or starting (a
// starting one goes to a starved demand first) and the pool is full.
func (l *Local) lacksWorker(d *demand) bool {
	return d.kind == taskDemand && len(l.idle) == 0 && l.starts.len() == 0 && !l.poolMayGrow()
}
