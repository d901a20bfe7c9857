package node

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"manta/internal/script"
	"manta/rpc/wire"
	"manta/sched"
	"manta/shm/store"
)

// TestScripts runs the scripts in testdata (see internal/script): the
// expected outputs are the specification of the node's behaviour.
func TestScripts(t *testing.T) {
	script.Walk(t, "testdata", func(*testing.T) script.Func {
		s := &scriptState{held: map[wire.ObjectID][]*Object{}, waiters: map[string]*Waiter{}}
		return s.run
	})
}

// scriptState runs script commands against one Node.
type scriptState struct {
	n       *Node
	r       *recorder
	autopin bool
	nextOff uint64                      // the fake store's next free offset
	held    map[wire.ObjectID][]*Object // the driver's holds
	waiters map[string]*Waiter          // the driver's Gets and Waits
}

func (s *scriptState) run(cmd string, args script.Args) (string, error) {
	if s.n == nil && cmd != "new" {
		return "", fmt.Errorf("new must come first")
	}
	out, err := s.apply(cmd, args)
	if err != nil {
		return "", err
	}
	out += s.drainPins()
	if problems := checkInvariants(s.n, s.r); len(problems) > 0 {
		return "", fmt.Errorf("invariants broken after %s:\n%s", cmd, strings.Join(problems, "\n"))
	}
	return out, nil
}

// drainPins answers pins at once when the script asked for autopin.
func (s *scriptState) drainPins() string {
	if !s.autopin {
		return ""
	}
	for len(s.r.pins) > 0 {
		tok := s.r.pins[0]
		s.r.pins = s.r.pins[1:]
		s.pinDone(tok, nil)
	}
	return s.r.take()
}

func (s *scriptState) pinDone(tok PinToken, err error) {
	req, ok := s.n.pins[tok]
	if !ok {
		s.n.PinDone(tok, store.Slot{}, err)
		return
	}
	var slot store.Slot
	if o := s.n.objects[req.arg]; o != nil && err == nil {
		slot = o.slot
		s.r.pinned[req.arg]++
	} else if err == nil {
		err = store.ErrNotFound
	}
	s.n.PinDone(tok, slot, err)
}

