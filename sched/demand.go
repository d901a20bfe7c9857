package sched

type demandKind uint8

const (
	taskDemand  demandKind = iota // queued tasks, served by leases
	actorDemand                   // queued actors, each needing its own worker
)

// demand is one class's queue of tasks or of actors as a participant in the
// round-robin over classes with queued work.
type demand struct {
	kind  demandKind
	class *class
	// starting counts workers started on this demand's behalf and not yet
	// up, so that one StartWorker is emitted per needed worker, not per task.
	starting int
	// round is the last grant round that offered this demand a worker.
	round      uint64
	linked     bool
	prev, next *demand
}

func (d *demand) queued() int {
	if d.kind == actorDemand {
		return d.class.actors.len()
	}
	return d.class.tasks.len()
}

// starved reports whether the demand has no worker making progress on it:
// every queued actor needs a new worker, and tasks need one when their class
// has no active lease. Starved demands are served first.
func (d *demand) starved() bool {
	return d.kind == actorDemand || d.class.active == 0
}

// demandRing is the circular round-robin list of demands with queued work.
// Each round starts at cursor, which moves past every demand that is granted
// a worker, so the others go first next time.
type demandRing struct {
	cursor *demand
	n      int
}

func (r *demandRing) add(d *demand) {
	if d.linked {
		return
	}
	d.linked = true
	r.n++
	if r.cursor == nil {
		d.prev, d.next, r.cursor = d, d, d
		return
	}
	// Insert just before the cursor: the newcomer is served last this round.
	d.next, d.prev = r.cursor, r.cursor.prev
	d.prev.next, d.next.prev = d, d
}

func (r *demandRing) remove(d *demand) {
	if !d.linked {
		return
	}
	d.linked = false
	r.n--
	if r.n == 0 {
		r.cursor = nil
	} else {
		d.prev.next, d.next.prev = d.next, d.prev
		if r.cursor == d {
			r.cursor = d.next
		}
	}
	d.prev, d.next = nil, nil
}

// passed moves the cursor past d after d was granted a worker.
func (r *demandRing) passed(d *demand) {
	if d.linked {
		r.cursor = d.next
	}
}
