package gcs

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"manta/rpc"
)

// ReplicaServerConfig configures a ReplicaServer.
type ReplicaServerConfig struct {
	// Shard is the shard this replica holds.
	Shard int
	// ID names the replica; zero picks a random one. A restarted process
	// must use a new ID.
	ID ReplicaID
	// Addr is where to listen; default "127.0.0.1:0".
	Addr string
	// Monitor is the monitor's address. Required.
	Monitor string
	// Token is the cluster token. Required.
	Token []byte
	// Tick is the state machine's tick; default 1 ms. Heartbeats go every
	// HeartbeatTicks (default 10), the lease from the monitor lasts
	// LeaseTicks (default 300, below the monitor's FailTicks), and
	// unacknowledged entries are resent after RetransmitTicks (default 20).
	Tick                                        time.Duration
	HeartbeatTicks, LeaseTicks, RetransmitTicks int
	// Limits bound keys and values.
	Limits Limits
	// FlushDir and MemoryCap turn on flushing, as for Config.
	FlushDir  string
	MemoryCap int64
	// MaxFrame bounds rpc frames (default rpc's 64 MiB); snapshots travel
	// in chunks of a quarter of it.
	MaxFrame int
	// Logf receives what goes wrong; default log.Printf.
	Logf func(format string, args ...any)
}

// Defaults of the servers' timing, in ticks of DefaultTick.
const (
	DefaultTick            = time.Millisecond
	DefaultHeartbeatTicks  = 10
	DefaultLeaseTicks      = 300
	DefaultRetransmitTicks = 20
	DefaultFailTicks       = 1000
)

// ReplicaServer serves one replica of one shard over rpc: it wraps the
// Replica state machine and the shard's data, sends what the machine
// emits, and answers clients (writes at the head, reads and subscriptions
// at the tail; elsewhere a redirect carrying the chain).
type ReplicaServer struct {
	cfg  ReplicaServerConfig
	srv  *rpc.Server
	done chan struct{} // closed when the server stops
	wg   sync.WaitGroup

	mu         sync.Mutex
	rep        *Replica
	data       *shard
	token      uint64
	waits      map[uint64]waitRef
	peers      map[string]*peer
	monitor    *peer
	subs       map[uint64]serverSub
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
	req     writeRequest
	results []result
	tokens  []uint64
	left    int
	done    chan struct{} // receives one value when left reaches 0
}

var batchWaitPool = sync.Pool{New: func() any { return &batchWait{done: make(chan struct{}, 1)} }}

func (b *batchWait) finish(i int, err error) {
	b.results[i] = result{code: errorCode(err)}
	if err != nil {
		b.results[i].msg = err.Error()
	}
	b.left--
	if b.left == 0 {
		b.done <- struct{}{}
	}
}

// StartReplica starts a replica server; it joins its shard's chain through
// the monitor.
func StartReplica(cfg ReplicaServerConfig) (*ReplicaServer, error) {
	if cfg.Monitor == "" || len(cfg.Token) == 0 {
		return nil, errors.New("gcs: ReplicaServerConfig needs Monitor and Token")
	}
	if cfg.ID == 0 {
		cfg.ID = randomID()
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
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	cfg.Limits = cfg.Limits.withDefaults()
	var fl *flusher
	if cfg.FlushDir != "" {
		var err error
		if fl, err = newFlusher(cfg.FlushDir, cfg.MemoryCap); err != nil {
			return nil, err
		}
	}
	s := &ReplicaServer{
		cfg:      cfg,
		done:     make(chan struct{}),
		data:     newShard(cfg.Limits, fl),
		waits:    map[uint64]waitRef{},
		peers:    map[string]*peer{},
		subs:     map[uint64]serverSub{},
		progress: make(chan struct{}),
	}
	srv, err := rpc.NewServer(rpc.ServerConfig{Addr: cfg.Addr, Token: cfg.Token, Handler: s.handle, MaxFrame: cfg.MaxFrame, Logf: cfg.Logf})
	if err != nil {
		if fl != nil {
			fl.close()
		}
		return nil, err
	}
	s.srv = srv
	s.monitor, err = newPeer(cfg.Monitor, cfg.Token, MethodMonitorStep, time.Second, cfg.MaxFrame)
	if err != nil {
		srv.Close()
		return nil, err
	}
	s.monitor.onReply = s.fromMonitor
	s.mu.Lock()
	s.rep = NewReplica(ReplicaConfig{
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

func randomID() ReplicaID {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		if id := ReplicaID(binary.LittleEndian.Uint64(b[:]) >> 1); id != 0 {
			return id
		}
	}
}

// Addr is where the replica listens.
func (s *ReplicaServer) Addr() string { return s.srv.Addr() }

// ID is the replica's ID.
func (s *ReplicaServer) ID() ReplicaID { return s.cfg.ID }

// Done is closed when the server stops: closed, or removed from its chain
// (then Err says so).
func (s *ReplicaServer) Done() <-chan struct{} { return s.done }

// Err says why the server stopped, once Done is closed.
func (s *ReplicaServer) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopErr
}

// Status describes a replica for status pages and tests.
type ReplicaStatus struct {
	ID        ReplicaID
	Shard     int
	Addr      string
	Chain     Chain
	Applied   uint64
	Committed uint64
	Installed bool
	CanRead   bool
	CanWrite  bool
	Stats     Stats
}

// Status returns the replica's current status.
func (s *ReplicaServer) Status() ReplicaStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := ReplicaStatus{
		ID: s.cfg.ID, Shard: s.cfg.Shard, Addr: s.srv.Addr(), Chain: s.rep.Chain().Clone(),
		Applied: s.rep.Applied(), Committed: s.rep.Committed(), Installed: s.rep.Installed(),
		CanRead: s.rep.CanRead(), CanWrite: s.rep.CanWrite(), Stats: Stats{Shards: 1},
	}
	s.data.addStats(&st.Stats)
	return st
}

// Close stops the server. Writes waiting for their commit fail with
// ErrUnavailable (they may still commit: retries are deduplicated).
func (s *ReplicaServer) Close() error { return s.stop(ErrClosed) }

func (s *ReplicaServer) stop(why error) error {
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
	if s.data.flush != nil {
		s.data.flush.close()
	}
	s.mu.Unlock()
	return err
}

func (s *ReplicaServer) tickLoop() {
	defer s.wg.Done()
	runTicks(s.done, s.cfg.Tick, func(n int) bool {
		s.mu.Lock()
		for range n {
			s.rep.Tick()
		}
		s.flushLocked()
		removed := s.rep.Removed()
		s.mu.Unlock()
		if removed {
			s.cfg.Logf("gcs: replica %d of shard %d was removed from its chain; stopping", s.cfg.ID, s.cfg.Shard)
			go s.stop(fmt.Errorf("%w: replica removed from its chain", ErrUnavailable))
		}
		return !removed
	})
}

// runTicks calls step every tick with the number of ticks due, catching up
// on ticks the ticker dropped so a state machine's clock (a replica's
// lease, the monitor's timeouts) keeps real time when the process is slow.
// It returns when done closes or step returns false.
func runTicks(done <-chan struct{}, tick time.Duration, step func(n int) bool) {
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			n := min(int(now.Sub(last)/tick), 1000)
			last = last.Add(time.Duration(n) * tick)
			if !step(n) {
				return
			}
		}
	}
}

