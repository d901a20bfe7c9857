package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs"
	"manta/gcs/chain"
	"manta/gcs/internal/proto"
	"manta/rpc"
)

// ReplicaConfig configures a Replica.
type ReplicaConfig struct {
	// Shard is the shard this replica holds.
	Shard int
	// ID names the replica; zero picks a random one. A restarted process
	// must use a new ID.
	ID chain.ReplicaID
	// Addr is where to listen; default "127.0.0.1:0".
	Addr string
	// Monitor is the monitor's address. Required.
	Monitor string
	// Token is the cluster token. Required.
	Token []byte
	// Tick is the state machine's tick; default DefaultTick. Heartbeats go
	// every HeartbeatTicks (default DefaultHeartbeatTicks), the lease from
	// the monitor lasts LeaseTicks (default DefaultLeaseTicks, below the
	// monitor's FailTicks), and unacknowledged entries are resent after
	// RetransmitTicks (default DefaultRetransmitTicks), or longer where
	// round trips are (see chain.ReplicaConfig).
	Tick                                        time.Duration
	HeartbeatTicks, LeaseTicks, RetransmitTicks int
	// Limits bound keys and values.
	Limits gcs.Limits
	// FlushDir and MemoryCap turn on flushing, as for gcs.ShardConfig.
	FlushDir  string
	MemoryCap int64
	// MaxFrame bounds rpc frames (default rpc's 64 MiB); snapshots travel
	// in chunks of a quarter of it.
	MaxFrame int
	// Logger receives what goes wrong; nil means slog.Default().
	Logger *slog.Logger
	// Clock drives the ticks, the waits of reads and polls, and the
	// timeouts of calls to peers and the monitor; nil means the real
	// clock.
	Clock clockwork.Clock
}

// Defaults of the servers' timing, in ticks of DefaultTick.
const (
	DefaultTick            = time.Millisecond
	DefaultHeartbeatTicks  = 10
	DefaultLeaseTicks      = 300
	DefaultRetransmitTicks = 20
	DefaultFailTicks       = 1000
)

// Replica serves one replica of one shard over rpc: it wraps the
// chain.Replica state machine and the shard's data, sends what the machine
// emits, and answers clients (writes at the head, reads and subscriptions
// at the tail; elsewhere a redirect carrying the chain).
type Replica struct {
	cfg   ReplicaConfig
	log   *slog.Logger
	clock clockwork.Clock
	srv   *rpc.Server
	done  chan struct{} // closed when the server stops
	wg    sync.WaitGroup

	mu         sync.Mutex
	rep        *chain.Replica
	data       *gcs.Shard
	token      uint64
	waits      map[uint64]waitRef
	peers      map[string]*peer
	monitor    *peer
	subs       map[uint64]*serverSub
	nextSub    uint64
	canPublish bool
	peersEpoch uint64
	committed  uint64
	progress   chan struct{} // closed and replaced when the commit point moves
	closed     bool
	stopErr    error
	lastWrite  []byte // scratch for encoding ops
}

// waitRef is one write of a batch waiting for its reply.
type waitRef struct {
	b *batchWait
	i int
}

type batchWait struct {
	req     proto.WriteRequest
	results []proto.Result
	tokens  []uint64
	left    int
	done    chan struct{} // receives one value when left reaches 0
}

var batchWaitPool = sync.Pool{New: func() any { return &batchWait{done: make(chan struct{}, 1)} }}

func (b *batchWait) finish(i int, err error) {
	b.results[i] = proto.Result{Code: proto.ErrorCode(err)}
	if err != nil {
		b.results[i].Msg = err.Error()
	}
	b.left--
	if b.left == 0 {
		b.done <- struct{}{}
	}
}

