package node

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"manta/rpc/wire"
	"manta/sched"
	"manta/shm/store"
)

// TestRandomized drives nodes with random workloads — tasks on the results
// of others, values inline and stored, worker processes that fail to
// start or die mid-task, cancellations, releases, pins answered late,
// stored values found lost (and made again) —
// and checks every result against an oracle that evaluates the same task
// graph directly: a value is the one the graph computes, and an error is
// one the oracle can explain (the task's own retries exhausted, its
// cancellation, or a failed dependency's error). After every step the
// tables' invariants must hold, and each run ends by finishing all work
// and releasing every hold, which must leave nothing behind: no object,
// task, pin or stored byte.
func TestRandomized(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 40
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		s := newSim(t, seed)
		if err := s.run(400); err != nil {
			t.Fatalf("seed %d: %v\nlast steps:\n%s", seed, err, strings.Join(s.log[max(0, len(s.log)-40):], "\n"))
		}
		if seed%10 == 0 {
			// The same inputs give the same effects: nothing depends on
			// map order or the clock.
			again := newSim(t, seed)
			if err := again.run(400); err != nil || !slices.Equal(s.log, again.log) {
				t.Fatalf("seed %d: a second run differs (%v)", seed, err)
			}
		}
	}
}

// simTask is the oracle's record of one submitted task.
type simTask struct {
	id        wire.TaskID
	args      []wire.Arg
	deps      []*simTask // by argument, nil for inline ones
	retries   int
	lost      int  // attempts lost to dead workers
	losses    int  // times its stored result was found lost
	cancelled bool // Cancel was called while it was unfinished
	hold      *Object
}

// execution is a task a worker process was sent and has not answered.
type execution struct {
	task    wire.TaskID
	attempt uint32
	args    []wire.Arg
}

type sim struct {
	t       *testing.T
	rng     *rand.Rand
	n       *Node
	r       *recorder
	retries int
	tasks   map[wire.TaskID]*simTask
	order   []*simTask
	held    []*simTask // tasks whose result the driver still holds
	procs   map[ProcID][]execution
	starts  []ProcID
	bytes   map[int64][]byte // the fake store: offset -> value
	stored  map[wire.ObjectID]bool
	nextOff int64
	now     time.Duration
	// failedStarts counts starts that failed in a row; startsGaveUp is set
	// once there were three, when the node fails what waits for a worker.
	failedStarts int
	startsGaveUp bool
	log          []string
}

func newSim(t *testing.T, seed int64) *sim {
	rng := rand.New(rand.NewSource(seed))
	cpus := 1 + rng.Intn(3)
	total, err := sched.NewResources(map[string]float64{"CPU": float64(cpus)})
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{t: t, rng: rng, r: newRecorder(), retries: rng.Intn(3), tasks: map[wire.TaskID]*simTask{},
		procs: map[ProcID][]execution{}, bytes: map[int64][]byte{}, stored: map[wire.ObjectID]bool{}}
	s.r.quiet = true
	cfg := Config{Errors: testCodec{}, Resolve: resolveTestOptions, DefaultRetries: s.retries, LineageBytes: int64(1 + rng.Intn(4096))}
	if s.retries == 0 {
		cfg.DefaultRetries = -1 // a negative default: never retried
	}
	cfg.Sched = sched.Config{Total: total, MaxWorkers: cpus, PipelineDepth: 1 + rng.Intn(3), IdleTimeout: 5 * time.Second}
	if s.n, err = New(cfg, s.r); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *sim) logf(format string, args ...any) { s.log = append(s.log, fmt.Sprintf(format, args...)) }

