package sched

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRandomized drives Locals with random sequences of inputs, stale ones
// included, and after every step checks the internal invariants and a
// shadow model of what core would see: every task is exactly once queued,
// assigned, done, cancelled or lost; nothing is sent to a dead, blocked or
// actor worker or beyond PipelineDepth; only unblocking oversubscribes.
// Each run ends by completing everything, which must leave nothing waiting.
func TestRandomized(t *testing.T) {
	seeds := 250
	if testing.Short() {
		seeds = 50
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		s := newShadow(seed)
		if err := s.run(300); err != nil {
			t.Fatalf("seed %d: %v\nlast steps:\n%s", seed, err, strings.Join(s.log[max(0, len(s.log)-40):], "\n"))
		}
	}
}

type taskState uint8

const (
	queuedTask taskState = iota + 1
	assignedTask
	doneTask
	cancelledTask
	lostTask
)

// shadow is core's view of a Local, built only from its actions and return
// values.
type shadow struct {
	l       *Local
	rng     *rand.Rand
	classes []ClassID
	tasks   map[TaskRef]taskState
	workers map[WorkerID]*shadowWorker
	pending map[ActorRef]bool // actors not placed yet
	starts  int
	now     time.Duration
	next    uint64 // source of fresh task, worker and actor IDs
	log     []string
}

type shadowWorker struct {
	proc     WorkerID // the primary slot of its process (itself for a primary)
	tasks    []TaskRef
	blocked  bool
	actor    ActorRef
	hosting  bool
	stopping bool // ActorExited was called: a StopWorker must follow
}

func newShadow(seed int64) *shadow {
	rng := rand.New(rand.NewSource(seed))
	pick := func(xs ...float64) float64 { return xs[rng.Intn(len(xs))] }
	total, err := NewResources(map[string]float64{"CPU": pick(1, 2, 3, 4), "GPU": pick(0, 1, 2), "foo": pick(0, 2)})
	if err != nil {
		panic(err)
	}
	cfg := Config{
		Total:              total,
		MaxWorkers:         rng.Intn(4),
		MaxStartingWorkers: rng.Intn(3),
		PipelineDepth:      int(pick(1, 2, 3, 16)),
		MinIdleWorkers:     rng.Intn(2),
	}
	s := &shadow{l: New(cfg), rng: rng, tasks: map[TaskRef]taskState{}, workers: map[WorkerID]*shadowWorker{}, pending: map[ActorRef]bool{}}
	for i := range 6 {
		req, err := NewResources(map[string]float64{"CPU": pick(0, 0.5, 1, 2), "GPU": pick(0, 0.5, 1), "foo": pick(0, 0, 1)})
		if i == 0 {
			req, err = NewResources(map[string]float64{"CPU": 1}) // at least one class fits
		}
		if err != nil {
			panic(err)
		}
		fits := req.cpu <= total.cpu && req.gpu <= total.gpu && req.units("foo") <= total.units("foo")
		id, err := s.l.Class(req)
		if fits != (err == nil) || (err != nil && !errors.Is(err, ErrInfeasible)) {
			panic(fmt.Sprintf("Class(%v) on %v: %v", req, total, err))
		}
		if err == nil {
			s.classes = append(s.classes, id)
		}
	}
	return s
}

func (s *shadow) run(steps int) error {
	for range steps {
		before := slices.Clone(s.l.avail)
		unblocks, err := s.step()
		if err == nil {
			err = s.settle()
		}
		if err == nil && !unblocks {
			err = s.checkNoNewDeficit(before)
		}
		if err != nil {
			return err
		}
	}
	return s.drain()
}