func (s *scriptState) apply(cmd string, args script.Args) (string, error) {
	switch cmd {
	case "new":
		return s.new(args)
	case "submit", "actor", "call":
		spec, err := s.spec(cmd, args)
		if err != nil {
			return "", err
		}
		o := s.n.Submit(spec)
		s.held[o.id] = append(s.held[o.id], o)
		return s.r.take(), nil
	case "put":
		id, err := argObj(args, "p")
		if err != nil {
			return "", err
		}
		contained, err := objList(args, "contained")
		if err != nil {
			return "", err
		}
		o := s.n.Put(id, s.value(args), contained)
		s.held[id] = append(s.held[id], o)
		return s.r.take(), nil
	case "release":
		for _, w := range args.Words() {
			id, err := parseObj(w)
			if err != nil {
				return "", err
			}
			hs := s.held[id]
			if len(hs) == 0 {
				return "", fmt.Errorf("the driver holds no %s", w)
			}
			s.n.Release(hs[len(hs)-1])
			if s.held[id] = hs[:len(hs)-1]; len(s.held[id]) == 0 {
				delete(s.held, id)
			}
		}
		return s.r.take(), nil
	case "hold":
		for _, w := range args.Words() {
			id, err := parseObj(w)
			if err != nil {
				return "", err
			}
			if o := s.n.Hold(id); o != nil {
				s.held[id] = append(s.held[id], o)
			} else {
				fmt.Fprintf(&s.r.out, "%s: not held\n", w)
			}
		}
		return s.r.take(), nil
	case "get", "wait":
		return s.await(cmd, args)
	case "remake":
		return s.remake(args)
	case "abandon":
		name, err := args.Get("d")
		if err != nil {
			return "", err
		}
		s.n.Abandon(s.waiters["d"+name])
		return s.r.take(), nil
	case "result":
		var b strings.Builder
		for _, w := range args.Words() {
			o, err := s.lastHeld(w)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "%s: %s\n", w, formatResult(s.n.Result(o)))
		}
		return b.String(), nil
	case "proc-started", "proc-start-failed", "proc-exited":
		p, err := argProc(args)
		if err != nil {
			return "", err
		}
		switch cmd {
		case "proc-started":
			s.n.ProcStarted(p)
		case "proc-start-failed":
			s.n.ProcStartFailed(p, fmt.Errorf("exec failed"))
		default:
			cause, _ := args.Get("cause")
			if cause == "" {
				cause = "killed"
			}
			s.n.ProcExited(p, fmt.Errorf("%s", cause))
		}
		return s.r.take(), nil
	case "worker":
		return s.worker(args)
	case "pin-done":
		tok, err := strconv.ParseUint(strings.TrimPrefix(args.Word(), "#"), 10, 64)
		if err != nil {
			return "", fmt.Errorf("pin-done #TOKEN: %v", err)
		}
		var perr error
		if e, ok := args.Get("error"); ok == nil {
			if perr = storeErrors[e]; perr == nil {
				return "", fmt.Errorf("unknown store error %q", e)
			}
		}
		s.r.pins = slices.DeleteFunc(s.r.pins, func(t PinToken) bool { return t == PinToken(tok) })
		s.pinDone(PinToken(tok), perr)
		return s.r.take(), nil
	case "timer-fired":
		tok, err := strconv.ParseUint(strings.TrimPrefix(args.Word(), "#"), 10, 64)
		if err != nil {
			return "", err
		}
		s.n.TimerFired(TimerToken(tok))
		return s.r.take(), nil
	case "cancel":
		t, err := argTask(args, "t")
		if err != nil {
			return "", err
		}
		s.n.Cancel(t, ErrCancelled)
		return s.r.take(), nil
	case "kill-actor":
		a, err := argTask(args, "a")
		if err != nil {
			return "", err
		}
		if err := s.n.KillActor(a); err != nil {
			fmt.Fprintf(&s.r.out, "error: %v\n", err)
		}
		return s.r.take(), nil
	case "lookup":
		name, err := args.Get("name")
		if err != nil {
			return "", err
		}
		id, typ, err := s.n.LookupActor(name)
		if err != nil {
			return fmt.Sprintf("error: %v\n", err), nil
		}
		return fmt.Sprintf("%s %s\n", taskName(id), typ), nil
	case "device-lost": // device-lost gpu=N
		i, err := args.Uint("gpu")
		if err != nil {
			return "", err
		}
		s.n.DeviceLost(int(i), fmt.Errorf("fell off the bus"))
		return s.r.take(), nil
	case "tick":
		d, err := time.ParseDuration(args.Word())
		if err != nil {
			return "", err
		}
		s.n.Tick(d)
		return s.r.take(), nil
	case "shutdown":
		s.n.Shutdown()
		return s.r.take(), nil
	case "lineage":
		var b strings.Builder
		for _, w := range args.Words() {
			id, err := parseObj(w)
			if err != nil {
				return "", err
			}
			spec, err := s.n.Lineage(id)
			if err != nil {
				fmt.Fprintf(&b, "%s: %v\n", w, err)
				continue
			}
			fmt.Fprintf(&b, "%s: %s\n", w, formatSpec(spec))
		}
		return b.String(), nil
	case "stats":
		st := s.n.Stats()
		return fmt.Sprintf("objects=%d tasks=%d workers=%d started=%d died=%d actors=%d lineage=%d lineage-bytes=%d evicted=%d\n",
			st.Objects, st.Tasks, st.Workers, st.Started, st.Died, st.Actors, st.Lineage, st.LineageBytes, st.Evicted), nil
	case "replays":
		st := s.n.Stats()
		return fmt.Sprintf("replayed=%d checkpoints=%d rejected=%d\n", st.CallsReplayed, st.Checkpoints, st.CheckpointsRejected), nil
	case "objects":
		return dumpObjects(s.n), nil
	case "list":
		return dumpListings(s.n), nil
	case "run-here", "spill-done", "spill-failed":
		t, err := argTask(args, "t")
		if err != nil {
			return "", err
		}
		switch cmd {
		case "run-here":
			s.n.RunHere(t)
		case "spill-failed":
			s.n.SpillFailed(t, s.spillAttempt(t, args), errors.New("node lost"))
		default:
			var failed []byte
			if e, err := args.Get("error"); err == nil {
				err := errors.New(e)
				switch e {
				case "lost":
					err = fmt.Errorf("an argument: %w", ErrObjectLost)
				case "shutdown": // the node it ran on stopped under it
					err = ErrShutdown
				}
				failed = testCodec{}.Encode(err, []byte("f"), t)
			}
			contained, err := objList(args, "contained")
			if err != nil {
				return "", err
			}
			if state, err := args.Get("checkpoint"); err == nil { // as the host gives it, just before
				s.n.CallCheckpointed(t, s.spillAttempt(t, args), []byte(state))
			}
			if !s.n.SpillDone(t, s.spillAttempt(t, args), s.value(args), contained, failed) {
				fmt.Fprintf(&s.r.out, "not taken\n")
			}
		}
		return s.r.take(), nil
	case "put-remote":
		id, err := argObj(args, "p")
		if err != nil {
			return "", err
		}
		size, err := args.Uint("size")
		if err != nil {
			return "", err
		}
		o := s.n.PutRemote(id, int64(size))
		s.held[id] = append(s.held[id], o)
		return s.r.take(), nil
	}
	return "", fmt.Errorf("unknown command %q", cmd)
}