func (s *sim) run(steps int) error {
	for i := 0; i < steps; i++ {
		if err := s.step(false); err != nil {
			return err
		}
	}
	// Finish: every start succeeds, every worker answers, then the driver
	// releases all it holds.
	for guard := 0; s.busy(); guard++ {
		if guard > 10000 {
			return fmt.Errorf("work does not drain: %d tasks left", len(s.n.tasks))
		}
		if err := s.step(true); err != nil {
			return err
		}
	}
	for _, st := range s.held {
		if err := s.check(st); err != nil {
			return err
		}
	}
	for _, st := range s.held {
		s.n.Release(st.hold)
	}
	s.held = nil
	s.absorb()
	if err := s.invariants(); err != nil {
		return err
	}
	if len(s.n.objects) != 0 || len(s.n.tasks) != 0 || s.n.lineage.bytes != 0 || s.n.lineage.kept != 0 {
		var left []string
		for id, o := range s.n.objects {
			left = append(left, fmt.Sprintf("%s refs=%d lin=%d rel=%v state=%d madeLin=%v", objName(id), o.refs, o.lineageRefs, o.released, o.state, o.made != nil && o.made.lin == linKept))
		}
		return fmt.Errorf("left behind: %d objects, %d tasks, lineage %d records, %d bytes: %v",
			len(s.n.objects), len(s.n.tasks), s.n.lineage.kept, s.n.lineage.bytes, left)
	}
	for id, k := range s.r.pinned {
		if k != 0 {
			return fmt.Errorf("%s still pinned %d times", objName(id), k)
		}
	}
	for id := range s.stored {
		if !s.r.freed[id] {
			return fmt.Errorf("stored %s never freed", objName(id))
		}
	}
	return nil
}

// busy reports whether anything is still to happen.
func (s *sim) busy() bool {
	if len(s.n.tasks) > 0 || len(s.r.pins) > 0 || len(s.starts) > 0 {
		return true
	}
	for _, q := range s.procs {
		if len(q) > 0 {
			return true
		}
	}
	return false
}

func (s *sim) step(finishing bool) error {
	switch k := s.rng.Intn(100); {
	case !finishing && k < 25:
		s.submit()
	case k < 35 && len(s.starts) > 0:
		i := s.rng.Intn(len(s.starts))
		p := s.starts[i]
		s.starts = slices.Delete(s.starts, i, i+1)
		if !finishing && s.rng.Intn(5) == 0 {
			s.logf("start w%d fails", p)
			if s.failedStarts++; s.failedStarts >= 3 {
				s.startsGaveUp = true
			}
			s.n.ProcStartFailed(p, errors.New("exec failed"))
		} else {
			s.logf("w%d started", p)
			s.failedStarts = 0
			s.procs[p] = nil
			s.n.ProcStarted(p)
		}
	case k < 70:
		if err := s.complete(); err != nil {
			return err
		}
	case !finishing && k < 75 && len(s.procs) > 0:
		p := s.anyProc()
		s.logf("w%d dies", p)
		for _, e := range s.procs[p] {
			if st := s.tasks[e.task]; st != nil {
				st.lost++
			}
		}
		delete(s.procs, p)
		s.n.ProcExited(p, errors.New("killed"))
	case k < 85 && len(s.r.pins) > 0:
		i := s.rng.Intn(len(s.r.pins))
		tok := s.r.pins[i]
		s.r.pins = slices.Delete(s.r.pins, i, i+1)
		req := s.n.pins[tok]
		var slot store.Slot
		err := store.ErrNotFound
		o := s.n.objects[req.arg]
		switch {
		case o != nil && !finishing && s.r.pinned[req.arg] == 0 && s.rng.Intn(4) == 0:
			// Its bytes are lost (a pinned value's cannot be): the node
			// makes it again, spending a retry of its task, or fails
			// whoever needs it.
			err = store.ErrLost
			if st := s.tasks[req.arg.Task]; st != nil {
				st.losses++
			}
		case o != nil:
			slot, err = o.slot, nil
			s.r.pinned[req.arg]++
		}
		for_ := "a worker's Get"
		if req.task != nil {
			for_ = taskName(req.task.id)
		}
		s.logf("pin #%d of %s for %s: %v", tok, objName(req.arg), for_, err)
		s.n.PinDone(tok, slot, err)
	case !finishing && k < 88 && len(s.order) > 0:
		st := s.order[s.rng.Intn(len(s.order))]
		if tk := s.n.tasks[st.id]; tk != nil && !tk.done {
			st.cancelled = true
		}
		s.logf("cancel %s", taskName(st.id))
		s.n.Cancel(st.id, ErrCancelled)
	case !finishing && k < 95 && len(s.held) > 0:
		i := s.rng.Intn(len(s.held))
		st := s.held[i]
		if !st.hold.Pending() {
			if err := s.check(st); err != nil {
				return err
			}
		}
		s.logf("release %s", taskName(st.id))
		s.n.Release(st.hold)
		s.held = slices.Delete(s.held, i, i+1)
	default:
		s.now += time.Duration(s.rng.Intn(3)) * time.Second
		s.n.Tick(s.now)
	}
	s.absorb()
	return s.invariants()
}