// StartReplica starts a replica server; it joins its shard's chain through
// the monitor.
func StartReplica(cfg ReplicaConfig) (*Replica, error) {
	if cfg.Monitor == "" || len(cfg.Token) == 0 {
		return nil, errors.New("gcs: server.ReplicaConfig needs Monitor and Token")
	}
	if cfg.ID == 0 {
		cfg.ID = newReplicaID()
	}
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.HeartbeatTicks <= 0 {
		cfg.HeartbeatTicks = DefaultHeartbeatTicks
	}
	if cfg.LeaseTicks <= 0 {
		cfg.LeaseTicks = DefaultLeaseTicks
	}
	if cfg.RetransmitTicks <= 0 {
		cfg.RetransmitTicks = DefaultRetransmitTicks
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = 64 << 20
	}
	data, err := gcs.NewShard(gcs.ShardConfig{Limits: cfg.Limits, FlushDir: cfg.FlushDir, MemoryCap: cfg.MemoryCap})
	if err != nil {
		return nil, err
	}
	s := &Replica{
		cfg:      cfg,
		log:      loggerOrDefault(cfg.Logger),
		clock:    clockOrReal(cfg.Clock),
		done:     make(chan struct{}),
		data:     data,
		waits:    map[uint64]waitRef{},
		peers:    map[string]*peer{},
		subs:     map[uint64]*serverSub{},
		progress: make(chan struct{}),
	}
	srv, err := rpc.NewServer(rpc.ServerConfig{Addr: cfg.Addr, Token: cfg.Token, Handler: s.handle, MaxFrame: cfg.MaxFrame, Logger: s.log, Clock: s.clock})
	if err != nil {
		data.Close()
		return nil, err
	}
	s.srv = srv
	s.monitor, err = newPeer(cfg.Monitor, cfg.Token, proto.MethodMonitorStep, time.Second, cfg.MaxFrame, s.clock)
	if err != nil {
		srv.Close()
		data.Close()
		return nil, err
	}
	s.monitor.onReply = s.fromMonitor
	s.mu.Lock()
	s.rep = chain.NewReplica(chain.ReplicaConfig{
		ID: cfg.ID, Shard: uint32(cfg.Shard), Addr: srv.Addr(), App: s.data,
		HeartbeatTicks: cfg.HeartbeatTicks, LeaseTicks: cfg.LeaseTicks, RetransmitTicks: cfg.RetransmitTicks,
		SnapshotChunk: min(cfg.MaxFrame/4, 1<<20),
	})
	s.flushLocked()
	s.mu.Unlock()
	s.wg.Add(1)
	go s.tickLoop()
	return s, nil
}

// newReplicaID returns a random nonzero ID: replicas started anywhere
// never share one.
func newReplicaID() chain.ReplicaID { return chain.ReplicaID(rand.Uint64N(1<<63-1) + 1) }

// Addr is where the replica listens.
func (s *Replica) Addr() string { return s.srv.Addr() }

// ID is the replica's ID.
func (s *Replica) ID() chain.ReplicaID { return s.cfg.ID }

// Done is closed when the server stops: closed, or removed from its chain
// (then Err says so).
func (s *Replica) Done() <-chan struct{} { return s.done }

// Err says why the server stopped, once Done is closed.
func (s *Replica) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopErr
}

// ReplicaStatus describes a replica for status pages and tests.
type ReplicaStatus struct {
	ID        chain.ReplicaID
	Shard     int
	Addr      string
	Chain     chain.Chain
	Applied   uint64
	Committed uint64
	Installed bool
	CanRead   bool
	CanWrite  bool
	Stats     gcs.Stats
	// Subscriptions is how many clients' subscriptions the replica holds.
	Subscriptions int
}

// Status returns the replica's current status.
func (s *Replica) Status() ReplicaStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ReplicaStatus{
		ID: s.cfg.ID, Shard: s.cfg.Shard, Addr: s.srv.Addr(), Chain: s.rep.Chain().Clone(),
		Applied: s.rep.Applied(), Committed: s.rep.Committed(), Installed: s.rep.Installed(),
		CanRead: s.rep.CanRead(), CanWrite: s.rep.CanWrite(), Stats: s.data.Stats(),
		Subscriptions: len(s.subs),
	}
}

// Close stops the server. Writes waiting for their commit fail with
// ErrUnavailable (they may still commit: retries are deduplicated).
func (s *Replica) Close() error { return s.stop(gcs.ErrClosed) }

func (s *Replica) stop(why error) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.stopErr = why
	close(s.done)
	for id := range s.subs {
		s.dropSubLocked(id)
	}
	s.mu.Unlock()
	err := s.srv.Close()
	s.wg.Wait()
	s.mu.Lock()
	peers := []*peer{s.monitor}
	for _, p := range s.peers {
		peers = append(peers, p)
	}
	s.mu.Unlock()
	for _, p := range peers {
		p.close()
	}
	s.mu.Lock()
	s.data.Close()
	s.mu.Unlock()
	return err
}

