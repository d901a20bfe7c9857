package sched

import (
	"fmt"
	"slices"
	"time"
)

// Local is one node's scheduler. It is not safe for concurrent use: core
// calls it under its own lock.
type Local struct {
	cfg   Config
	space space
	total []int64
	avail []int64 // negative only while an Unblocked worker oversubscribes
	// negative counts the resources with avail below zero.
	negative int
	// actorHeld is what actors hold for their lifetime: a waiting class that
	// needs more than total-actorHeld cannot be helped by draining leases.
	actorHeld []int64

	classes  []*class // indexed by ClassID; [0] is unused
	classIDs map[Resources]ClassID

	workers map[WorkerID]*worker
	idle    []*worker // oldest first: leases take the newest, Tick stops the oldest
	// taskWorkers counts idle and leased slots, blockedTasks the blocked
	// ones: slots may be added while taskWorkers < MaxWorkers+blockedTasks.
	// taskProcs counts the processes holding them, which MaxWorkers bounds.
	taskWorkers  int
	blockedTasks int
	taskProcs    int
	// starts lists the demands that asked for the workers being started, in
	// order, and adds those that asked for slots being added; taskStarts
	// counts the starts for task demands. startClaims sums their needs so
	// that resources already promised to a coming worker do not start
	// another.
	starts      fifo[*demand]
	adds        fifo[slotAdd]
	taskStarts  int
	startClaims []int64

	ring  demandRing
	round uint64 // grant rounds so far; see grantRound
	// leaseEnds counts ended leases, so dispatch sees a lease that gave way
	// while it ran.
	leaseEnds uint64
	// reserved is a starved demand that resources (or workers) are being
	// set aside for: no other class may take what it lacks, and leases
	// holding that give way after a fair share, so it cannot starve.
	reserved *demand

	now     time.Duration
	actions []Action
	ignored int

	devices devices // the GPUs, by index
}

// New returns a scheduler for a node described by cfg.
func New(cfg Config) *Local {
	cfg = cfg.withDefaults()
	s := newSpace(cfg.Total)
	total := s.vector(cfg.Total)
	return &Local{
		cfg:         cfg,
		space:       s,
		total:       total,
		avail:       append([]int64(nil), total...),
		actorHeld:   make([]int64, len(total)),
		classes:     []*class{nil},
		classIDs:    make(map[Resources]ClassID),
		workers:     make(map[WorkerID]*worker),
		startClaims: make([]int64, len(total)),
		devices:     newDevices(total[gpuIndex]),
	}
}

// DeviceLost takes GPU index out of service: no lease or actor gets it
// again, and the node's GPU total shrinks by it. It returns the workers
// that hold it, whose processes core must end (their resources come back
// when core reports them exited, less the lost device). The classes that
// the devices left can never serve become infeasible: their queued tasks
// and actors, and any submitted to them later, are refused (Refuse
// actions), and Class refuses their requests. A device lost already, or
// none, changes nothing.
func (l *Local) DeviceLost(index int) (holders []WorkerID) {
	for id, w := range l.workers {
		if slices.Contains(w.devices, index) {
			holders = append(holders, id)
		}
	}
	slices.Sort(holders)
	units := l.devices.lose(index)
	if units == 0 {
		return nil
	}
	l.total[gpuIndex] -= units
	l.adjust(gpuIndex, -units)
	for _, c := range l.classes[1:] {
		if c.gpu == 0 || c.infeasible != nil {
			continue
		}
		err := l.devices.check(c.gpu)
		if err == nil && c.gpu > l.total[gpuIndex] {
			err = fmt.Errorf("%w: needs GPU=%s but node has GPU=%s", ErrInfeasible, formatQuantity(c.gpu), formatQuantity(l.total[gpuIndex]))
		}
		if err == nil {
			continue
		}
		c.infeasible = fmt.Errorf("%w (a GPU was lost)", err)
		if l.reserved != nil && l.reserved.class == c {
			l.reserved = nil // what it waited for will never come
		}
		for c.tasks.len() > 0 {
			l.emit(Action{Kind: Refuse, Task: c.tasks.popFront(), Class: c.id})
		}
		for c.actors.len() > 0 {
			l.emit(Action{Kind: Refuse, Actor: c.actors.popFront(), Class: c.id})
		}
	}
	l.dispatch()
	return holders
}

// Infeasible says why class c can no longer run here (nil while it can).
func (l *Local) Infeasible(c ClassID) error { return l.class(c).infeasible }

// Devices returns the GPUs, by index, that worker id holds for its lease
// or its actor (nil for none): a worker gets CUDA_VISIBLE_DEVICES for
// exactly these. The slice is the scheduler's: valid until the worker's
// lease ends.
func (l *Local) Devices(id WorkerID) []int {
	if w := l.workers[id]; w != nil {
		return w.devices
	}
	return nil
}

// Config returns the configuration in effect, defaults filled in.
func (l *Local) Config() Config { return l.cfg }

