package sched

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"manta/internal/script"
)

// TestScripts runs the scripts in testdata (see internal/script): the
// expected outputs are the specification.
func TestScripts(t *testing.T) {
	script.Walk(t, "testdata", func(*testing.T) script.Func {
		var s scriptState
		return s.run
	})
}

// scriptState runs script commands against one Local.
type scriptState struct {
	l *Local
}

func (s *scriptState) run(name string, args script.Args) (string, error) {
	if s.l == nil && name != "config" {
		return "", fmt.Errorf("config must come first")
	}
	switch name {
	case "config":
		return s.config(args)
	case "class":
		req, err := resourcesArg(args.Pairs())
		if err != nil {
			return err.Error(), nil
		}
		id, err := s.l.Class(req)
		if err != nil {
			return err.Error(), nil
		}
		return strconv.Itoa(int(id)), nil
	case "submit":
		c, err := args.Uint("class")
		if err != nil {
			return "", err
		}
		tasks, err := args.IDs("tasks")
		for _, t := range tasks {
			s.l.Submit(ClassID(c), TaskRef(t))
		}
		return "", err
	case "place-actor":
		a, err := args.Uint("a")
		if err != nil {
			return "", err
		}
		c, err := args.Uint("class")
		s.l.PlaceActor(ActorRef(a), ClassID(c))
		return "", err
	case "worker-started":
		ids, err := args.IDs("w")
		for _, w := range ids {
			s.l.WorkerStarted(WorkerID(w))
		}
		return "", err
	case "worker-start-failed":
		s.l.WorkerStartFailed()
		return "", nil
	case "slot-added": // slot-added w=ID proc=ID
		w, err := args.Uint("w")
		if err != nil {
			return "", err
		}
		p, err := args.Uint("proc")
		s.l.SlotAdded(WorkerID(w), WorkerID(p))
		return "", err
	case "slot-add-failed":
		s.l.SlotAddFailed()
		return "", nil
	case "task-done": // t= names the task; without it, the oldest on each worker
		if args.Has("t") {
			w, err := args.Uint("w")
			if err != nil {
				return "", err
			}
			t, err := args.Uint("t")
			s.l.TaskDone(WorkerID(w), TaskRef(t))
			return "", err
		}
		return "", s.eachWorker(args, func(id WorkerID) { s.l.TaskDone(id, s.oldestTask(id)) })
	case "blocked":
		return "", s.eachWorker(args, s.l.Blocked)
	case "unblocked":
		return "", s.eachWorker(args, s.l.Unblocked)
	case "actor-exited":
		return "", s.eachWorker(args, s.l.ActorExited)
	case "worker-exited":
		w, err := args.Uint("w")
		lost, a, hadActor := s.l.WorkerExited(WorkerID(w))
		out := "lost:"
		if len(lost) == 0 {
			out += " none"
		}
		for _, t := range lost {
			out += fmt.Sprintf(" t=%d", t)
		}
		if hadActor {
			out += fmt.Sprintf("\nactor: a=%d", a)
		}
		return out, err
	case "device-lost": // device-lost gpu=N
		i, err := args.Uint("gpu")
		return fmt.Sprintf("holders: %v", s.l.DeviceLost(int(i))), err
	case "cancel":
		t, err := args.Uint("t")
		return strconv.FormatBool(s.l.Cancel(TaskRef(t))), err
	case "cancel-actor":
		a, err := args.Uint("a")
		return strconv.FormatBool(s.l.CancelActor(ActorRef(a))), err
	case "tick":
		d, err := time.ParseDuration(args.Word())
		s.l.Tick(d)
		return "", err
	case "actions":
		var lines []string
		for _, a := range s.l.Actions() {
			lines = append(lines, a.String())
		}
		s.l.ClearActions()
		return strings.Join(lines, "\n"), nil
	case "stats":
		return formatStats(s.l.Stats()), nil
	case "workers":
		return formatWorkers(s.l), nil
	}
	return "", fmt.Errorf("unknown command %q", name)
}

