package chain

import (
	"errors"
	"fmt"

	"manta/gcs"
)

// App is the replicated data of one shard as the chain sees it: commands
// applied in sequence order, and snapshots for state transfer. Apply must
// be deterministic (its result and effect depend only on the state and the
// command), so every replica stays identical. The GCS's App is a
// *gcs.Shard, and commands are encoded Ops.
type App interface {
	Apply(cmd []byte) error
	// Snapshot captures the state; the driver encodes it later, outside
	// its lock, while Apply goes on (see gcs.Snapshot).
	Snapshot() gcs.Snapshot
	Restore(snapshot []byte) error
}

// ReplicaConfig configures a Replica. Durations are in ticks; the driver
// decides how long a tick is.
type ReplicaConfig struct {
	ID    ReplicaID
	Shard uint32
	Addr  string // where clients and peers reach this replica
	App   App
	// HeartbeatTicks is the interval between heartbeats to the monitor.
	// Default 10.
	HeartbeatTicks int
	// LeaseTicks is how long, counted from the heartbeat it answered, a
	// reply from the monitor lets this replica serve clients. It must be
	// shorter than the monitor's FailTicks by more than a message's
	// delay, so that a replica the monitor removed has stopped serving.
	// Default 100.
	LeaseTicks int
	// RetransmitTicks is how long unacknowledged entries, a snapshot
	// request or a join wait before they are sent again. Default 20.
	// Entries wait longer where the successor's round trip is longer (as
	// it is for large entries, or a slow successor): twice the last round
	// trip measured, doubling on each resend while nothing is
	// acknowledged, at most maxRetransmitFactor times RetransmitTicks.
	RetransmitTicks int
	// SnapshotChunk is the most state bytes one MsgSnapshot carries.
	// Default 1 MiB.
	SnapshotChunk int
}

func (c ReplicaConfig) withDefaults() ReplicaConfig {
	if c.HeartbeatTicks <= 0 {
		c.HeartbeatTicks = 10
	}
	if c.LeaseTicks <= 0 {
		c.LeaseTicks = 100
	}
	if c.RetransmitTicks <= 0 {
		c.RetransmitTicks = 20
	}
	if c.SnapshotChunk <= 0 {
		c.SnapshotChunk = 1 << 20
	}
	return c
}

// Reply finishes a client write proposed with Token: Err is nil once the
// write is committed (held by the tail), or why it failed. A write that
// fails with ErrNotHead or ErrUnavailable may still commit; a retry with
// the same client and request number is applied at most once.
type Reply struct {
	Token uint64
	Err   error
}

// Errors a replica gives clients; the server turns the first two into a
// redirect carrying the chain.
var (
	ErrNotHead = errors.New("gcs: replica is not the head of its chain")
	ErrNotTail = errors.New("gcs: replica is not the tail of its chain")
)

// Replica is the chain-replication logic of one replica of one shard, as a
// state machine without goroutines, clock or I/O (like etcd raft's
// RawNode). The driver feeds it client writes (Propose), messages from
// peers and the monitor (Step) and the passing of time (Tick); after each
// input it sends what Outbox holds, answers what Replies holds and calls
// ClearOutputs. Reads are the driver's: it serves them from the App while
// CanRead. See the package documentation for the protocol.
type Replica struct {
	cfg   ReplicaConfig
	app   App
	chain Chain
	now   uint64

	known     bool // a chain has included this replica
	removed   bool // a later chain left it out: it is done for good
	installed bool // it holds the shard's state (a joiner, once the snapshot is in)
	lease     uint64

	applied   uint64
	committed uint64

	// Downstream: the successor, or for the tail the joiner. pending holds
	// what was sent there and not yet acknowledged, in sequence order.
	target    ReplicaID
	pending   []Entry
	lastSend  uint64
	rto       uint64 // ticks without progress before pending entries are resent
	timedSeq  uint64 // the entry whose round trip is being measured (0: none)
	timedAt   uint64 // when it was sent
	toJoiner  bool
	handoff   bool   // the joiner has acked: commits now come from it
	joinerAck uint64 // what the joiner holds
	snapSeq   uint64 // where the entries pending for the joiner start
	snapsSent int    // snapshots sent to this joiner
	lastSnap  uint64
	snapID    uint64 // numbers the snapshots this replica sends

	// Joiner side: the snapshot being received.
	snapFrom  ReplicaID
	snapBuf   []byte
	snapAt    uint64 // ID of the snapshot in snapBuf
	lastChunk uint64 // when the last chunk arrived
	lastHello uint64
	snapWait  uint64 // ticks between snapshot requests: doubles while none comes
	lastHB    uint64

	waiters  waitQueue
	sessions sessions

	out     []Message
	replies []Reply
}