// spillAttempt is the attempt a spill-done or spill-failed answers: its
// attempt=N, else the task's latest.
func (s *scriptState) spillAttempt(t wire.TaskID, args script.Args) uint32 {
	if a, err := args.Uint("attempt"); err == nil {
		return uint32(a)
	}
	if tk := s.n.tasks[t]; tk != nil {
		return tk.attempt
	}
	return 0
}

func (s *scriptState) new(args script.Args) (string, error) {
	res := map[string]float64{}
	for k, v := range args.Pairs() {
		if k == "cpu" || k == "gpu" {
			q, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return "", err
			}
			res[strings.ToUpper(k)] = q
		}
	}
	if len(res) == 0 {
		res["CPU"] = 1
	}
	total, err := sched.NewResources(res)
	if err != nil {
		return "", err
	}
	cfg := Config{Errors: testCodec{}, Resolve: resolveTestOptions}
	cfg.Sched.Total = total
	if cfg.Sched.MaxWorkers, err = args.IntOr("max-workers", int(res["CPU"])); err != nil {
		return "", err
	}
	if cfg.Sched.PipelineDepth, err = args.IntOr("depth", 1); err != nil {
		return "", err
	}
	cfg.Sched.IdleTimeout = 10 * time.Second
	if cfg.DefaultRetries, err = args.IntOr("retries", 3); err != nil {
		return "", err
	}
	if cfg.SpillQueue, err = args.IntOr("spill", 0); err != nil {
		return "", err
	}
	lineage, err := args.IntOr("lineage", 0)
	if err != nil {
		return "", err
	}
	cfg.LineageBytes = int64(lineage)
	delay, err := args.IntOr("delay-ms", 0)
	if err != nil {
		return "", err
	}
	cfg.InjectDelay = time.Duration(delay) * time.Millisecond
	s.autopin = slices.Contains(args.Words(), "autopin")
	s.held, s.waiters, s.nextOff = map[wire.ObjectID][]*Object{}, map[string]*Waiter{}, 0
	s.r = newRecorder()
	s.n, err = New(cfg, s.r)
	return "", err
}

