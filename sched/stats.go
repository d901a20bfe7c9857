package sched

// Stats is a snapshot of a Local for `manta status` and tests.
type Stats struct {
	Queued        int // tasks waiting in class queues
	PendingActors int // actors waiting for a worker
	Running       int // tasks running, blocked ones included
	Pipelined     int // tasks assigned to a worker behind its running one
	Leased        int // workers holding a task lease, blocked ones included
	Idle          int
	Starting      int // StartWorker actions not yet answered
	Blocked       int // workers whose running task waits in Get
	Actors        int // workers dedicated to actors
	// Available is what is free; a resource that Unblocked workers pushed
	// below zero shows as zero here and by how much in Oversubscribed.
	Available      Resources
	Oversubscribed Resources
	// TaskRoom is the totals less what actors hold for their lifetime:
	// the most that tasks can ever get here while those actors live.
	TaskRoom Resources
	// Ignored counts stale or out-of-order reports that were dropped, such as
	// TaskDone for an idle worker or WorkerExited twice.
	Ignored int
	Classes []ClassStats
}

// ClassStats describes one scheduling class.
type ClassStats struct {
	ID            ClassID
	Request       Resources
	Queued        int
	PendingActors int
	Leases        int
}

// Stats returns a snapshot of the scheduler's state. It allocates; it is not
// meant for the task path.
func (l *Local) Stats() Stats {
	s := Stats{
		Idle:           len(l.idle),
		Starting:       l.starts.len(),
		Available:      l.space.resources(l.avail, 1),
		TaskRoom:       l.taskRoom(),
		Oversubscribed: l.space.resources(l.avail, -1),
		Ignored:        l.ignored,
	}
	for _, w := range l.workers {
		if w.blocked {
			s.Blocked++
		}
		switch w.state {
		case leased:
			s.Leased++
			if n := w.queue.len(); n > 0 {
				s.Running++
				s.Pipelined += n - 1
			}
		case hosting:
			s.Actors++
		}
	}
	for _, c := range l.classes[1:] {
		s.Queued += c.tasks.len()
		s.PendingActors += c.actors.len()
		s.Classes = append(s.Classes, ClassStats{
			ID: c.id, Request: c.req, Queued: c.tasks.len(), PendingActors: c.actors.len(), Leases: c.leases,
		})
	}
	return s
}

// Queued counts the tasks waiting in class queues, as Stats does, without
// allocating: a node's spill test.
func (l *Local) Queued() int {
	n := 0
	for _, c := range l.classes[1:] {
		n += c.tasks.len()
	}
	return n
}

func (l *Local) taskRoom() Resources {
	room := make([]int64, len(l.total))
	for i := range room {
		room[i] = l.total[i] - l.actorHeld[i]
	}
	return l.space.resources(room, 1)
}