// NewReplica returns a replica with no state that asks the monitor to
// join cfg.Shard: the first replica of a shard becomes its only member,
// later ones are given the state by the tail.
func NewReplica(cfg ReplicaConfig) *Replica {
	cfg = cfg.withDefaults()
	r := &Replica{cfg: cfg, app: cfg.App, now: 1, sessions: sessions{}, rto: uint64(cfg.RetransmitTicks)}
	r.chain.Shard = cfg.Shard
	r.sendJoin()
	return r
}

// Chain is the chain this replica knows.
func (r *Replica) Chain() Chain { return r.chain }

// Applied is the sequence number of the last write applied here.
func (r *Replica) Applied() uint64 { return r.applied }

// Committed is the highest sequence number known to be held by the tail.
func (r *Replica) Committed() uint64 { return r.committed }

// Removed reports whether the monitor removed this replica: it serves
// nothing more and its process should exit.
func (r *Replica) Removed() bool { return r.removed }

// Installed reports whether the replica holds the shard's state.
func (r *Replica) Installed() bool { return r.installed }

func (r *Replica) leased() bool { return r.now <= r.lease }

func (r *Replica) pos() int { return r.chain.index(r.cfg.ID) }

// IsHead reports whether the chain names this replica its head.
func (r *Replica) IsHead() bool { return r.pos() == 0 }

// IsTail reports whether the chain names this replica its tail.
func (r *Replica) IsTail() bool {
	p := r.pos()
	return p >= 0 && p == len(r.chain.Members)-1
}

func (r *Replica) isJoiner() bool { return r.chain.Joiner.ID == r.cfg.ID && r.pos() < 0 }

// CanWrite reports whether Propose would take a write now.
func (r *Replica) CanWrite() bool {
	return !r.removed && r.installed && r.IsHead() && r.leased()
}

// CanRead reports whether reads may be served from the App now: this is
// the tail, its lease holds, and the App holds exactly the committed
// writes. (While the tail hands over to a joiner, the joiner's
// acknowledgement commits what the tail applied, so the tail serves reads
// only between a write's arrival and its commit.)
func (r *Replica) CanRead() bool {
	return !r.removed && r.installed && r.IsTail() && r.leased() && (!r.handoff || r.applied == r.committed)
}

// CanPublish reports whether changes may be told to subscribers as they
// are applied: CanRead, and not handing over (when applied changes wait
// for the joiner to commit them).
func (r *Replica) CanPublish() bool { return r.CanRead() && !r.handoff }

// last reports whether this replica commits what it applies: it is the
// tail and no joiner has taken over acknowledging, or it is an installed
// joiner (which acknowledges what it holds).
func (r *Replica) last() bool {
	if r.isJoiner() {
		return r.installed
	}
	return r.IsTail() && !r.handoff
}

// pred is where entries come from: the predecessor, or for the joiner the
// tail.
func (r *Replica) pred() ReplicaID {
	if p := r.pos(); p > 0 {
		return r.chain.Members[p-1].ID
	}
	if r.isJoiner() {
		return r.chain.Tail().ID
	}
	return 0
}

// downstream is where entries go: the successor, or for the tail the
// joiner.
func (r *Replica) downstream() (id ReplicaID, joiner bool) {
	p := r.pos()
	switch {
	case p < 0:
		return 0, false
	case p < len(r.chain.Members)-1:
		return r.chain.Members[p+1].ID, false
	case r.chain.Joiner.ID != 0:
		return r.chain.Joiner.ID, true
	}
	return 0, false
}

// Outbox is what to send, in order.
func (r *Replica) Outbox() []Message { return r.out }

// Replies are the client writes that finished.
func (r *Replica) Replies() []Reply { return r.replies }