// absorb takes in what the node asked of its host.
func (s *sim) absorb() {
	s.starts = append(s.starts, s.r.starts...)
	s.r.starts = s.r.starts[:0]
	for _, p := range s.r.kills {
		s.logf("kill w%d", p)
		if _, live := s.procs[p]; live {
			for _, e := range s.procs[p] {
				if st := s.tasks[e.task]; st != nil {
					st.lost++
				}
			}
			delete(s.procs, p)
			s.n.ProcExited(p, errors.New("killed"))
		}
	}
	s.r.kills = s.r.kills[:0]
	for _, m := range s.r.sent {
		switch m.m.Kind {
		case wire.KindExecute:
			s.logf("w%d <- execute %s attempt %d", m.p, taskName(m.m.Task), m.m.Attempt)
			s.procs[m.p] = append(s.procs[m.p], execution{task: m.m.Task, attempt: m.m.Attempt, args: m.m.Args})
		case wire.KindShutdown:
			s.logf("w%d <- shutdown", m.p)
			if q, live := s.procs[m.p]; live && len(q) == 0 {
				delete(s.procs, m.p)
				s.n.ProcExited(m.p, errors.New("status 0"))
			}
		}
	}
	s.r.sent = s.r.sent[:0]
}

func (s *sim) anyProc() ProcID {
	ps := make([]ProcID, 0, len(s.procs))
	for p := range s.procs {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps[s.rng.Intn(len(ps))]
}

// submit makes a task on inline values and the results of earlier ones.
func (s *sim) submit() {
	id := wire.TaskID{Lo: uint64(len(s.order) + 1)}
	st := &simTask{id: id, retries: s.retries}
	for range s.rng.Intn(4) {
		if len(s.held) > 0 && s.rng.Intn(2) == 0 {
			dep := s.held[s.rng.Intn(len(s.held))]
			st.args = append(st.args, wire.Arg{IsRef: true, Ref: wire.ReturnID(dep.id)})
			st.deps = append(st.deps, dep)
			continue
		}
		st.args = append(st.args, wire.Arg{Data: fmt.Appendf(nil, "x%d", s.rng.Intn(100))})
		st.deps = append(st.deps, nil)
	}
	spec := &TaskSpec{ID: id, Kind: wire.SubmitTask, Name: []byte("f"), Args: slices.Clone(st.args)}
	if s.rng.Intn(4) == 0 {
		st.retries = s.rng.Intn(3)
		spec.Options = &Options{MaxRetries: st.retries, Key: "retries"}
	}
	s.logf("submit %s %s", taskName(id), formatSpec(spec))
	st.hold = s.n.Submit(spec)
	s.tasks[id], s.order, s.held = st, append(s.order, st), append(s.held, st)
}

// complete has a worker answer the oldest call it was sent.
func (s *sim) complete() error {
	var live []ProcID
	for p, q := range s.procs {
		if len(q) > 0 {
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return nil
	}
	slices.Sort(live)
	p := live[s.rng.Intn(len(live))]
	e := s.procs[p][0]
	s.procs[p] = s.procs[p][1:]
	st := s.tasks[e.task]
	vals := make([]string, len(e.args))
	for i, a := range e.args {
		if a.Stored {
			b, ok := s.bytes[int64(a.Slot.Offset)]
			if !ok {
				return fmt.Errorf("%s was sent a stored argument at %d that the store does not have", taskName(e.task), a.Slot.Offset)
			}
			vals[i] = string(b)
		} else {
			vals[i] = string(a.Data)
		}
		if st.deps[i] == nil && vals[i] != string(st.args[i].Data) {
			return fmt.Errorf("%s argument %d is %q, want %q", taskName(e.task), i, vals[i], st.args[i].Data)
		}
	}
	v := s.valueFrom(st, vals)
	m := wire.Msg{Kind: wire.KindDone, Task: e.task}
	if s.rng.Intn(3) == 0 {
		slot := store.Slot{Offset: s.nextOff, Size: int64(len(v))}
		s.nextOff += int64(len(v))
		s.bytes[slot.Offset] = []byte(v)
		s.stored[wire.ReturnID(e.task)] = true
		delete(s.r.freed, wire.ReturnID(e.task))
		m.Stored, m.Slot = true, ToSlot(slot)
	} else {
		m.Data = []byte(v)
	}
	s.logf("w%d done %s attempt %d: %s (stored %v)", p, taskName(e.task), e.attempt, v, m.Stored)
	if err := s.n.Worker(p, &m); err != nil {
		return err
	}
	if st.hold != nil && !st.hold.Pending() && slices.Contains(s.held, st) {
		return s.check(st)
	}
	return nil
}

// valueFrom is what a worker computes from the argument values it got.
func (s *sim) valueFrom(st *simTask, vals []string) string {
	h := fnv.New64a()
	fmt.Fprint(h, st.id.Lo)
	for _, v := range vals {
		fmt.Fprint(h, "|", v)
	}
	return fmt.Sprintf("v%016x", h.Sum64())
}

// check compares a finished task's result with the oracle.
func (s *sim) check(st *simTask) error {
	r := s.n.Result(st.hold)
	if r.Err == nil {
		var val string
		if r.Stored {
			b, ok := s.bytes[r.Slot.Offset]
			if !ok {
				return fmt.Errorf("%s is stored at %d, which the store does not have", taskName(st.id), r.Slot.Offset)
			}
			val = string(b)
		} else {
			val = string(r.Data)
		}
		want, err := s.want(st)
		if err != nil {
			return fmt.Errorf("%s = %s, but the oracle says it fails: %v", taskName(st.id), val, err)
		}
		if val != want {
			return fmt.Errorf("%s = %s, want %s", taskName(st.id), val, want)
		}
		return nil
	}
	return s.explain(st, r.Err)
}

// want is the oracle's value for st, or why it cannot have one: a
// dependency that failed.
func (s *sim) want(st *simTask) (string, error) {
	vals := make([]string, len(st.args))
	for i, dep := range st.deps {
		if dep == nil {
			vals[i] = string(st.args[i].Data)
			continue
		}
		if dep.hold == nil {
			return "", errors.New("dependency unknown")
		}
		r := s.n.Result(dep.hold)
		if (dep.hold.freed || dep.hold.released || dep.hold.Pending()) && r.Err != nil {
			// The driver released it, or it is being made again: what it
			// computed is still the oracle's.
			v, err := s.want(dep)
			if err != nil {
				return "", err
			}
			vals[i] = v
			continue
		}
		if r.Err != nil {
			return "", fmt.Errorf("dependency %s failed: %w", taskName(dep.id), r.Err)
		}
		if r.Stored {
			vals[i] = string(s.bytes[r.Slot.Offset])
		} else {
			vals[i] = string(r.Data)
		}
	}
	return s.valueFrom(st, vals), nil
}

// explain accepts err as st's outcome only if the oracle can account for
// it: st's own retries exhausted or its cancellation, or the same for a
// task it depends on, directly or not.
func (s *sim) explain(st *simTask, err error) error {
	if s.explains(st, err, map[*simTask]bool{}) {
		return nil
	}
	return fmt.Errorf("%s failed with %q, which the oracle cannot explain (lost %d of %d retries, cancelled %v)",
		taskName(st.id), err, st.lost, st.retries, st.cancelled)
}

func (s *sim) explains(st *simTask, err error, seen map[*simTask]bool) bool {
	if seen[st] {
		return false
	}
	seen[st] = true
	switch {
	case errors.Is(err, ErrWorkerDied) && st.lost+st.losses > st.retries:
		return true
	case errors.Is(err, ErrRetriesExhausted) && st.lost+st.losses > st.retries:
		return true
	case errors.Is(err, ErrLineageEvicted) && st.losses > 0:
		return true // the sim's small cap evicted it before its loss
	case errors.Is(err, ErrCancelled) && st.cancelled:
		return true
	case errors.Is(err, ErrWorkerDied) && s.startsGaveUp && strings.Contains(err.Error(), "worker starts failed"):
		return true
	}
	for _, dep := range st.deps {
		if dep != nil && s.explains(dep, err, seen) {
			return true
		}
	}
	return false
}

func (s *sim) invariants() error {
	if problems := checkInvariants(s.n, s.r); len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
