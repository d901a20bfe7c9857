package chain

import "slices"

// MonitorConfig configures a Monitor. Durations are in ticks.
type MonitorConfig struct {
	// Shards is S, the number of chains.
	Shards int
	// FailTicks is how long a replica may stay silent before it is
	// removed from its chain. It must exceed the replicas' LeaseTicks by
	// more than a message's delay. Default 200.
	FailTicks int
}

// Monitor is the chain membership logic, as a state machine without
// goroutines, clock or I/O: it learns of replicas from MsgJoin and
// MsgHeartbeat (Step), of time from Tick and of deaths seen elsewhere from
// MarkDead, and answers with MsgConfig messages in Outbox. One monitor
// serves every shard.
//
// A shard's first replica becomes its only member. Each later one waits as
// the chain's Joiner (one at a time, the others queue) while the tail
// sends it the state; once the tail reports it synced, it is appended as
// the new tail. A member silent for FailTicks, or marked dead, is removed
// and every member told the new chain; the last member of a chain is never
// removed, since it alone holds the shard's writes. Removed replicas are
// never readmitted.
type Monitor struct {
	cfg     MonitorConfig
	now     uint64
	chains  []Chain
	queued  [][]Member // joiners waiting behind the current one, per shard
	seen    map[ReplicaID]uint64
	shardOf map[ReplicaID]uint32
	dead    map[ReplicaID]bool
	out     []Message
}

// NewMonitor returns a monitor with cfg.Shards empty chains.
func NewMonitor(cfg MonitorConfig) *Monitor {
	if cfg.Shards <= 0 {
		cfg.Shards = 1
	}
	if cfg.FailTicks <= 0 {
		cfg.FailTicks = 200
	}
	m := &Monitor{cfg: cfg, now: 1, seen: map[ReplicaID]uint64{}, shardOf: map[ReplicaID]uint32{}, dead: map[ReplicaID]bool{}}
	for s := range cfg.Shards {
		m.chains = append(m.chains, Chain{Shard: uint32(s)})
	}
	m.queued = make([][]Member, cfg.Shards)
	return m
}

// Shards is the number of chains.
func (m *Monitor) Shards() int { return len(m.chains) }

// Chain returns a copy of shard's chain.
func (m *Monitor) Chain(shard int) Chain { return m.chains[shard].Clone() }

// Outbox is what to send, in order.
func (m *Monitor) Outbox() []Message { return m.out }

// ClearOutputs empties Outbox.
func (m *Monitor) ClearOutputs() {
	clear(m.out)
	m.out = m.out[:0]
}

// Step takes a message from a replica.
func (m *Monitor) Step(msg Message) {
	if int(msg.Shard) >= len(m.chains) || msg.From == MonitorID {
		return
	}
	c := &m.chains[msg.Shard]
	if m.dead[msg.From] {
		// Tell it, so a live but removed replica stops.
		m.send(msg.From, *c, 0)
		return
	}
	switch msg.Kind {
	case MsgJoin:
		m.join(msg)
	case MsgHeartbeat:
		if _, ok := m.shardOf[msg.From]; !ok {
			return // not a replica this monitor knows: it must join
		}
		m.seen[msg.From] = m.now
		if msg.Flag && c.Joiner.ID != 0 && c.Tail().ID == msg.From && msg.Epoch == c.Epoch {
			m.promote(int(msg.Shard))
		}
		if c.Contains(msg.From) {
			m.send(msg.From, *c, msg.Echo)
		}
	}
}

func (m *Monitor) join(msg Message) {
	c := &m.chains[msg.Shard]
	if s, ok := m.shardOf[msg.From]; ok {
		m.seen[msg.From] = m.now
		if s == msg.Shard && c.Contains(msg.From) {
			m.send(msg.From, *c, msg.Echo) // its join reply was lost
		}
		return
	}
	m.shardOf[msg.From] = msg.Shard
	m.seen[msg.From] = m.now
	member := Member{ID: msg.From, Addr: msg.Addr}
	switch {
	case len(c.Members) == 0:
		c.Members = append(c.Members, member)
	case c.Joiner.ID == 0:
		c.Joiner = member
	default:
		m.queued[msg.Shard] = append(m.queued[msg.Shard], member)
		return
	}
	c.Epoch++
	m.broadcast(int(msg.Shard), msg.From, msg.Echo)
}

