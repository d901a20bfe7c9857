package gcs

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// simNet is a simulated network of one monitor and replicas, driven by
// hand (the scripts) or at random (TestSimulatedNetwork). Messages are
// queued in send order; a link between two ends may be cut.
type simNet struct {
	dir      string
	mon      *Monitor
	reps     map[ReplicaID]*simReplica
	queue    []Message
	cut      map[[2]ReplicaID]bool
	replies  []Reply
	token    uint64
	rcfg     ReplicaConfig
	flushCap int64 // >0: replicas flush beyond this many bytes
	onReply  func(Reply)
	trace    func(string) // when set, sees every delivery
}

type simReplica struct {
	r    *Replica
	app  *shard
	dead bool
}

func newSimNet(dir string) *simNet {
	return &simNet{
		dir:  dir,
		reps: map[ReplicaID]*simReplica{},
		cut:  map[[2]ReplicaID]bool{},
		mon:  NewMonitor(MonitorConfig{Shards: 1, FailTicks: 40}),
		rcfg: ReplicaConfig{HeartbeatTicks: 5, LeaseTicks: 20, RetransmitTicks: 5},
	}
}

func (s *simNet) close() {
	for _, sr := range s.reps {
		if sr.app.flush != nil {
			sr.app.flush.close()
		}
	}
}

func (s *simNet) start(id ReplicaID, shard uint32) error {
	if _, ok := s.reps[id]; ok {
		return fmt.Errorf("replica %d exists", id)
	}
	var fl *flusher
	if s.flushCap > 0 {
		var err error
		if fl, err = newFlusher(filepath.Join(s.dir, fmt.Sprint(id)), s.flushCap); err != nil {
			return err
		}
	}
	app := newShard(Limits{}, fl)
	cfg := s.rcfg
	cfg.ID, cfg.Shard, cfg.App, cfg.Addr = id, shard, app, fmt.Sprintf("r%d", id)
	sr := &simReplica{r: NewReplica(cfg), app: app}
	s.reps[id] = sr
	s.collect(sr.r)
	return nil
}

// collect moves a replica's outputs onto the network.
func (s *simNet) collect(r *Replica) {
	for _, m := range r.Outbox() {
		s.send(m)
	}
	for _, rep := range r.Replies() {
		if s.onReply != nil {
			s.onReply(rep)
		} else {
			s.replies = append(s.replies, rep)
		}
	}
	r.ClearOutputs()
}

func (s *simNet) collectMonitor() {
	for _, m := range s.mon.Outbox() {
		s.send(m)
	}
	s.mon.ClearOutputs()
}

func (s *simNet) send(m Message) {
	for _, m := range m.expand(nil) {
		// Copy what the sender may reuse.
		m.Entries = slices.Clone(m.Entries)
		m.Chain = m.Chain.Clone()
		s.queue = append(s.queue, m)
		if s.trace != nil {
			s.trace("  send " + m.String())
		}
	}
}

// deliverAt delivers queue[i] and returns what happened to it.
func (s *simNet) deliverAt(i int) string {
	n := len(s.queue)
	line := s.deliver(i)
	if s.trace != nil {
		s.trace(fmt.Sprintf("[%d/%d] %s", i, n, line))
	}
	return line
}

func (s *simNet) deliver(i int) string {
	m := s.queue[i]
	s.queue = slices.Delete(s.queue, i, i+1)
	line := m.String()
	if s.cut[[2]ReplicaID{m.From, m.To}] || s.cut[[2]ReplicaID{m.To, m.From}] {
		return line + " (dropped: partition)"
	}
	if m.To == MonitorID {
		s.mon.Step(m)
		s.collectMonitor()
		return line
	}
	sr := s.reps[m.To]
	if sr == nil || sr.dead {
		return line + " (dropped: dead)"
	}
	sr.r.Step(m)
	s.collect(sr.r)
	return line
}

// settle delivers until nothing is in flight.
func (s *simNet) settle() []string {
	var lines []string
	for n := 0; len(s.queue) > 0; n++ {
		if n > 100000 {
			panic("simNet: messages never settle")
		}
		lines = append(lines, s.deliverAt(0))
	}
	return lines
}

func (s *simNet) tick() {
	s.mon.Tick()
	s.collectMonitor()
	for _, id := range s.ids() {
		if sr := s.reps[id]; !sr.dead {
			sr.r.Tick()
			s.collect(sr.r)
		}
	}
}

