package sched

// dispatch matches queued work with workers until nothing more can be done.
// New workers are handed out first, in rounds of at most one per demand,
// starved demands before the others; only then are leases filled up to
// PipelineDepth, because a task on a fresh worker runs sooner than one
// queued behind another task.
//
// A lease that gives way while dispatching frees a worker and resources,
// so dispatching starts over until none does.
func (l *Local) dispatch() {
	for {
		ends := l.leaseEnds
		for l.ring.n > 0 && l.grantRound() {
		}
		l.pipeline()
		if l.leaseEnds == ends {
			return
		}
	}
}

// grantRound offers each demand with queued work one more worker. It
// reports whether another round could do more: a worker was granted,
// started or freed, and work is still queued.
func (l *Local) grantRound() bool {
	ends := l.leaseEnds
	l.round++
	l.checkReservation()
	granted, waiting := false, false
	if r := l.reserved; r != nil {
		granted = l.offer(r)
		waiting = r.queued() > 0
	}
	for _, starved := range [2]bool{true, false} {
		d := l.ring.cursor
		for n := l.ring.n; n > 0; n-- {
			if d.round != l.round && d.queued() > 0 && d.starved() == starved {
				granted = l.offer(d) || granted
				waiting = waiting || d.queued() > 0
			}
			d = d.next
		}
	}
	return (granted || l.leaseEnds != ends) && waiting
}

// offer tries to give d one more worker: an idle one, or else a new one
// with StartWorker. It reports whether it did.
func (l *Local) offer(d *demand) bool {
	d.round = l.round
	c := d.class
	if d.kind == taskDemand {
		l.fill(c, 1, 0) // leases of c with nothing to do come first
		if c.tasks.len() == 0 {
			return false
		}
	}
	if l.reserved != nil && l.reserved != d && l.takesFromReserved(c) {
		return false
	}
	if !l.fits(c) {
		l.reserve(d)
		return false
	}
	if w := l.popIdle(d.kind); w != nil {
		if d.kind == actorDemand {
			l.host(d, w)
		} else {
			l.lease(c, w)
			l.fill(c, 1, 0)
		}
		if l.reserved == d {
			l.reserved = nil
		}
		l.ring.passed(d)
		return true
	}
	if d.queued() > d.starting && l.fitsBesidesStarts(c) && l.grow(d) {
		return true
	}
	if l.lacksWorker(d) {
		l.reserve(d)
	}
	return false
}

// pipeline fills leases up to PipelineDepth with the tasks no new worker
// took, keeping one task back for each worker being started for the class,
// and drops demands with nothing queued from the ring.
func (l *Local) pipeline() {
	d := l.ring.cursor
	for n := l.ring.n; n > 0; n-- {
		next := d.next
		if d.kind == taskDemand {
			l.fill(d.class, l.cfg.PipelineDepth, d.starting)
		}
		if d.queued() == 0 {
			l.ring.remove(d)
		}
		d = next
	}
}

// fill assigns c's queued tasks, each to the least loaded lease of c with
// fewer than limit tasks, until keep tasks are left.
func (l *Local) fill(c *class, limit, keep int) {
	for c.tasks.len() > keep {
		w := c.leastLoaded(limit)
		if w == nil {
			return
		}
		if l.mustYield(w) {
			l.yield(w)
			continue
		}
		l.assign(w, c.tasks.popFront())
	}
}

// mustYield reports whether the lease on w should take no more tasks: it
// holds an oversubscribed resource, or it has had its fair share while the
// reserved demand waits for something it holds.
func (l *Local) mustYield(w *worker) bool {
	c := w.class
	if l.negative > 0 {
		for _, q := range c.need {
			if l.avail[q.index] < 0 {
				return true
			}
		}
	}
	return l.reserved != nil && w.served >= l.cfg.PipelineDepth && l.holdsForReserved(c)
}

// yield stops giving tasks to w; its lease ends when its queue empties.
func (l *Local) yield(w *worker) {
	w.class.unlink(w)
	w.draining = true
	if w.queue.len() == 0 {
		l.endLease(w)
	}
}

// reserve makes the starved demand d the reserved one if none is and
// draining leases can help it.
func (l *Local) reserve(d *demand) {
	if l.reserved == nil && d.starved() && l.couldFitWithoutLeases(d.class) {
		l.reserved = d
	}
}

// checkReservation drops a reservation that is no longer needed or can no
// longer be met by leases giving way.
func (l *Local) checkReservation() {
	r := l.reserved
	if r != nil && (r.queued() == 0 || !r.starved() || !l.couldFitWithoutLeases(r.class)) {
		l.reserved = nil
	}
}

// takesFromReserved reports whether a new worker for class c would leave
// the reserved demand short of a resource, or take a worker it lacks.
func (l *Local) takesFromReserved(c *class) bool {
	r := l.reserved
	for _, q := range r.class.need {
		if n := c.dense[q.index]; n > 0 && l.avail[q.index]-n < q.units {
			return true
		}
	}
	return l.lacksWorker(r)
}

// holdsForReserved reports whether a lease of class c holds a resource the
// reserved demand is short of, or a worker it lacks.
func (l *Local) holdsForReserved(c *class) bool {
	r := l.reserved
	for _, q := range r.class.need {
		if c.dense[q.index] > 0 && l.avail[q.index] < q.units {
			return true
		}
	}
	return l.lacksWorker(r)
}