// step applies one random input and reports whether it may take back a
// blocked worker's CPU, the only way to oversubscribe.
func (s *shadow) step() (unblocks bool, err error) {
	r := s.rng
	switch r.Intn(12) {
	case 0, 1, 2:
		t := TaskRef(s.fresh())
		c := s.classes[r.Intn(len(s.classes))]
		s.logf("submit class=%d t=%d", c, t)
		s.tasks[t] = queuedTask
		s.l.Submit(c, t)
	case 3, 4:
		id, w := s.pickWorker(func(w *shadowWorker) bool { return len(w.tasks) > 0 })
		t := TaskRef(r.Int63n(int64(s.next) + 2)) // stale unless w has tasks
		if w != nil {
			// A worker runs its tasks in order, except that while one is
			// blocked it runs the others, which may finish first.
			i := 0
			if w.blocked {
				i = r.Intn(len(w.tasks))
			}
			t = w.tasks[i]
			s.tasks[t] = doneTask
			w.tasks = slices.Delete(w.tasks, i, i+1)
			if w.blocked && len(w.tasks) == 0 {
				unblocks, w.blocked = true, false
			}
		}
		s.logf("task-done w=%d t=%d", id, t)
		s.l.TaskDone(id, t)
	case 5:
		t := TaskRef(r.Int63n(int64(s.next) + 2))
		s.logf("cancel t=%d", t)
		if s.l.Cancel(t) != (s.tasks[t] == queuedTask) {
			return false, fmt.Errorf("Cancel(%d) disagrees with task state %d", t, s.tasks[t])
		}
		if s.tasks[t] == queuedTask {
			s.tasks[t] = cancelledTask
		}
	case 6:
		id, w := s.pickWorker(func(w *shadowWorker) bool { return !w.blocked && (len(w.tasks) > 0 || w.hosting) })
		s.logf("blocked w=%d", id)
		if w != nil {
			w.blocked = true
		}
		s.l.Blocked(id)
	case 7:
		id, w := s.pickWorker(func(w *shadowWorker) bool { return w.blocked })
		s.logf("unblocked w=%d", id)
		if w != nil {
			w.blocked, unblocks = false, true
		}
		s.l.Unblocked(id)
	case 8:
		if r.Intn(3) == 0 {
			a := ActorRef(s.fresh())
			c := s.classes[r.Intn(len(s.classes))]
			s.logf("place-actor a=%d class=%d", a, c)
			s.pending[a] = true
			s.l.PlaceActor(a, c)
		} else {
			id, w := s.pickWorker(func(w *shadowWorker) bool { return w.hosting })
			s.logf("actor-exited w=%d", id)
			if w != nil {
				w.stopping = true
			}
			s.l.ActorExited(id)
		}
	case 9:
		if s.starts > 0 && r.Intn(4) == 0 {
			s.logf("worker-start-failed")
			s.starts--
			s.l.WorkerStartFailed()
			break
		}
		s.startWorker()
	case 10:
		return false, s.exitWorker()
	case 11:
		if r.Intn(20) == 0 {
			// A GPU is lost: the queued work no device left can serve
			// leaves the queues (core fails it).
			i := r.Intn(3)
			s.logf("device-lost gpu=%d", i)
			s.l.DeviceLost(i)
			// What the lost device's holders hold is off the free GPUs
			// until they exit: the one other way to a deficit.
			unblocks = true
			break
		}
		s.now += time.Duration(r.Intn(7)) * time.Second
		s.logf("tick %v", s.now)
		s.l.Tick(s.now)
	}
	return unblocks, nil
}

// startWorker reports a worker up: usually a new one, which answers a
// StartWorker if any is outstanding, and sometimes a duplicate report.
func (s *shadow) startWorker() {
	if s.rng.Intn(8) == 0 && len(s.workers) > 0 {
		id, _ := s.pickWorker(func(*shadowWorker) bool { return true })
		if s.workers[id] != nil {
			s.logf("worker-started w=%d (again)", id)
			s.l.WorkerStarted(id)
			return
		}
	}
	id := WorkerID(s.fresh())
	s.logf("worker-started w=%d", id)
	s.workers[id] = &shadowWorker{proc: id}
	s.starts = max(0, s.starts-1)
	s.l.WorkerStarted(id)
}

// exitWorker kills a process: core reports every slot of it, the primary
// first.
func (s *shadow) exitWorker() error {
	id, w := s.pickWorker(func(*shadowWorker) bool { return true })
	if w == nil {
		s.logf("worker-exited w=%d", id)
		if lost, _, hadActor := s.l.WorkerExited(id); lost != nil || hadActor {
			return fmt.Errorf("unknown worker %d lost %v, actor %v", id, lost, hadActor)
		}
		return nil
	}
	proc := w.proc
	slots := []WorkerID{proc}
	for sid, sw := range s.workers {
		if sw.proc == proc && sid != proc {
			slots = append(slots, sid)
		}
	}
	slices.Sort(slots[1:])
	for _, id := range slots {
		w := s.workers[id]
		s.logf("worker-exited w=%d", id)
		lost, a, hadActor := s.l.WorkerExited(id)
		if !slices.Equal(lost, w.tasks) || hadActor != w.hosting || (hadActor && a != w.actor) {
			return fmt.Errorf("WorkerExited(%d) = %v, %d, %v; want %v, %d, %v", id, lost, a, hadActor, w.tasks, w.actor, w.hosting)
		}
		for _, t := range lost {
			s.tasks[t] = lostTask
		}
		delete(s.workers, id)
	}
	return nil
}