// promote appends the synced joiner as the new tail and lets the next
// queued joiner in.
func (m *Monitor) promote(shard int) {
	c := &m.chains[shard]
	c.Members = append(c.Members, c.Joiner)
	c.Joiner = m.nextJoiner(shard)
	c.Epoch++
	m.broadcast(shard, 0, 0)
}

func (m *Monitor) nextJoiner(shard int) Member {
	q := m.queued[shard]
	if len(q) == 0 {
		return Member{}
	}
	next := q[0]
	m.queued[shard] = q[1:]
	m.seen[next.ID] = m.now
	return next
}

// Tick advances the monitor's clock by one tick and removes the replicas
// silent for longer than FailTicks. It removes them only while some member
// of their chain was heard within the last FailTicks/2: when no member has
// been heard for that long the monitor cannot tell the dead from the cut
// off, nor from processes that all stalled together (a machine starved of
// CPU), and it waits.
func (m *Monitor) Tick() {
	m.now++
	for s := range m.chains {
		c := &m.chains[s]
		var silent []ReplicaID
		heard := false
		for _, mem := range c.Members {
			if m.silent(mem.ID) {
				silent = append(silent, mem.ID)
			}
			heard = heard || m.now-m.seen[mem.ID] <= uint64(m.cfg.FailTicks/2)
		}
		if !heard {
			continue
		}
		if c.Joiner.ID != 0 && m.silent(c.Joiner.ID) {
			silent = append(silent, c.Joiner.ID)
		}
		for _, q := range m.queued[s] {
			if m.silent(q.ID) {
				silent = append(silent, q.ID)
			}
		}
		for _, id := range silent {
			m.MarkDead(id)
		}
	}
}

func (m *Monitor) silent(id ReplicaID) bool {
	return m.now-m.seen[id] > uint64(m.cfg.FailTicks)
}

// MarkDead removes id from its chain at once: the driver found it dead
// (its process is gone, its port refuses connections). It reports whether
// the chain changed; the last member of a chain is kept.
func (m *Monitor) MarkDead(id ReplicaID) bool {
	s, ok := m.shardOf[id]
	if !ok || m.dead[id] {
		return false
	}
	c := &m.chains[s]
	if i := c.index(id); i >= 0 {
		if len(c.Members) == 1 {
			return false
		}
		c.Members = slices.Delete(c.Members, i, i+1)
	} else if c.Joiner.ID == id {
		c.Joiner = m.nextJoiner(int(s))
	} else {
		m.queued[s] = slices.DeleteFunc(m.queued[s], func(q Member) bool { return q.ID == id })
		m.dead[id] = true
		return false
	}
	m.dead[id] = true
	c.Epoch++
	m.broadcast(int(s), 0, 0)
	m.send(id, *c, 0) // in case it lives: it learns it was removed
	return true
}

// broadcast sends shard's chain to its members and joiner; echo goes to
// the one named by echoTo (it answers that replica's join).
func (m *Monitor) broadcast(shard int, echoTo ReplicaID, echo uint64) {
	c := m.chains[shard]
	for _, mem := range c.Members {
		m.send(mem.ID, c, pick(mem.ID == echoTo, echo))
	}
	if c.Joiner.ID != 0 {
		m.send(c.Joiner.ID, c, pick(c.Joiner.ID == echoTo, echo))
	}
}

func pick(ok bool, v uint64) uint64 {
	if ok {
		return v
	}
	return 0
}

func (m *Monitor) send(to ReplicaID, c Chain, echo uint64) {
	m.out = append(m.out, Message{Kind: MsgConfig, From: MonitorID, To: to, Shard: c.Shard, Epoch: c.Epoch, Echo: echo, Chain: c.Clone()})
}