// fromMonitor steps the monitor's answers.
func (s *ReplicaServer) fromMonitor(resp []byte) {
	ms, err := DecodeMessages(resp, nil)
	if err != nil {
		s.cfg.Logf("gcs: bad answer from the monitor: %v", err)
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
func (s *ReplicaServer) flushLocked() {
	for _, r := range s.rep.Replies() {
		if w, ok := s.waits[r.Token]; ok {
			delete(s.waits, r.Token)
			w.b.finish(w.i, r.Err)
		}
	}
	out := s.rep.Outbox()
	if len(out) > 0 {
		chain := s.rep.Chain()
		for i := range out {
			m := out[i]
			if m.To == MonitorID {
				s.monitor.send(m)
				continue
			}
			addr := addrOf(chain, m.To)
			var p *peer
			if addr != "" { // else no longer in the chain
				p = s.peerLocked(addr)
			}
			if p != nil {
				p.send(m)
			} else {
				m.discard()
			}
		}
	}
	s.rep.ClearOutputs()
	if chain := s.rep.Chain(); chain.Epoch != s.peersEpoch {
		// Drop connections to replicas that left the chain.
		s.peersEpoch = chain.Epoch
		for a, old := range s.peers {
			if !chainHasAddr(chain, a) {
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

func addrOf(c Chain, id ReplicaID) string {
	for _, m := range c.Members {
		if m.ID == id {
			return m.Addr
		}
	}
	if c.Joiner.ID == id {
		return c.Joiner.Addr
	}
	return ""
}

func (s *ReplicaServer) peerLocked(addr string) *peer {
	if p := s.peers[addr]; p != nil {
		return p
	}
	if s.closed {
		return nil
	}
	p, err := newPeer(addr, s.cfg.Token, MethodPeer, time.Second, s.cfg.MaxFrame)
	if err != nil {
		s.cfg.Logf("gcs: cannot reach peer %s: %v", addr, err)
		return nil
	}
	p.onFail = func(err error) { s.suspect(addr, err) }
	s.peers[addr] = p
	return p
}

func chainHasAddr(c Chain, addr string) bool {
	for _, m := range c.Members {
		if m.Addr == addr {
			return true
		}
	}
	return c.Joiner.Addr == addr
}

// suspect tells the monitor a peer did not answer, so that it checks the
// peer now rather than after FailTicks of silence.
func (s *ReplicaServer) suspect(addr string, err error) {
	if !errors.Is(err, rpc.ErrUnavailable) {
		return
	}
	s.mu.Lock()
	var id ReplicaID
	chain := s.rep.Chain()
	for _, m := range chain.Members {
		if m.Addr == addr {
			id = m.ID
		}
	}
	if chain.Joiner.Addr == addr {
		id = chain.Joiner.ID
	}
	closed := s.closed
	s.mu.Unlock()
	if id == 0 || closed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := s.monitor.cli.Call(ctx, MethodSuspect, appendUvarints(nil, uint64(id)), nil)
	if err != nil {
		return
	}
	// The answer is every chain; ours, if newer, arrives as a MsgConfig
	// too, but taking it now saves a round trip.
	chains, err := decodeChains(resp)
	if err != nil || s.cfg.Shard >= len(chains) {
		return
	}
	s.mu.Lock()
	s.rep.Step(Message{Kind: MsgConfig, From: MonitorID, To: s.cfg.ID, Shard: uint32(s.cfg.Shard), Epoch: chains[s.cfg.Shard].Epoch, Chain: chains[s.cfg.Shard]})
	s.flushLocked()
	s.mu.Unlock()
}