// pickWorker picks a worker that satisfies ok, or one time in ten (or when
// none does) an ID that may be stale or unknown, with a nil *shadowWorker
// when sched should not know it.
func (s *shadow) pickWorker(ok func(*shadowWorker) bool) (WorkerID, *shadowWorker) {
	var ids []WorkerID
	for id, w := range s.workers {
		if ok(w) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) == 0 || s.rng.Intn(10) == 0 {
		id := WorkerID(s.rng.Int63n(int64(s.next) + 2))
		if w := s.workers[id]; w != nil && ok(w) {
			return id, w
		}
		return id, nil
	}
	id := ids[s.rng.Intn(len(ids))]
	return id, s.workers[id]
}

// settle carries out the pending actions as core would, checking each, then
// compares the shadow with the scheduler.
func (s *shadow) settle() error {
	for len(s.l.Actions()) > 0 {
		acts := slices.Clone(s.l.Actions())
		s.l.ClearActions()
		var adds []WorkerID
		for _, a := range acts {
			if err := s.absorb(a); err != nil {
				return fmt.Errorf("%v: %w", a, err)
			}
			if a.Kind == AddSlot {
				adds = append(adds, a.Worker)
			}
		}
		// Core answers AddSlot at once, as it carries out the actions.
		for _, proc := range adds {
			if s.workers[proc] == nil {
				s.logf("slot-add-failed")
				s.l.SlotAddFailed()
				continue
			}
			id := WorkerID(s.fresh())
			s.logf("slot-added w=%d proc=%d", id, proc)
			s.workers[id] = &shadowWorker{proc: proc}
			s.l.SlotAdded(id, proc)
		}
	}
	for id, w := range s.workers {
		if w.stopping {
			return fmt.Errorf("no StopWorker for w%d after ActorExited", id)
		}
	}
	if err := s.compare(); err != nil {
		return err
	}
	return checkInvariants(s.l)
}

func (s *shadow) absorb(a Action) error {
	s.logf("  %v", a)
	w := s.workers[a.Worker]
	switch a.Kind {
	case Dispatch:
		switch {
		case w == nil || w.blocked || w.hosting:
			return errors.New("worker is unknown, blocked or an actor's")
		case s.tasks[a.Task] != queuedTask:
			return fmt.Errorf("task is in state %d", s.tasks[a.Task])
		case len(w.tasks) == s.l.cfg.PipelineDepth:
			return errors.New("pipeline is full")
		}
		w.tasks = append(w.tasks, a.Task)
		s.tasks[a.Task] = assignedTask
	case Refuse:
		if a.Actor != 0 {
			if !s.pending[a.Actor] {
				return errors.New("refused an actor that is not pending")
			}
			delete(s.pending, a.Actor)
			break
		}
		if s.tasks[a.Task] != queuedTask {
			return fmt.Errorf("refused a task in state %d", s.tasks[a.Task])
		}
		s.tasks[a.Task] = cancelledTask
	case StartWorker:
		s.starts++
	case StopWorker:
		if w == nil || len(w.tasks) > 0 || w.hosting != w.stopping {
			return errors.New("worker is unknown, busy, or an actor's that did not exit")
		}
		delete(s.workers, a.Worker)
	case PlaceActor:
		if w == nil || w.hosting || len(w.tasks) > 0 || !s.pending[a.Actor] {
			return errors.New("worker is unknown or busy, or the actor is not pending")
		}
		for id, o := range s.workers {
			if id != a.Worker && o.proc == w.proc {
				return fmt.Errorf("the actor would share its process with w%d", id)
			}
		}
		delete(s.pending, a.Actor)
		w.hosting, w.actor = true, a.Actor
	case AddSlot:
		if w == nil || w.proc != a.Worker || w.hosting {
			return errors.New("slot asked of an unknown, extra or actor's worker")
		}
	default:
		return errors.New("unknown action")
	}
	return nil
}