func (s *scriptState) config(args script.Args) (string, error) {
	var cfg Config
	res := map[string]string{}
	for k, v := range args.Pairs() {
		var err error
		switch k {
		case "max-workers":
			cfg.MaxWorkers, err = strconv.Atoi(v)
		case "max-starting":
			cfg.MaxStartingWorkers, err = strconv.Atoi(v)
		case "depth":
			cfg.PipelineDepth, err = strconv.Atoi(v)
		case "idle-timeout":
			cfg.IdleTimeout, err = time.ParseDuration(v)
		case "min-idle":
			cfg.MinIdleWorkers, err = strconv.Atoi(v)
		default:
			res[k] = v
		}
		if err != nil {
			return "", fmt.Errorf("%s: %v", k, err)
		}
	}
	total, err := resourcesArg(res)
	if err != nil {
		return "", err
	}
	cfg.Total = total
	s.l = New(cfg)
	c := s.l.Config()
	return fmt.Sprintf("total=%q max-workers=%d max-starting=%d depth=%d idle-timeout=%v min-idle=%d",
		c.Total, c.MaxWorkers, c.MaxStartingWorkers, c.PipelineDepth, c.IdleTimeout, c.MinIdleWorkers), nil
}

// eachWorker calls fn for w=ID, n times (default 1).
func (s *scriptState) eachWorker(args script.Args, fn func(WorkerID)) error {
	w, err := args.Uint("w")
	if err != nil {
		return err
	}
	n, err := args.IntOr("n", 1)
	if err != nil {
		return err
	}
	for range n {
		fn(WorkerID(w))
	}
	return nil
}

// resourcesArg builds Resources from name=quantity arguments; cpu and gpu
// stand for CPU and GPU.
func resourcesArg(args map[string]string) (Resources, error) {
	m := map[string]float64{}
	for k, v := range args {
		q, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return Resources{}, fmt.Errorf("%s: %v", k, err)
		}
		switch k {
		case "cpu":
			k = "CPU"
		case "gpu":
			k = "GPU"
		}
		m[k] = q
	}
	return NewResources(m)
}

func formatStats(s Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "queued=%d pending-actors=%d running=%d pipelined=%d leased=%d idle=%d starting=%d blocked=%d actors=%d ignored=%d\n",
		s.Queued, s.PendingActors, s.Running, s.Pipelined, s.Leased, s.Idle, s.Starting, s.Blocked, s.Actors, s.Ignored)
	fmt.Fprintf(&b, "available: %s\noversubscribed: %s", s.Available, s.Oversubscribed)
	for _, c := range s.Classes {
		fmt.Fprintf(&b, "\nclass %d (%s): queued=%d pending-actors=%d leases=%d", c.ID, c.Request, c.Queued, c.PendingActors, c.Leases)
	}
	return b.String()
}

func formatWorkers(l *Local) string {
	ids := make([]WorkerID, 0, len(l.workers))
	for id := range l.workers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var lines []string
	for _, id := range ids {
		w := l.workers[id]
		line := fmt.Sprintf("w=%d", id)
		switch w.state {
		case idle:
			line += fmt.Sprintf(" idle since=%v", w.idleSince)
		case leased:
			line += fmt.Sprintf(" leased class=%d tasks=[", w.class.id)
			for i := 0; i < w.queue.len(); i++ {
				if i > 0 {
					line += " "
				}
				line += strconv.FormatUint(uint64(w.queue.at(i)), 10)
			}
			line += "]"
		case hosting:
			line += fmt.Sprintf(" actor a=%d class=%d", w.actor, w.class.id)
		}
		if w.proc != w {
			line += fmt.Sprintf(" slot-of=%d", w.proc.id)
		}
		if w.proc == w && !w.taskProc && w.state != hosting {
			line += " spare"
		}
		if w.blocked {
			line += " blocked"
		}
		if w.draining {
			line += " draining"
		}
		if d := l.Devices(id); d != nil {
			line += fmt.Sprintf(" devices=%v", d)
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return "none"
	}
	return strings.Join(lines, "\n")
}

// oldestTask is the task assigned longest ago to worker id, or 0.
func (s *scriptState) oldestTask(id WorkerID) TaskRef {
	if w := s.l.workers[id]; w != nil && w.queue.len() > 0 {
		return w.queue.at(0)
	}
	return 0
}
