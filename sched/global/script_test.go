package global

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"manta/internal/script"
	"manta/sched"
)

// TestScripts runs the scripts in testdata (see internal/script): the
// expected outputs are the specification of the placement policy.
func TestScripts(t *testing.T) {
	script.Walk(t, "testdata", func(*testing.T) script.Func {
		s := &scriptState{}
		return s.run
	})
}

type scriptState struct {
	s *Scheduler
}

func (st *scriptState) run(cmd string, args script.Args) (string, error) {
	if st.s == nil && cmd != "config" {
		return "", fmt.Errorf("config must come first")
	}
	switch cmd {
	case "config": // config [no-locality] [wait] smoothing=F task-time=D bandwidth=F
		var cfg Config
		for _, w := range args.Words() {
			switch w {
			case "no-locality":
				cfg.NoLocality = true
			case "wait":
				cfg.WaitForNodes = true
			default:
				return "", fmt.Errorf("unknown word %q", w)
			}
		}
		var err error
		if v, _ := args.Get("smoothing"); v != "" {
			if cfg.Smoothing, err = strconv.ParseFloat(v, 64); err != nil {
				return "", err
			}
		}
		if v, _ := args.Get("task-time"); v != "" {
			if cfg.TaskTime, err = time.ParseDuration(v); err != nil {
				return "", err
			}
		}
		if v, _ := args.Get("bandwidth"); v != "" {
			if cfg.Bandwidth, err = strconv.ParseFloat(v, 64); err != nil {
				return "", err
			}
		}
		if st.s, err = New(cfg); err != nil {
			return err.Error(), nil
		}
		return "", nil
	case "node": // node id=N total=CPU:4,GPU:1
		id, err := args.Uint("id")
		if err != nil {
			return "", err
		}
		total, err := resourcesArg(args, "total")
		if err != nil {
			return "", err
		}
		if err := st.s.AddNode(NodeID(id), total); err != nil {
			return err.Error(), nil
		}
		return "", nil
	case "remove":
		ids, err := args.IDs("id")
		for _, id := range ids {
			st.s.RemoveNode(NodeID(id))
		}
		return "", err
	case "report": // report id=N avail=CPU:2 queued=3 task-time=10ms bandwidth=1e8
		id, err := args.Uint("id")
		if err != nil {
			return "", err
		}
		var l Load
		if l.Available, err = resourcesArg(args, "avail"); err != nil {
			return "", err
		}
		if l.Queued, err = args.IntOr("queued", 0); err != nil {
			return "", err
		}
		if args.Has("room") {
			room, err := resourcesArg(args, "room")
			if err != nil {
				return "", err
			}
			l.Room = &room
		}
		if v, _ := args.Get("task-time"); v != "" {
			if l.TaskTime, err = time.ParseDuration(v); err != nil {
				return "", err
			}
		}
		if v, _ := args.Get("bandwidth"); v != "" {
			if l.Bandwidth, err = strconv.ParseFloat(v, 64); err != nil {
				return "", err
			}
		}
		st.s.Report(NodeID(id), l)
		return "", nil
	case "place": // place need=CPU:1 in=100e6@1+2,5e6@3 [n=K] [actor]
		need, err := resourcesArg(args, "need")
		if err != nil {
			return "", err
		}
		inputs, err := inputsArg(args)
		if err != nil {
			return "", err
		}
		n, err := args.IntOr("n", 1)
		if err != nil {
			return "", err
		}
		actor := slices.Contains(args.Words(), "actor")
		var b strings.Builder
		for range n {
			var p Placement
			if actor {
				p, err = st.s.PlaceActor(need)
			} else {
				p, err = st.s.Place(need, inputs)
			}
			if err != nil {
				fmt.Fprintln(&b, err)
				continue
			}
			fmt.Fprintf(&b, "node=%d wait=%v remote=%d\n", p.Node, p.Wait.Round(time.Microsecond), p.Remote)
		}
		return b.String(), nil
	case "spill": // spill total=CPU:4 need=GPU:1 queued=3 threshold=10
		total, err := resourcesArg(args, "total")
		if err != nil {
			return "", err
		}
		need, err := resourcesArg(args, "need")
		if err != nil {
			return "", err
		}
		queued, err := args.IntOr("queued", 0)
		if err != nil {
			return "", err
		}
		threshold, err := args.IntOr("threshold", 0)
		if err != nil {
			return "", err
		}
		return strconv.FormatBool(Spill(total, need, queued, threshold)), nil
	case "nodes":
		var b strings.Builder
		for _, n := range st.s.Nodes() {
			fmt.Fprintf(&b, "node %d: total %v, free %v, queued %d+%d, task time %v, bandwidth %.3g\n",
				n.Node, n.Total, n.Available, n.Queued, n.Placed, n.TaskTime.Round(time.Microsecond), n.Bandwidth)
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("unknown command %q", cmd)
}

// resourcesArg parses "CPU:4,GPU:0.5" (or "none").
func resourcesArg(args script.Args, key string) (sched.Resources, error) {
	v, err := args.Get(key)
	if err != nil {
		return sched.Resources{}, err
	}
	m := map[string]float64{}
	if v != "none" {
		for _, kv := range strings.Split(v, ",") {
			name, qty, ok := strings.Cut(kv, ":")
			if !ok {
				return sched.Resources{}, fmt.Errorf("%s: %q is not NAME:QTY", key, kv)
			}
			if m[name], err = strconv.ParseFloat(qty, 64); err != nil {
				return sched.Resources{}, fmt.Errorf("%s: %v", key, err)
			}
		}
	}
	return sched.NewResources(m)
}

// inputsArg parses in=BYTES@NODE+NODE,... (a node list may be empty).
func inputsArg(args script.Args) ([]Input, error) {
	if !args.Has("in") {
		return nil, nil
	}
	v, _ := args.Get("in")
	var out []Input
	for _, item := range strings.Split(v, ",") {
		size, nodes, _ := strings.Cut(item, "@")
		bytes, err := strconv.ParseFloat(size, 64)
		if err != nil {
			return nil, fmt.Errorf("in: %v", err)
		}
		in := Input{Bytes: int64(bytes)}
		for _, n := range strings.Split(nodes, "+") {
			if n == "" {
				continue
			}
			id, err := strconv.ParseUint(n, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("in: %v", err)
			}
			in.On = append(in.On, NodeID(id))
		}
		out = append(out, in)
	}
	return out, nil
}