// Submit queues task t of class c and dispatches.
func (l *Local) Submit(c ClassID, t TaskRef) {
	cl := l.class(c)
	if cl.infeasible != nil {
		l.emit(Action{Kind: Refuse, Task: t, Class: c})
		return
	}
	cl.tasks.pushBack(t)
	l.ring.add(&cl.taskDemand)
	l.dispatch()
}

// PlaceActor queues actor a, which needs a worker of its own holding class
// c's resources for its lifetime, and dispatches.
func (l *Local) PlaceActor(a ActorRef, c ClassID) {
	cl := l.class(c)
	if cl.infeasible != nil {
		l.emit(Action{Kind: Refuse, Actor: a, Class: c})
		return
	}
	cl.actors.pushBack(a)
	l.ring.add(&cl.actorDemand)
	l.dispatch()
}

// Cancel removes task t from its class queue if it has not been dispatched,
// and reports whether it was found. It scans the queues: cancelling is rare.
func (l *Local) Cancel(t TaskRef) bool {
	for _, c := range l.classes[1:] {
		for i := 0; i < c.tasks.len(); i++ {
			if c.tasks.at(i) == t {
				c.tasks.removeAt(i)
				l.dispatch() // the task may have been what a reservation waited for
				return true
			}
		}
	}
	return false
}

// CancelActor removes actor a from its class queue if it has not been
// placed, and reports whether it was found: an actor killed while it waits
// for a worker must not have one started for it.
func (l *Local) CancelActor(a ActorRef) bool {
	for _, c := range l.classes[1:] {
		for i := 0; i < c.actors.len(); i++ {
			if c.actors.at(i) == a {
				c.actors.removeAt(i)
				l.dispatch()
				return true
			}
		}
	}
	return false
}

// TaskDone reports that task t, assigned to w, finished. It is usually the
// oldest, but while one task is blocked the worker runs the ones behind it,
// so they can finish first. Stale reports are ignored.
func (l *Local) TaskDone(id WorkerID, t TaskRef) {
	w := l.workers[id]
	i := -1
	if w != nil && w.state == leased {
		i = w.queue.index(t)
	}
	if i < 0 {
		l.ignored++
		return
	}
	if w.blocked && w.queue.len() == 1 {
		// Nothing will be left to be blocked: the Unblocked report was lost.
		l.unblock(w)
	}
	c := w.class
	c.unlink(w)
	w.queue.removeAt(i)
	switch {
	case w.blocked:
		// Stays off the pipelining lists until Unblocked.
	case w.queue.len() > 0 && !w.draining:
		c.link(w, w.queue.len())
	case w.queue.len() == 0 && (w.draining || c.tasks.len() == 0):
		l.endLease(w)
	case w.queue.len() == 0:
		c.link(w, 0) // dispatch gives it the next queued task
	}
	l.dispatch()
}

// Blocked reports that no task on w is making progress: they wait in Get.
// w gives its CPU back so that the tasks they wait for can run, and nothing
// more is sent to it until Unblocked. The tasks already assigned to w stay
// there: the worker runs them itself while the blocked one waits, so no
// task ever has to be taken back from a worker that may have started it.
// Non-CPU resources stay held: GPU memory, for one, cannot be shared. An
// actor's worker may block too.
func (l *Local) Blocked(id WorkerID) {
	w := l.workers[id]
	if w == nil || w.blocked || (w.state == leased && w.queue.len() == 0) || w.state == idle {
		l.ignored++
		return
	}
	w.blocked = true
	l.adjust(cpuIndex, w.class.cpu)
	if w.state == leased {
		w.class.unlink(w)
		w.class.active--
		l.blockedTasks++
	}
	l.dispatch()
}

// Unblocked reports that w's running task returned from Get. w takes its CPU
// back even if that oversubscribes the node; while a resource is
// oversubscribed, no lease needing it is granted and the leases holding it
// drain, so the node returns within its totals.
func (l *Local) Unblocked(id WorkerID) {
	w := l.workers[id]
	if w == nil || !w.blocked {
		l.ignored++
		return
	}
	l.unblock(w)
	l.dispatch()
}

func (l *Local) unblock(w *worker) {
	w.blocked = false
	l.adjust(cpuIndex, -w.class.cpu)
	if w.state != leased {
		return
	}
	w.class.active++
	l.blockedTasks--
	if l.mustYield(w) {
		w.draining = true
	} else if !w.draining {
		w.class.link(w, w.queue.len())
	}
}

// ActorExited reports that the actor on w ended. Its resources return to the
// node, and w, which is not reused, is stopped with a StopWorker action.
func (l *Local) ActorExited(id WorkerID) {
	w := l.workers[id]
	if w == nil || w.state != hosting {
		l.ignored++
		return
	}
	l.forget(w)
	l.emit(Action{Kind: StopWorker, Worker: id})
	l.dispatch()
}

// WorkerStarted reports that a worker came up; it joins the idle pool. It
// answers a StartWorker, or else core started it on its own.
func (l *Local) WorkerStarted(id WorkerID) {
	if l.workers[id] != nil {
		l.ignored++
		return
	}
	l.startEnded()
	w := &worker{id: id, slots: 1}
	w.proc = w
	l.countTaskProc(w)
	l.workers[id] = w
	l.makeIdle(w)
	l.dispatch()
}