func (s *Replica) tickLoop() {
	defer s.wg.Done()
	sweepTicks := max(int(subSweep/s.cfg.Tick), 1)
	sweepIn := sweepTicks
	runTicks(s.done, s.clock, s.cfg.Tick, func(n int) bool {
		s.mu.Lock()
		for range n {
			s.rep.Tick()
		}
		if sweepIn -= n; sweepIn <= 0 {
			sweepIn = sweepTicks
			s.sweepSubsLocked()
		}
		s.flushLocked()
		removed := s.rep.Removed()
		s.mu.Unlock()
		if removed {
			s.log.Warn("gcs: replica was removed from its chain; stopping", "replica", s.cfg.ID, "shard", s.cfg.Shard)
			go s.stop(fmt.Errorf("%w: replica removed from its chain", gcs.ErrUnavailable))
		}
		return !removed
	})
}

// fromMonitor steps the monitor's answers.
func (s *Replica) fromMonitor(resp []byte) {
	ms, err := chain.DecodeMessages(resp, nil)
	if err != nil {
		s.log.Warn("gcs: bad answer from the monitor", "monitor", s.cfg.Monitor, "err", err)
		return
	}
	s.mu.Lock()
	for _, m := range ms {
		s.rep.Step(m)
	}
	s.flushLocked()
	s.mu.Unlock()
}

// flushLocked carries out the replica's outputs: replies complete waiting
// writes, messages go to their peers. Called with s.mu held.
func (s *Replica) flushLocked() {
	for _, r := range s.rep.Replies() {
		if w, ok := s.waits[r.Token]; ok {
			delete(s.waits, r.Token)
			w.b.finish(w.i, r.Err)
		}
	}
	out := s.rep.Outbox()
	if len(out) > 0 {
		ch := s.rep.Chain()
		for i := range out {
			m := out[i]
			if m.To == chain.MonitorID {
				s.monitor.send(m)
				continue
			}
			var p *peer
			if member, ok := ch.Member(m.To); ok {
				p = s.peerLocked(member.Addr)
			}
			if p != nil {
				p.send(m)
			} else {
				m.Discard() // no longer in the chain
			}
		}
	}
	s.rep.ClearOutputs()
	if ch := s.rep.Chain(); ch.Epoch != s.peersEpoch {
		// Drop connections to replicas that left the chain.
		s.peersEpoch = ch.Epoch
		for a, old := range s.peers {
			if _, ok := ch.MemberAt(a); !ok {
				delete(s.peers, a)
				go old.close()
			}
		}
	}
	if c := s.rep.Committed(); c != s.committed {
		s.committed = c
		close(s.progress)
		s.progress = make(chan struct{})
	}
	if can := s.rep.CanPublish(); can != s.canPublish {
		s.canPublish = can
		if !can {
			// Subscribers here would now see writes before they commit:
			// they must move to the new tail.
			for id := range s.subs {
				s.dropSubLocked(id)
			}
		}
	}
}

func (s *Replica) peerLocked(addr string) *peer {
	if p := s.peers[addr]; p != nil {
		return p
	}
	if s.closed {
		return nil
	}
	p, err := newPeer(addr, s.cfg.Token, proto.MethodPeer, time.Second, s.cfg.MaxFrame, s.clock)
	if err != nil {
		s.log.Warn("gcs: cannot reach peer", "peer", addr, "err", err)
		return nil
	}
	p.onFail = func(err error) { s.suspect(addr, err) }
	s.peers[addr] = p
	return p
}

// suspect tells the monitor a peer did not answer, so that it checks the
// peer now rather than after FailTicks of silence.
func (s *Replica) suspect(addr string, err error) {
	if !errors.Is(err, rpc.ErrUnavailable) {
		return
	}
	s.mu.Lock()
	member, known := s.rep.Chain().MemberAt(addr)
	closed := s.closed
	s.mu.Unlock()
	if !known || closed {
		return
	}
	ctx, cancel := clockwork.WithTimeout(context.Background(), s.clock, time.Second)
	defer cancel()
	resp, err := s.monitor.cli.Call(ctx, proto.MethodSuspect, proto.AppendUvarints(nil, uint64(member.ID)), nil)
	if err != nil {
		return
	}
	// The answer is every chain; ours, if newer, arrives as a MsgConfig
	// too, but taking it now saves a round trip.
	chains, err := proto.DecodeChains(resp)
	if err != nil || s.cfg.Shard >= len(chains) {
		return
	}
	c := chains[s.cfg.Shard]
	s.mu.Lock()
	s.rep.Step(chain.Message{Kind: chain.MsgConfig, From: chain.MonitorID, To: s.cfg.ID, Shard: uint32(s.cfg.Shard), Epoch: c.Epoch, Chain: c})
	s.flushLocked()
	s.mu.Unlock()
}