// spec builds a TaskSpec from a submit, actor or call command.
func (s *scriptState) spec(cmd string, args script.Args) (*TaskSpec, error) {
	id, err := argTask(args, "t")
	if err != nil {
		return nil, err
	}
	spec := &TaskSpec{ID: id, Kind: wire.SubmitTask, Name: []byte("f")}
	switch cmd {
	case "actor":
		spec.Kind, spec.Name = wire.SubmitActor, []byte("Counter")
	case "call":
		spec.Kind, spec.Name = wire.SubmitActorCall, []byte("Counter.Add")
		if spec.Actor, err = argTask(args, "actor"); err != nil {
			return nil, err
		}
	}
	if fn, err := args.Get("fn"); err == nil {
		spec.Name = []byte(fn)
	}
	if spec.Args, err = argList(args); err != nil {
		return nil, err
	}
	if spec.Contained, err = objList(args, "contained"); err != nil {
		return nil, err
	}
	if spec.Returns, err = args.IntOr("returns", 0); err != nil {
		return nil, err
	}
	if args.Has("parent") {
		if spec.Parent, err = argTask(args, "parent"); err != nil {
			return nil, err
		}
	}
	dl, err := args.IntOr("deadline", 0)
	if err != nil {
		return nil, err
	}
	spec.Deadline = int64(dl)
	spec.Watched = slices.Contains(args.Words(), "watched")
	spec.Placed = slices.Contains(args.Words(), "placed")
	if spec.Options, err = optionsFrom(args.Pairs(), args.Words()); err != nil {
		return nil, err
	}
	return spec, err
}

// optionsFrom builds Options from script arguments; nil when none is
// given.
func optionsFrom(pairs map[string]string, words []string) (*Options, error) {
	o := &Options{MaxRetries: -1}
	set := false
	for k, v := range pairs {
		var err error
		switch k {
		case "cpu", "gpu":
			var q float64
			q, err = strconv.ParseFloat(v, 64)
			if o.Resources == nil {
				o.Resources = map[string]float64{}
			}
			o.Resources[strings.ToUpper(k)] = q
		case "retries":
			o.MaxRetries, err = strconv.Atoi(v)
		case "restarts":
			o.MaxRestarts, err = strconv.Atoi(v)
		case "task-retries":
			o.MaxTaskRetries, err = strconv.Atoi(v)
		case "concurrency":
			o.MaxConcurrency, err = strconv.Atoi(v)
		case "checkpoint-every":
			o.CheckpointEvery, err = strconv.Atoi(v)
			o.Replay = true
		case "name":
			o.Name = v
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		set = true
	}
	for _, w := range words {
		switch w {
		case "detached":
			o.Detached, set = true, true
		case "unknown":
			o.Unknown, set = true, true
		case "replay":
			o.Replay, set = true, true
		}
	}
	if !set {
		return nil, nil
	}
	return o, nil
}

// resolveTestOptions is the scripts' Config.Resolve: a worker's options
// travel as "key=value;key=value".
func resolveTestOptions(_ wire.SubmitKind, _, opts []byte) (*Options, error) {
	if len(opts) == 0 {
		return nil, nil
	}
	pairs := map[string]string{}
	var words []string
	for _, kv := range strings.Split(string(opts), ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			pairs[k] = v
		} else {
			words = append(words, kv)
		}
	}
	return optionsFrom(pairs, words)
}

// value builds a Value from value=TEXT or stored=SIZE.
func (s *scriptState) value(args script.Args) Value {
	if size, err := args.Uint("stored"); err == nil {
		slot := store.Slot{Offset: int64(s.nextOff), Size: int64(size)}
		s.nextOff += size
		return Value{Stored: true, Slot: slot}
	}
	v, _ := args.Get("value")
	return Value{Data: []byte(v)}
}

func (s *scriptState) await(cmd string, args script.Args) (string, error) {
	name, err := args.Get("d")
	if err != nil {
		return "", err
	}
	var objs []*Object
	for _, w := range args.Words() {
		o, err := s.lastHeld(w)
		if err != nil {
			return "", err
		}
		objs = append(objs, o)
	}
	w := &Waiter{}
	s.waiters["d"+name] = w
	waiterNames[w] = "d" + name
	pending := 0
	for _, o := range objs {
		if s.n.Await(w, o) {
			pending++
		}
	}
	if cmd == "wait" {
		k, err := args.IntOr("k", 1)
		if err != nil {
			return "", err
		}
		s.n.Need(w, k-(len(objs)-pending))
	}
	return fmt.Sprintf("pending=%d fired=%v\n", pending, w.Fired()) + s.r.take(), nil
}