// slotAdd is an AddSlot in flight: the demand it is for and the process.
type slotAdd struct {
	d    *demand
	proc *worker
}

// SlotAdded reports a slot id added to the process of proc, answering the
// oldest AddSlot. The slot takes a lease at once, and ends with it.
func (l *Local) SlotAdded(id, proc WorkerID) {
	d := l.addEnded()
	p := l.workers[proc]
	if d == nil || l.workers[id] != nil || p == nil || p.proc != p || p.state == hosting {
		l.ignored++
		return
	}
	w := &worker{id: id, proc: p}
	p.slots++
	l.workers[id] = w
	l.taskWorkers++
	l.makeIdle(w)
	l.dispatch()
	if w.state == idle {
		l.removeIdle(w)
		l.dropSlot(w)
	}
}

// SlotAddFailed answers an AddSlot whose process was gone.
func (l *Local) SlotAddFailed() {
	if l.addEnded() == nil {
		l.ignored++
		return
	}
	l.dispatch()
}

// addEnded settles the oldest outstanding AddSlot and returns its demand.
func (l *Local) addEnded() *demand {
	if l.adds.len() == 0 {
		return nil
	}
	a := l.adds.popFront()
	a.proc.adding--
	l.unclaim(a.d)
	return a.d
}

// dropSlot forgets the extra slot w, which holds nothing, and tells core.
func (l *Local) dropSlot(w *worker) {
	delete(l.workers, w.id)
	l.taskWorkers--
	w.proc.slots--
	l.emit(Action{Kind: StopWorker, Worker: w.id})
}

// WorkerStartFailed reports that a StartWorker did not produce a worker.
// sched asks again if the worker is still needed, so core should back off
// before carrying out the next StartWorker when starts keep failing.
func (l *Local) WorkerStartFailed() {
	if l.starts.len() == 0 {
		l.ignored++
		return
	}
	l.startEnded()
	l.dispatch()
}

// startEnded settles the oldest outstanding StartWorker and returns its
// demand.
func (l *Local) startEnded() *demand {
	if l.starts.len() == 0 {
		return nil
	}
	d := l.starts.popFront()
	if d.kind == taskDemand {
		l.taskStarts--
	}
	l.unclaim(d)
	return d
}

// unclaim drops the resources promised to a worker coming for d.
func (l *Local) unclaim(d *demand) {
	d.starting--
	for _, q := range d.class.need {
		l.startClaims[q.index] -= q.units
	}
}

// WorkerExited reports that w died. It returns the tasks that were assigned
// to it (the running one first) for core to retry or fail, and the actor it
// hosted, if any. Its resources return to the node. Unknown workers, such as
// ones already reported or stopped, are ignored.
func (l *Local) WorkerExited(id WorkerID) (lost []TaskRef, actor ActorRef, hadActor bool) {
	w := l.workers[id]
	if w == nil {
		l.ignored++
		return nil, 0, false
	}
	for i := 0; i < w.queue.len(); i++ {
		lost = append(lost, w.queue.at(i))
	}
	actor, hadActor = w.actor, w.state == hosting
	l.forget(w)
	l.dispatch()
	return lost, actor, hadActor
}

// forget removes w, returning whatever it holds.
func (l *Local) forget(w *worker) {
	switch w.state {
	case idle:
		l.removeIdle(w)
		l.uncountTaskProc(w)
	case leased:
		c := w.class
		c.unlink(w)
		l.releaseHeld(w)
		c.leases--
		if w.blocked {
			l.blockedTasks--
		} else {
			c.active--
		}
		if w.proc == w {
			l.uncountTaskProc(w)
		} else {
			l.taskWorkers--
		}
	case hosting:
		l.releaseHeld(w)
		for _, q := range w.class.need {
			l.actorHeld[q.index] -= q.units
		}
	}
	w.proc.slots--
	delete(l.workers, w.id)
}

// Tick tells the scheduler the time. Workers idle for longer than
// IdleTimeout are stopped with StopWorker actions, oldest first, keeping
// MinIdleWorkers; a process whose extra slots are still busy is kept.
// Idle time is measured from the last Tick before a worker became idle,
// since sched has no clock.
func (l *Local) Tick(now time.Duration) {
	l.now = max(l.now, now)
	for i := 0; i < len(l.idle) && len(l.idle) > l.cfg.MinIdleWorkers; {
		w := l.idle[i]
		if l.now-w.idleSince <= l.cfg.IdleTimeout {
			break
		}
		if w.slots > 1 {
			i++
			continue
		}
		l.forget(w)
		l.emit(Action{Kind: StopWorker, Worker: w.id})
	}
	l.dispatch()
}

func (l *Local) makeIdle(w *worker) {
	w.state, w.class, w.served, w.draining = idle, nil, 0, false
	w.idleSince = l.now
	l.idle = append(l.idle, w)
}

func (l *Local) removeIdle(w *worker) {
	if i := slices.Index(l.idle, w); i >= 0 {
		l.idle = slices.Delete(l.idle, i, i+1)
	}
}