// ClearOutputs empties Outbox and Replies. Their slices are reused: copy
// out the messages and replies to keep (a copy of a Message may be kept
// and sent later; nothing it refers to is reused).
func (r *Replica) ClearOutputs() {
	clear(r.out)
	r.out = r.out[:0]
	clear(r.replies)
	r.replies = r.replies[:0]
}

func (r *Replica) send(m Message) {
	m.From = r.cfg.ID
	m.Shard = r.cfg.Shard
	m.Epoch = r.chain.Epoch
	r.out = append(r.out, m)
}

// Propose takes a client write at the head. token is the driver's name for
// the request, returned in its Reply. cmd is copied. The error is
// immediate: ErrNotHead if this replica cannot take writes now (the
// driver redirects the client to Chain's head).
func (r *Replica) Propose(token, client, req, acked uint64, cmd []byte) error {
	if !r.CanWrite() {
		return ErrNotHead
	}
	if client != 0 {
		if seq, err, dup := r.sessions.lookup(client, req); dup {
			if seq <= r.committed {
				r.replies = append(r.replies, Reply{Token: token, Err: err})
			} else {
				r.waiters.insert(waiter{seq: seq, token: token, err: err})
			}
			return nil
		}
	}
	e := Entry{Seq: r.applied + 1, Client: client, Req: req, Acked: acked, Cmd: append([]byte(nil), cmd...)}
	err := r.apply(e)
	r.waiters.push(waiter{seq: e.Seq, token: token, err: err})
	if r.target != 0 {
		r.pending = append(r.pending, e)
		r.forward(e)
	}
	if r.last() {
		r.commit(r.applied)
	}
	return nil
}

// apply applies e to the App and the client sessions.
func (r *Replica) apply(e Entry) error {
	err := r.app.Apply(e.Cmd)
	r.applied = e.Seq
	r.sessions.record(e, err)
	return err
}

// forward appends e to the Forward being built for the target, or starts
// one.
func (r *Replica) forward(e Entry) {
	if r.timedSeq == 0 {
		r.timedSeq, r.timedAt = e.Seq, r.now
	}
	if n := len(r.out); n > 0 {
		m := &r.out[n-1]
		if m.Kind == MsgForward && m.To == r.target {
			m.Entries = append(m.Entries, e)
			return
		}
	}
	r.send(Message{Kind: MsgForward, To: r.target, Entries: []Entry{e}})
	r.lastSend = r.now
}

// ack tells the predecessor what is committed, merging with an ack
// already queued.
func (r *Replica) ack() {
	to := r.pred()
	if to == 0 || r.committed == 0 {
		return
	}
	for i := len(r.out) - 1; i >= 0; i-- {
		if m := &r.out[i]; m.Kind == MsgAck && m.To == to {
			m.Seq = max(m.Seq, r.committed)
			return
		}
	}
	r.send(Message{Kind: MsgAck, To: to, Seq: r.committed})
}

// commit raises the commit point to seq, answering waiting clients and
// acking upstream.
func (r *Replica) commit(seq uint64) {
	if seq <= r.committed {
		return
	}
	r.committed = seq
	for {
		w, ok := r.waiters.front()
		if !ok || w.seq > seq {
			break
		}
		r.waiters.pop()
		r.replies = append(r.replies, Reply{Token: w.token, Err: w.err})
	}
	r.ack()
}

// Step takes one message from a peer or the monitor; it copies what it
// keeps of m, so the caller may reuse m's memory afterwards. Messages that are
// stale, duplicated or from a replica that is not this one's neighbour are
// ignored, so the network may drop, delay and repeat them.
func (r *Replica) Step(m Message) {
	if r.removed {
		return
	}
	switch m.Kind {
	case MsgConfig:
		r.stepConfig(m)
	case MsgForward:
		r.stepForward(m)
	case MsgAck:
		r.stepAck(m)
	case MsgHello:
		r.stepHello(m)
	case MsgSnapshot:
		r.stepSnapshot(m)
	}
}

