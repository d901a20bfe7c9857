package chain

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"manta/gcs"
	"manta/internal/script"
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
	app  *gcs.Shard
	dead bool
}

// newSimNet returns a network whose replicas flush (when flushCap is set)
// under dir; the test closes their shards.
func newSimNet(t testing.TB, dir string) *simNet {
	s := &simNet{
		dir:  dir,
		reps: map[ReplicaID]*simReplica{},
		cut:  map[[2]ReplicaID]bool{},
		mon:  NewMonitor(MonitorConfig{Shards: 1, FailTicks: 40}),
		rcfg: ReplicaConfig{HeartbeatTicks: 5, LeaseTicks: 20, RetransmitTicks: 5},
	}
	t.Cleanup(func() {
		for _, sr := range s.reps {
			sr.app.Close()
		}
	})
	return s
}

func (s *simNet) start(id ReplicaID, shard uint32) error {
	if _, ok := s.reps[id]; ok {
		return fmt.Errorf("replica %d exists", id)
	}
	var sc gcs.ShardConfig
	if s.flushCap > 0 {
		sc = gcs.ShardConfig{FlushDir: filepath.Join(s.dir, fmt.Sprint(id)), MemoryCap: s.flushCap}
	}
	app, err := gcs.NewShard(sc)
	if err != nil {
		return err
	}
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
	for _, m := range m.Expand(nil) {
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
func (s *simNet) propose(id ReplicaID, client, req, acked uint64, op gcs.Op) (uint64, error) {
	sr := s.reps[id]
	if sr == nil || sr.dead {
		return 0, fmt.Errorf("replica %d is not running", id)
	}
	s.token++
	err := sr.r.Propose(s.token, client, req, acked, gcs.AppendOp(nil, &op))
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

// run executes one script command.
func (s *simNet) run(name string, args script.Args) (string, error) {
	pairs := args.Pairs()
	switch name {
	case "monitor":
		shards, err := args.IntOr("shards", 1)
		if err != nil {
			return "", err
		}
		fail, err := args.IntOr("fail", 40)
		if err != nil {
			return "", err
		}
		s.mon = NewMonitor(MonitorConfig{Shards: shards, FailTicks: fail})
		for k, p := range map[string]*int{"hb": &s.rcfg.HeartbeatTicks, "lease": &s.rcfg.LeaseTicks, "retransmit": &s.rcfg.RetransmitTicks, "chunk": &s.rcfg.SnapshotChunk} {
			if *p, err = args.IntOr(k, *p); err != nil {
				return "", err
			}
		}
		cap, err := args.IntOr("flush", 0)
		s.flushCap = int64(cap)
		return "", err
	case "start":
		shard, err := args.IntOr("shard", 0)
		if err != nil {
			return "", err
		}
		ids, err := args.IDs("ids")
		for _, id := range ids {
			if err := s.start(ReplicaID(id), uint32(shard)); err != nil {
				return "", err
			}
		}
		return "", err
	case "deliver":
		n, err := args.IntOr("n", -1)
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
		n := 1
		if len(args.Words()) > 0 {
			var err error
			if n, err = strconv.Atoi(args.Word()); err != nil {
				return "", err
			}
		}
		for range n {
			s.tick()
			s.settle()
		}
		return "", nil
	case "write", "append", "add":
		id, err := args.Uint("r")
		if err != nil {
			return "", err
		}
		op := gcs.Op{Kind: gcs.OpPut, Table: gcs.KV, Key: []byte(pairs["key"]), Value: []byte(pairs["value"])}
		if name == "append" {
			op.Kind, op.Table = gcs.OpAppend, gcs.Events
		}
		if name == "add" {
			op.Kind, op.Table = gcs.OpAdd, gcs.Objects
		}
		client, _ := args.IntOr("client", 0)
		req, _ := args.IntOr("req", 0)
		acked, _ := args.IntOr("acked", 0)
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
		ids, err := args.IDs("ids")
		for _, id := range ids {
			if sr := s.reps[ReplicaID(id)]; sr != nil {
				sr.dead = true
			}
		}
		return "", err
	case "mark-dead":
		ids, err := args.IDs("id")
		if err != nil || len(ids) != 1 {
			return "", fmt.Errorf("mark-dead: want one id (%v)", err)
		}
		changed := s.mon.MarkDead(ReplicaID(ids[0]))
		s.collectMonitor()
		return fmt.Sprintf("changed=%v", changed), nil
	case "partition":
		words := args.Words()
		slash := slices.Index(words, "/")
		if slash < 0 {
			return "", fmt.Errorf("partition: want ids / ids")
		}
		for _, x := range words[:slash] {
			for _, y := range words[slash+1:] {
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
		shard, err := args.IntOr("shard", 0)
		if err != nil {
			return "", err
		}
		return s.mon.Chain(shard).String(), nil
	case "state":
		return s.state(), nil
	case "get":
		id, err := args.Uint("r")
		if err != nil {
			return "", err
		}
		sr := s.reps[ReplicaID(id)]
		if !sr.r.CanRead() {
			return "error: " + ErrNotTail.Error(), nil
		}
		v, ok, gerr := sr.app.Get(gcs.KV, []byte(pairs["key"]), nil)
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

// state describes every replica: its role, position in the protocol and
// data.
func (s *simNet) state() string {
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
		if d := sr.app.Dump(); d != "" {
			line += " | " + d
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