// remake plays a driver's Get whose own pin of an object failed: the
// node makes it again (the Get waits, as dN) or says why not.
func (s *scriptState) remake(args script.Args) (string, error) {
	name, err := args.Get("d")
	if err != nil {
		return "", err
	}
	id, err := parseObj(args.Word())
	if err != nil {
		return "", err
	}
	e, _ := args.Get("error")
	storeErr := storeErrors[e]
	if storeErr == nil {
		return "", fmt.Errorf("remake d=N OBJ error=STORE-ERROR, not %q", e)
	}
	w, err := s.n.Remake(id, storeErr)
	if err != nil {
		return fmt.Sprintf("error: %v\n", err) + s.r.take(), nil
	}
	s.waiters["d"+name] = w
	waiterNames[w] = "d" + name
	return "waiting\n" + s.r.take(), nil
}

// worker plays a message from a worker process.
func (s *scriptState) worker(args script.Args) (string, error) {
	p, err := argProc(args)
	if err != nil {
		return "", err
	}
	words := args.Words()
	if len(words) == 0 {
		return "", fmt.Errorf("worker w=N KIND ...")
	}
	kind, rest := words[0], words[1:]
	m := wire.Msg{}
	req, _ := args.IntOr("req", 0)
	m.ReqID = uint64(req)
	objs := func() ([]wire.ObjectID, error) {
		var ids []wire.ObjectID
		for _, w := range rest {
			if strings.Contains(w, "=") || w == "watched" {
				continue
			}
			id, err := parseObj(w)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, nil
	}
	switch kind {
	case "done":
		m.Kind = wire.KindDone
		if m.Task, err = argTask(args, "t"); err != nil {
			return "", err
		}
		switch {
		case args.Has("error"):
			e, _ := args.Get("error")
			m.Status, m.Data = wire.StatusError, testCodec{}.Encode(fmt.Errorf("%s", e), nil, m.Task)
		case args.Has("results"):
			v, _ := args.Get("results")
			for _, x := range strings.Split(v, ",") {
				if size, err := strconv.ParseUint(strings.TrimPrefix(x, "stored:"), 10, 64); err == nil && strings.HasPrefix(x, "stored:") {
					m.Results = append(m.Results, wire.Result{Stored: true, Slot: wire.Slot{Offset: s.nextOff, Size: size}})
					s.nextOff += size
					continue
				}
				m.Results = append(m.Results, wire.Result{Data: []byte(x)})
			}
		default:
			v := s.value(args)
			m.Data, m.Stored, m.Slot = v.Data, v.Stored, ToSlot(v.Slot)
		}
		if m.IDs, err = objList(args, "contains"); err != nil {
			return "", err
		}
		// A task run again stores its results anew: freeing them again
		// is no double free.
		if m.Stored {
			delete(s.r.freed, wire.ReturnID(m.Task))
		}
		for i, r := range m.Results {
			if r.Stored {
				delete(s.r.freed, PartID(wire.ReturnID(m.Task), i))
			}
		}
	case "submit", "actor", "call":
		spec, err := s.spec(kind, args)
		if err != nil {
			return "", err
		}
		var opts []string
		for k, v := range args.Pairs() {
			switch k {
			case "cpu", "gpu", "retries", "restarts", "concurrency", "name":
				opts = append(opts, k+"="+v)
			}
		}
		for _, w := range rest {
			if w == "detached" || w == "unknown" {
				opts = append(opts, w)
			}
		}
		slices.Sort(opts)
		m = wire.Msg{Kind: wire.KindSubmit, Task: spec.ID, Submit: spec.Kind, Name: spec.Name, Actor: spec.Actor, Args: spec.Args,
			IDs: spec.Contained, Returns: uint32(spec.Returns), Parent: spec.Parent, Deadline: spec.Deadline, Opts: []byte(strings.Join(opts, ";"))}
	case "get", "wait":
		m.Kind = wire.KindGet
		if kind == "wait" {
			m.Kind = wire.KindWait
			k, err := args.IntOr("k", 1)
			if err != nil {
				return "", err
			}
			m.K = uint32(k)
			if v, err := args.Get("timeout"); err == nil {
				d, err := time.ParseDuration(v)
				if err != nil {
					return "", err
				}
				m.TimeoutNanos = int64(d)
			}
		}
		if m.IDs, err = objs(); err != nil {
			return "", err
		}
	case "put":
		m.Kind = wire.KindPut
		if m.Object, err = argObj(args, "p"); err != nil {
			return "", err
		}
		v := s.value(args)
		m.Data, m.Stored, m.Slot = v.Data, v.Stored, ToSlot(v.Slot)
	case "blocked", "unblocked":
		m.Kind = wire.KindBlocked
		if kind == "unblocked" {
			m.Kind = wire.KindUnblocked
		}
		slot, err := args.Uint("slot")
		if err != nil {
			return "", err
		}
		m.Worker = uint32(slot)
	case "addref", "delref":
		m.Kind = wire.KindAddRef
		if kind == "delref" {
			m.Kind = wire.KindDelRef
		}
		if m.IDs, err = objs(); err != nil {
			return "", err
		}
	case "ready":
		m.Kind = wire.KindActorReady
		if m.Task, err = argTask(args, "t"); err != nil {
			return "", err
		}
		if e, err := args.Get("error"); err == nil {
			m.Status, m.Data = wire.StatusError, testCodec{}.Encode(fmt.Errorf("%s", e), nil, m.Task)
		}
		if e, err := args.Get("restore-error"); err == nil {
			m.Status, m.Data = wire.StatusError, testCodec{}.Encode(fmt.Errorf("%w: %s", ErrCheckpoint, e), nil, m.Task)
		}
	case "checkpoint":
		m.Kind = wire.KindCheckpoint
		if m.Task, err = argTask(args, "t"); err != nil {
			return "", err
		}
		state, err := args.Get("state")
		if err != nil {
			return "", err
		}
		m.Data = []byte(state)
	case "cancel":
		m.Kind = wire.KindCancel
		if m.Task, err = argTask(args, "t"); err != nil {
			return "", err
		}
	case "kill-actor":
		m.Kind = wire.KindKillActor
		if m.Actor, err = argTask(args, "a"); err != nil {
			return "", err
		}
	case "lookup":
		m.Kind = wire.KindLookupActor
		name, err := args.Get("name")
		if err != nil {
			return "", err
		}
		m.Name = []byte(name)
	case "create":
		m.Kind = wire.KindCreate
	default:
		return "", fmt.Errorf("unknown worker message %q", kind)
	}
	if err := s.n.Worker(p, &m); err != nil {
		fmt.Fprintf(&s.r.out, "rejected: %v\n", err)
	}
	return s.r.take(), nil
}

func argTask(args script.Args, key string) (wire.TaskID, error) {
	v, err := args.Get(key)
	if err != nil {
		return wire.TaskID{}, err
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(v, "t"), 10, 64)
	return wire.TaskID{Lo: n}, err
}

func argProc(args script.Args) (ProcID, error) {
	v, err := args.Get("w")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(v, "w"), 10, 32)
	return ProcID(n), err
}