func (r *Replica) stepConfig(m Message) {
	if m.From != MonitorID || m.Chain.Shard != r.cfg.Shard {
		return
	}
	c := m.Chain
	if c.Epoch < r.chain.Epoch {
		return
	}
	in := c.Contains(r.cfg.ID)
	if in && m.Echo != 0 {
		r.lease = max(r.lease, m.Echo+uint64(r.cfg.LeaseTicks))
	}
	if c.Epoch == r.chain.Epoch && r.known {
		return
	}
	if !in {
		if r.known {
			r.remove()
		}
		return
	}
	r.setChain(c.Clone())
}

// remove ends this replica: the monitor left it out of the chain.
func (r *Replica) remove() {
	r.removed = true
	r.failWaiters(ErrNotHead)
	r.pending = nil
	r.target = 0
}

func (r *Replica) failWaiters(err error) {
	for {
		w, ok := r.waiters.pop()
		if !ok {
			return
		}
		r.replies = append(r.replies, Reply{Token: w.token, Err: err})
	}
}

// setChain adopts a newer chain that includes this replica.
func (r *Replica) setChain(c Chain) {
	oldTail := r.chain.Tail().ID
	r.chain = c
	r.known = true
	if !r.installed && r.pos() >= 0 {
		// Only a shard's first replica becomes a member without a
		// snapshot: the monitor promotes joiners once they hold the state.
		r.installed = true
	}
	if r.isJoiner() && c.Tail().ID != oldTail && r.snapFrom != c.Tail().ID {
		// A new tail will send a new snapshot (it does on seeing its
		// joiner); ask only if none comes.
		r.installed = false
		r.snapBuf = r.snapBuf[:0]
		r.lastHello = r.now
	}
	if !r.IsHead() {
		r.failWaiters(ErrNotHead)
	}
	target, joiner := r.downstream()
	if target != r.target || joiner != r.toJoiner {
		r.target, r.toJoiner = target, joiner
		r.handoff, r.joinerAck = false, 0
		r.rto, r.timedSeq = uint64(r.cfg.RetransmitTicks), 0 // a new round trip
		switch {
		case target == 0:
			r.pending = nil
		case joiner:
			r.pending = nil
			r.snapsSent = 0
			r.sendSnapshot(false)
		default:
			r.resend(0)
		}
	}
	if r.last() && r.installed {
		r.commit(r.applied)
		r.ack()
	}
}

func (r *Replica) stepForward(m Message) {
	if !r.installed || m.From == 0 || m.From != r.pred() {
		return
	}
	for _, e := range m.Entries {
		if e.Seq <= r.applied {
			continue
		}
		if e.Seq != r.applied+1 {
			r.hello()
			break
		}
		if r.target == 0 {
			r.apply(e) // Cmd is not kept: no copy
			continue
		}
		e.Cmd = append([]byte(nil), e.Cmd...)
		r.apply(e)
		r.pending = append(r.pending, e)
		r.forward(e)
	}
	if r.last() {
		r.commit(r.applied)
	}
	// Ack even when nothing was new, so a predecessor retransmitting
	// after a lost ack stops.
	r.ack()
}

// hello asks the predecessor to resend what follows applied, at most once
// per retransmit interval.
func (r *Replica) hello() {
	if r.lastHello != 0 && r.now-r.lastHello < uint64(r.cfg.RetransmitTicks) {
		return
	}
	r.lastHello = r.now
	r.send(Message{Kind: MsgHello, To: r.pred(), Seq: r.applied})
}

func (r *Replica) stepAck(m Message) {
	if m.From == 0 || m.From != r.target {
		return
	}
	r.trim(m.Seq)
	r.lastSend = r.now
	if r.timedSeq != 0 && m.Seq >= r.timedSeq {
		// A round trip measured: resends wait for twice that.
		base := uint64(r.cfg.RetransmitTicks)
		r.rto = min(max(2*(r.now-r.timedAt), base), maxRetransmitFactor*base)
		r.timedSeq = 0
	}
	if r.toJoiner {
		// A joiner acks only what it holds, from any snapshot it installed.
		wasSynced := r.handoff && r.joinerAck >= r.committed
		r.handoff = true
		r.joinerAck = max(r.joinerAck, m.Seq)
		r.commit(min(m.Seq, r.applied))
		if !wasSynced && r.joinerAck >= r.committed {
			// Tell the monitor now: reads wait for the joiner's promotion.
			r.heartbeat()
		}
		return
	}
	r.commit(min(m.Seq, r.applied))
}