// compare checks that the scheduler's workers, queues and starts are what
// the shadow saw.
func (s *shadow) compare() error {
	l := s.l
	if len(l.workers) != len(s.workers) || l.starts.len() != s.starts {
		return fmt.Errorf("%d workers and %d starting; shadow has %d and %d", len(l.workers), l.starts.len(), len(s.workers), s.starts)
	}
	for id, sw := range s.workers {
		w := l.workers[id]
		if w == nil {
			return fmt.Errorf("w%d is unknown to sched", id)
		}
		var tasks []TaskRef
		for i := range w.queue.len() {
			tasks = append(tasks, w.queue.at(i))
		}
		if !slices.Equal(tasks, sw.tasks) || w.blocked != sw.blocked || (w.state == hosting) != sw.hosting {
			return fmt.Errorf("w%d: tasks %v blocked %v actor %v; shadow: %v %v %v", id, tasks, w.blocked, w.state == hosting, sw.tasks, sw.blocked, sw.hosting)
		}
	}
	queued, pending := 0, 0
	for _, c := range l.classes[1:] {
		for i := range c.tasks.len() {
			if t := c.tasks.at(i); s.tasks[t] != queuedTask {
				return fmt.Errorf("t%d is queued in class %d, shadow state %d", t, c.id, s.tasks[t])
			}
		}
		queued += c.tasks.len()
		for i := range c.actors.len() {
			if !s.pending[c.actors.at(i)] {
				return fmt.Errorf("actor %d is queued but not pending", c.actors.at(i))
			}
		}
		pending += c.actors.len()
	}
	want := 0
	for _, st := range s.tasks {
		if st == queuedTask {
			want++
		}
	}
	if queued != want || pending != len(s.pending) {
		return fmt.Errorf("%d tasks and %d actors queued; shadow has %d and %d", queued, pending, want, len(s.pending))
	}
	return nil
}

// checkNoNewDeficit checks that a step that unblocked nothing pushed no
// resource below zero, or further below.
func (s *shadow) checkNoNewDeficit(before []int64) error {
	for i, v := range s.l.avail {
		if v < min(0, before[i]) {
			return fmt.Errorf("%s went from %d to %d", s.l.space.names[i], before[i], v)
		}
	}
	return nil
}

// drain completes everything as well-behaved workers would: start what is
// asked for, unblock, finish tasks, end actors. Nothing may be left waiting.
func (s *shadow) drain() error {
	s.logf("-- drain")
	for range 100000 {
		var id WorkerID
		switch {
		case s.starts > 0:
			id = WorkerID(s.fresh())
			s.workers[id] = &shadowWorker{proc: id}
			s.starts--
			s.logf("worker-started w=%d", id)
			s.l.WorkerStarted(id)
		case s.first(func(w *shadowWorker) bool { return w.blocked }, &id):
			s.workers[id].blocked = false
			s.logf("unblocked w=%d", id)
			s.l.Unblocked(id)
		case s.first(func(w *shadowWorker) bool { return len(w.tasks) > 0 }, &id):
			w := s.workers[id]
			t := w.tasks[0]
			s.tasks[t] = doneTask
			w.tasks = w.tasks[1:]
			s.logf("task-done w=%d t=%d", id, t)
			s.l.TaskDone(id, t)
		case s.first(func(w *shadowWorker) bool { return w.hosting }, &id):
			s.workers[id].stopping = true
			s.logf("actor-exited w=%d", id)
			s.l.ActorExited(id)
		default:
			for t, st := range s.tasks {
				if st == queuedTask || st == assignedTask {
					return fmt.Errorf("t%d left in state %d with nothing to do", t, st)
				}
			}
			if len(s.pending) > 0 {
				return fmt.Errorf("%d actors left pending with nothing to do", len(s.pending))
			}
			return nil
		}
		if err := s.settle(); err != nil {
			return err
		}
	}
	return errors.New("drain did not finish")
}

// first sets *id to the lowest worker ID that satisfies ok.
func (s *shadow) first(ok func(*shadowWorker) bool, id *WorkerID) bool {
	found := false
	for wid, w := range s.workers {
		if ok(w) && (!found || wid < *id) {
			*id, found = wid, true
		}
	}
	return found
}

func (s *shadow) fresh() uint64 {
	s.next++
	return s.next
}

func (s *shadow) logf(format string, args ...any) {
	s.log = append(s.log, fmt.Sprintf(format, args...))
}