func argObj(args script.Args, key string) (wire.ObjectID, error) {
	v, err := args.Get(key)
	if err != nil {
		return wire.ObjectID{}, err
	}
	if key == "p" && !strings.HasPrefix(v, "p") {
		v = "p" + v
	}
	return parseObj(v)
}

func objList(args script.Args, key string) ([]wire.ObjectID, error) {
	v, err := args.Get(key)
	if err != nil {
		return nil, nil
	}
	var ids []wire.ObjectID
	for _, w := range strings.Split(v, ",") {
		id, err := parseObj(w)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// argList parses args=a,t2,p3: object names are references, anything
// else an inline value.
func argList(args script.Args) ([]wire.Arg, error) {
	v, err := args.Get("args")
	if err != nil {
		return nil, nil
	}
	var out []wire.Arg
	for _, w := range strings.Split(v, ",") {
		if id, err := parseObj(w); err == nil {
			out = append(out, wire.Arg{IsRef: true, Ref: id})
			continue
		}
		out = append(out, wire.Arg{Data: []byte(w)})
	}
	return out, nil
}

func formatResult(r Result) string {
	switch {
	case r.Err != nil:
		return "error: " + r.Err.Error()
	case r.Stored:
		return "stored " + formatSlot(ToSlot(r.Slot))
	}
	return fmt.Sprintf("%q", r.Data)
}

func formatSpec(spec *TaskSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s(", taskName(spec.ID), spec.Name)
	for i, a := range spec.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		if a.IsRef {
			b.WriteString(objName(a.Ref))
		} else {
			b.Write(a.Data)
		}
	}
	b.WriteString(")")
	if spec.Returns > 0 {
		fmt.Fprintf(&b, " returns=%d", spec.Returns)
	}
	if !spec.Actor.IsZero() {
		fmt.Fprintf(&b, " actor=%s", taskName(spec.Actor))
	}
	return b.String()
}

// dumpObjects lists the node's objects, sorted by name.
func dumpObjects(n *Node) string {
	var lines []string
	for _, o := range n.objects {
		state := [...]string{"pending", "ready", "failed"}[o.state]
		line := fmt.Sprintf("%s %s refs=%d", objName(o.id), state, o.refs)
		if o.stored {
			line += " stored " + formatSlot(ToSlot(o.slot))
		}
		if o.made != nil {
			line += " lineage=" + [...]string{"none", "kept", "evicted"}[o.made.lin]
		}
		if o.lineageRefs > 0 {
			line += fmt.Sprintf(" argument-of=%d", o.lineageRefs)
		}
		if o.released {
			line += " released"
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	if len(lines) == 0 {
		return "none\n"
	}
	return strings.Join(lines, "\n") + "\n"
}

// dumpListings prints what the state API lists of n: its tasks, actors
// and worker processes (objects are dumpObjects').
func dumpListings(n *Node) string {
	var lines []string
	for t := range n.Tasks() {
		line := fmt.Sprintf("task %s %s %s attempt=%d", taskName(t.ID), t.Name, t.State, t.Attempt)
		if t.Proc != 0 {
			line += fmt.Sprintf(" proc=%d", t.Proc)
		}
		if t.Err != nil {
			line += " err=" + t.Err.Error()
		}
		lines = append(lines, line)
	}
	for a := range n.Actors() {
		lines = append(lines, fmt.Sprintf("actor %s %s %s queued=%d running=%d proc=%d", taskName(a.ID), a.Class, a.State, a.Queued, a.Running, a.Proc))
	}
	for p := range n.Procs() {
		lines = append(lines, fmt.Sprintf("proc %d starting=%v actor=%v running=%d held=%d", p.ID, p.Starting, !p.Actor.IsZero(), p.Running, p.Borrows))
	}
	slices.Sort(lines)
	if len(lines) == 0 {
		return "none\n"
	}
	return strings.Join(lines, "\n") + "\n"
}

// checkInvariants lists what is wrong with n's tables.
func checkInvariants(n *Node, r *recorder) []string {
	problems := slices.Clone(r.errs)
	r.errs = nil
	for id, o := range n.objects {
		switch {
		case o.id != id:
			problems = append(problems, fmt.Sprintf("%s is filed under %s", objName(o.id), objName(id)))
		case o.freed:
			problems = append(problems, fmt.Sprintf("%s is freed but still in the table", objName(id)))
		case o.refs < 0:
			problems = append(problems, fmt.Sprintf("%s has %d refs", objName(id), o.refs))
		case o.released && o.lineageRefs <= 0:
			problems = append(problems, fmt.Sprintf("%s is released, but no lineage names it", objName(id)))
		case o.refs == 0 && !o.released && o.state != objPending && (o.made == nil || o.made.done):
			problems = append(problems, fmt.Sprintf("%s is done and held by nobody, but not freed", objName(id)))
		}
		if t := o.made; t != nil && t.ret == o {
			for _, p := range t.parts() {
				if p.freed {
					problems = append(problems, fmt.Sprintf("%s is held, but its part %s is freed", objName(id), objName(p.id)))
				}
			}
		}
	}
	released := 0
	for _, o := range n.objects {
		if o.released {
			released++
		}
	}
	if released != n.released {
		problems = append(problems, fmt.Sprintf("%d objects released, counted %d", released, n.released))
	}
	for id, t := range n.tasks {
		if t.done {
			problems = append(problems, fmt.Sprintf("task %s is done but still in the table", taskName(id)))
		}
	}
	for _, a := range n.actors {
		if a.orphaned && a.state != actorDead && len(a.queue) == 0 && len(a.inflight) == 0 {
			problems = append(problems, fmt.Sprintf("actor %s has no handle and no call left, but lives", taskName(a.id)))
		}
		if a.create == nil && len(a.queue) == 0 && len(a.inflight) == 0 {
			problems = append(problems, fmt.Sprintf("stub of actor %s has no call left, but is kept", taskName(a.id)))
		}
		for _, t := range a.inflight {
			if t.done {
				problems = append(problems, fmt.Sprintf("actor %s has call %s out, done", taskName(a.id), taskName(t.id)))
			}
		}
	}
	if n.lineage.bytes > n.lineage.cap {
		problems = append(problems, fmt.Sprintf("lineage %d bytes over its cap %d", n.lineage.bytes, n.lineage.cap))
	}
	for id, k := range maps.All(r.pinned) {
		if k < 0 {
			problems = append(problems, fmt.Sprintf("%s pinned %d times", objName(id), k))
		}
	}
	return problems
}

// lastHeld returns the script's latest hold on the object named w, or nil
// if it holds none.
func (s *scriptState) lastHeld(w string) (*Object, error) {
	id, err := parseObj(w)
	if err != nil {
		return nil, err
	}
	if hs := s.held[id]; len(hs) > 0 {
		return hs[len(hs)-1], nil
	}
	return nil, nil
}

// TestCancelledRemoteCallsFreeTheWindow cancels a full window of calls
// out to a remote actor: the next call is sent, not held behind calls
// that are no longer out.
func TestCancelledRemoteCallsFreeTheWindow(t *testing.T) {
	s := &scriptState{held: map[wire.ObjectID][]*Object{}, waiters: map[string]*Waiter{}}
	do := func(line string) string {
		t.Helper()
		f := strings.Fields(line)
		out, err := s.run(f[0], script.Parse(f[1:]))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return out
	}
	do("new cpu=1 spill=8")
	do("actor t=1 gpu=1")
	do("spill-done t=1 value=ok")
	for i := range RemoteCallWindow {
		do(fmt.Sprintf("call t=%d actor=1", i+2))
	}
	for i := range RemoteCallWindow {
		do(fmt.Sprintf("cancel t=%d", i+2))
	}
	next := RemoteCallWindow + 2
	if out := do(fmt.Sprintf("call t=%d actor=1", next)); !strings.Contains(out, fmt.Sprintf("spill t%d ", next)) {
		t.Fatalf("the call after %d cancelled ones was not sent: %q", RemoteCallWindow, out)
	}
}

// TestActorRestartEvictedWraps checks why a local actor whose restart
// found its creation record evicted died: an error that is both
// ErrActorDied and ErrLineageEvicted (testdata/actor_restart_evicted.txt
// shows its text; the test codec keeps one sentinel only).
func TestActorRestartEvictedWraps(t *testing.T) {
	s := &scriptState{held: map[wire.ObjectID][]*Object{}, waiters: map[string]*Waiter{}}
	for _, line := range []string{"new cpu=2 lineage=1", "actor t=1 restarts=1 args=seed", "proc-started w=1",
		"worker w=1 ready t=1", "proc-exited w=1 cause=segfault"} {
		f := strings.Fields(line)
		if _, err := s.run(f[0], script.Parse(f[1:])); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	a := s.n.actors[wire.TaskID{Lo: 1}]
	if a == nil || a.state != actorDead || !errors.Is(a.err, ErrActorDied) || !errors.Is(a.err, ErrLineageEvicted) {
		t.Fatalf("the actor %+v did not die of ErrActorDied wrapping ErrLineageEvicted", a)
	}
}