// trim drops pending entries up to seq.
func (r *Replica) trim(seq uint64) {
	i := 0
	for i < len(r.pending) && r.pending[i].Seq <= seq {
		i++
	}
	if i > 0 {
		n := copy(r.pending, r.pending[i:])
		clear(r.pending[n:])
		r.pending = r.pending[:n]
	}
}

func (r *Replica) stepHello(m Message) {
	if m.From == 0 || m.From != r.target {
		return
	}
	if r.toJoiner {
		lacks := m.Seq < r.snapSeq || len(r.pending) > 0 && m.Seq+1 < r.pending[0].Seq || len(r.pending) == 0 && m.Seq < r.applied
		switch {
		case m.Flag:
			// It has no state yet and nothing arrives: send another
			// snapshot, unless the last may still be on its way (a large
			// state takes a while to encode and send).
			if r.now-r.lastSnap >= 10*uint64(r.cfg.RetransmitTicks) {
				r.sendSnapshot(false)
			}
			return
		case lacks:
			// It lacks entries no longer pending: replace its state.
			if r.now-r.lastSnap >= uint64(r.cfg.RetransmitTicks) {
				r.sendSnapshot(true)
			}
			return
		}
	}
	r.resend(m.Seq)
}

// resend sends the pending entries after seq again.
func (r *Replica) resend(seq uint64) {
	if r.target == 0 {
		return
	}
	r.timedSeq = 0 // an ack could answer either copy: no measure
	var batch []Entry
	for _, e := range r.pending {
		if e.Seq > seq {
			batch = append(batch, e)
		}
	}
	r.lastSend = r.now
	if len(batch) > 0 {
		r.send(Message{Kind: MsgForward, To: r.target, Entries: batch})
	}
}

// sendSnapshot sends the joiner the state as of now; what is applied
// later goes to it as entries. The entries pending for the joiner start
// at its first snapshot, so whichever snapshot it installs, the rest
// follows; replace (for a joiner that lacks entries no longer pending)
// starts them afresh, and tells the joiner to replace what it holds. The
// state is only captured here: the driver encodes and chunks it
// (Message.Expand), outside its lock.
func (r *Replica) sendSnapshot(replace bool) {
	if r.snapsSent == 0 || replace {
		r.snapSeq = r.applied
		r.pending = r.pending[:0]
	}
	r.snapsSent++
	r.lastSnap = r.now
	r.timedSeq = 0 // the joiner acks once it holds the whole snapshot
	r.snapID++
	lazy := &pendingSnapshot{prefix: r.sessions.appendSnapshot(nil), app: r.app.Snapshot(), chunk: r.cfg.SnapshotChunk}
	r.send(Message{Kind: MsgSnapshot, To: r.target, Seq: r.applied, Echo: r.snapID, Flag: replace, lazy: lazy})
	r.lastSend = r.now
}

func (r *Replica) requestSnapshot() {
	if tail := r.chain.Tail().ID; tail != 0 {
		r.lastHello = r.now
		r.send(Message{Kind: MsgHello, To: tail, Flag: true})
	}
}

func (r *Replica) stepSnapshot(m Message) {
	if !r.isJoiner() || m.From != r.chain.Tail().ID {
		return
	}
	if r.installed && (!m.Flag || m.Seq <= r.applied) {
		return // it holds a state: only a replacing snapshot changes it
	}
	if m.Offset == 0 && m.Echo != r.snapAt && len(r.snapBuf) > 0 && m.From == r.snapFrom && r.now-r.lastChunk < r.snapWaitTicks() {
		// Another snapshot from the same tail (an answer to a request of
		// ours) while this one still arrives: finish this one.
		return
	}
	r.lastChunk = r.now
	if m.Offset == 0 {
		r.snapBuf = r.snapBuf[:0]
		r.snapAt = m.Echo
		r.snapFrom = m.From
	}
	if m.Echo != r.snapAt || m.From != r.snapFrom || m.Offset != uint64(len(r.snapBuf)) || m.Offset+uint64(len(m.Data)) > m.Total {
		return // a chunk of another snapshot, or out of order: ask again later
	}
	r.snapBuf = append(r.snapBuf, m.Data...)
	r.snapWait = 0 // it is coming: a lost chunk is asked for again soon
	if uint64(len(r.snapBuf)) < m.Total {
		return
	}
	err := errSnapshotSum
	if crc(r.snapBuf) == m.Sum {
		err = r.install(r.snapBuf, m.Seq)
	}
	if err != nil {
		// A snapshot that does not decode is a bug or corruption in
		// transit: drop it and ask for another.
		r.snapBuf = r.snapBuf[:0]
		r.requestSnapshot()
		return
	}
	r.snapBuf = nil
	r.snapWait = 0
}