func (s *simNet) ids() []ReplicaID {
	ids := make([]ReplicaID, 0, len(s.reps))
	for id := range s.reps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// propose hands a client write to replica id; the caller collects the
// outputs (a reply may be among them).
func (s *simNet) propose(id ReplicaID, client, req, acked uint64, op Op) (uint64, error) {
	sr := s.reps[id]
	if sr == nil || sr.dead {
		return 0, fmt.Errorf("replica %d is not running", id)
	}
	s.token++
	err := sr.r.Propose(s.token, client, req, acked, AppendOp(nil, &op))
	return s.token, err
}

func (s *simNet) role(r *Replica) string {
	switch {
	case r.Removed():
		return "removed"
	case r.isJoiner():
		if r.Installed() {
			return "joiner(installed)"
		}
		return "joiner"
	case r.IsHead() && r.IsTail():
		return "head+tail"
	case r.IsHead():
		return "head"
	case r.IsTail():
		return "tail"
	case r.pos() >= 0:
		return "middle"
	}
	return "none"
}

// dump lists a shard's keys and values, flushed or not, sorted.
func dump(sh *shard) string {
	var lines []string
	keys := make([]map[string]bool, NumTables)
	for t, m := range sh.tables {
		keys[t] = map[string]bool{}
		for k := range m {
			keys[t][k] = true
		}
	}
	if sh.flush != nil {
		for _, seg := range sh.flush.segs {
			seg.scan(func(r segRecord) error {
				keys[r.t][string(r.key)] = true
				return nil
			})
		}
	}
	for t, m := range keys {
		for k := range m {
			v, ok, err := sh.get(Table(t), []byte(k), nil)
			if err != nil {
				lines = append(lines, fmt.Sprintf("%v %s: %v", Table(t), k, err))
				continue
			}
			if !ok {
				continue
			}
			if Table(t).Kind() != KindValue {
				ms, _ := Members(v, nil)
				var parts []string
				for _, m := range ms {
					parts = append(parts, string(m))
				}
				v = []byte("[" + strings.Join(parts, " ") + "]")
			}
			lines = append(lines, fmt.Sprintf("%v %s=%s", Table(t), k, v))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, " ")
}

// run executes one script command.
func (s *simNet) run(command string) (string, error) {
	fields := strings.Fields(command)
	name, args := fields[0], parseArgs(fields[1:])
	switch name {
	case "monitor":
		shards, err := args.intOr("shards", 1)
		if err != nil {
			return "", err
		}
		fail, err := args.intOr("fail", 40)
		if err != nil {
			return "", err
		}
		s.mon = NewMonitor(MonitorConfig{Shards: shards, FailTicks: fail})
		for k, p := range map[string]*int{"hb": &s.rcfg.HeartbeatTicks, "lease": &s.rcfg.LeaseTicks, "retransmit": &s.rcfg.RetransmitTicks, "chunk": &s.rcfg.SnapshotChunk} {
			if *p, err = args.intOr(k, *p); err != nil {
				return "", err
			}
		}
		cap, err := args.intOr("flush", 0)
		s.flushCap = int64(cap)
		return "", err
	case "start":
		shard, err := args.intOr("shard", 0)
		if err != nil {
			return "", err
		}
		ids, err := args.ids()
		for _, id := range ids {
			if err := s.start(ReplicaID(id), uint32(shard)); err != nil {
				return "", err
			}
		}
		return "", err
	case "deliver":
		n, err := args.intOr("n", -1)
		var lines []string
		for ; n != 0 && len(s.queue) > 0; n-- {
			lines = append(lines, s.deliverAt(0))
		}
		return strings.Join(lines, "\n"), err
	case "queue":
		var lines []string
		for _, m := range s.queue {
			lines = append(lines, m.String())
		}
		return strings.Join(lines, "\n"), nil
	case "settle":
		s.settle()
		return "", nil
	case "tick":
		n, err := strconv.Atoi(args.positional())
		if args.positional() == "" {
			n, err = 1, nil
		}
		for range n {
			s.tick()
			s.settle()
		}
		return "", err
	case "write", "append", "add":
		id, err := args.uint("r")
		if err != nil {
			return "", err
		}
		op := Op{Kind: OpPut, Table: KV, Key: []byte(args["key"]), Value: []byte(args["value"])}
		if name == "append" {
			op.Kind, op.Table = OpAppend, Events
		}
		if name == "add" {
			op.Kind, op.Table = OpAdd, Objects
		}
		client, _ := args.intOr("client", 0)
		req, _ := args.intOr("req", 0)
		acked, _ := args.intOr("acked", 0)
		tok, perr := s.propose(ReplicaID(id), uint64(client), uint64(req), uint64(acked), op)
		s.collect(s.reps[ReplicaID(id)].r)
		if perr != nil {
			return "error: " + perr.Error(), nil
		}
		return fmt.Sprintf("token=%d", tok), nil
	case "replies":
		var lines []string
		for _, r := range s.replies {
			if r.Err != nil {
				lines = append(lines, fmt.Sprintf("token=%d error: %v", r.Token, r.Err))
			} else {
				lines = append(lines, fmt.Sprintf("token=%d ok", r.Token))
			}
		}
		s.replies = nil
		return strings.Join(lines, "\n"), nil
	case "kill":
		ids, err := args.ids()
		for _, id := range ids {
			if sr := s.reps[ReplicaID(id)]; sr != nil {
				sr.dead = true
			}
		}
		return "", err
	case "mark-dead":
		id, err := strconv.ParseUint(args.positional(), 10, 64)
		changed := s.mon.MarkDead(ReplicaID(id))
		s.collectMonitor()
		return fmt.Sprintf("changed=%v", changed), err
	case "partition":
		a, b, ok := strings.Cut(strings.Join(fields[1:], " "), "/")
		if !ok {
			return "", fmt.Errorf("partition: want ids / ids")
		}
		for _, x := range strings.Fields(a) {
			for _, y := range strings.Fields(b) {
				i, _ := strconv.ParseUint(x, 10, 64)
				j, _ := strconv.ParseUint(y, 10, 64)
				s.cut[[2]ReplicaID{ReplicaID(i), ReplicaID(j)}] = true
			}
		}
		return "", nil
	case "heal":
		clear(s.cut)
		return "", nil
	case "chain":
		shard, err := args.intOr("shard", 0)
		if err != nil {
			return "", err
		}
		return s.mon.Chain(shard).String(), nil
	case "state":
		var lines []string
		for _, id := range s.ids() {
			sr := s.reps[id]
			r := sr.r
			line := fmt.Sprintf("r%d %s epoch=%d applied=%d committed=%d pending=%d", id, s.role(r), r.chain.Epoch, r.applied, r.committed, len(r.pending))
			if sr.dead {
				line += " dead"
			} else if !r.leased() {
				line += " no-lease"
			}
			if d := dump(sr.app); d != "" {
				line += " | " + d
			}
			lines = append(lines, line)
		}
		return strings.Join(lines, "\n"), nil
	case "get":
		id, err := args.uint("r")
		if err != nil {
			return "", err
		}
		sr := s.reps[ReplicaID(id)]
		if !sr.r.CanRead() {
			return "error: " + ErrNotTail.Error(), nil
		}
		v, ok, gerr := sr.app.get(KV, []byte(args["key"]), nil)
		switch {
		case gerr != nil:
			return "error: " + gerr.Error(), nil
		case !ok:
			return "not found", nil
		}
		return string(v), nil
	}
	return "", fmt.Errorf("unknown command %q", name)
}

// scriptArgs holds key=value arguments; bare words are joined under "".
type scriptArgs map[string]string

func parseArgs(fields []string) scriptArgs {
	args := scriptArgs{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			k, v = "", f
			if prev, dup := args[""]; dup {
				v = prev + " " + f
			}
		}
		args[k] = v
	}
	return args
}

func (a scriptArgs) positional() string { return a[""] }

func (a scriptArgs) uint(key string) (uint64, error) {
	v, ok := a[key]
	if !ok {
		return 0, fmt.Errorf("missing %s=", key)
	}
	return strconv.ParseUint(v, 10, 64)
}

func (a scriptArgs) intOr(key string, def int) (int, error) {
	v, ok := a[key]
	if !ok {
		return def, nil
	}
	return strconv.Atoi(v)
}

func (a scriptArgs) ids() ([]uint64, error) {
	var ids []uint64
	for _, f := range strings.Fields(a.positional()) {
		id, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}