// snapWaitTicks is how long a joiner waits for a snapshot chunk before it
// asks (again): RetransmitTicks after progress, doubling up to 64 times
// that while nothing arrives, so a large state that takes the tail a while
// to encode is not asked for over and over.
func (r *Replica) snapWaitTicks() uint64 {
	return max(r.snapWait, uint64(r.cfg.RetransmitTicks))
}

var errSnapshotSum = fmt.Errorf("%w: snapshot checksum mismatch", gcs.ErrMalformed)

func (r *Replica) install(snap []byte, seq uint64) error {
	rest, err := r.sessions.restore(snap)
	if err != nil {
		return err
	}
	if err := r.app.Restore(rest); err != nil {
		return fmt.Errorf("cannot restore snapshot: %w", err)
	}
	r.applied, r.committed = seq, seq
	r.installed = true
	r.send(Message{Kind: MsgAck, To: r.pred(), Seq: seq})
	return nil
}

// Tick advances the replica's clock by one tick: heartbeats (or join
// requests), retransmissions and snapshot requests fall due.
func (r *Replica) Tick() {
	r.now++
	if r.removed {
		return
	}
	if r.now-r.lastHB >= uint64(r.cfg.HeartbeatTicks) {
		if r.known {
			r.heartbeat()
		} else {
			r.sendJoin()
		}
	}
	every := uint64(r.cfg.RetransmitTicks)
	if r.target != 0 && len(r.pending) > 0 && r.now-r.lastSend >= r.rto {
		r.resend(0)
		r.rto = min(2*r.rto, maxRetransmitFactor*every)
	}
	if r.isJoiner() && !r.installed && r.now-max(r.lastHello, r.lastChunk) >= r.snapWaitTicks() {
		// No snapshot is coming (a transfer in progress delivers chunks).
		r.snapWait = min(2*r.snapWaitTicks(), 64*every)
		r.requestSnapshot()
	}
}

func (r *Replica) sendJoin() {
	r.lastHB = r.now
	r.send(Message{Kind: MsgJoin, To: MonitorID, Addr: r.cfg.Addr, Echo: r.now})
}

func (r *Replica) heartbeat() {
	r.lastHB = r.now
	synced := r.toJoiner && r.handoff && r.joinerAck >= r.committed
	r.send(Message{Kind: MsgHeartbeat, To: MonitorID, Seq: r.applied, Echo: r.now, Flag: synced, Addr: r.cfg.Addr})
}

// maxRetransmitFactor bounds how long unacknowledged entries wait, in
// RetransmitTicks.
const maxRetransmitFactor = 64

// waiter is a client write waiting for its entry to commit.
type waiter struct {
	seq   uint64
	token uint64
	err   error
}

// waitQueue holds waiters in sequence order.
type waitQueue struct {
	buf  []waiter
	head int
}

func (q *waitQueue) push(w waiter) {
	if q.head > 0 && q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	q.buf = append(q.buf, w)
}

// insert places w in sequence order (a retried write waits for its
// original entry, which may be older than others waiting).
func (q *waitQueue) insert(w waiter) {
	q.push(w)
	for i := len(q.buf) - 1; i > q.head && q.buf[i-1].seq > w.seq; i-- {
		q.buf[i], q.buf[i-1] = q.buf[i-1], q.buf[i]
	}
}

func (q *waitQueue) front() (waiter, bool) {
	if q.head == len(q.buf) {
		return waiter{}, false
	}
	return q.buf[q.head], true
}

func (q *waitQueue) pop() (waiter, bool) {
	w, ok := q.front()
	if ok {
		q.buf[q.head] = waiter{}
		q.head++
	}
	return w, ok
}
