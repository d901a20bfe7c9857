package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs/chain"
	"manta/gcs/internal/proto"
	"manta/rpc"
)

// MonitorConfig configures a Monitor.
type MonitorConfig struct {
	// Shards is S. Required.
	Shards int
	// Addr is where to listen; default "127.0.0.1:0".
	Addr string
	// Token is the cluster token. Required.
	Token []byte
	// Tick is the monitor's tick (default DefaultTick); a replica silent
	// for FailTicks (default DefaultFailTicks) is removed. FailTicks must
	// exceed the replicas' LeaseTicks by more than a message's delay. A
	// stall of the monitor's own (its process starved of CPU) counts for
	// at most FailTicks/4: it did not listen meanwhile.
	Tick      time.Duration
	FailTicks int
	// ProbeTimeout bounds the check of a suspected replica; default
	// 200 ms. Only a replica that refuses the connection or drops it is
	// removed at once; one that is merely slow is left to FailTicks.
	ProbeTimeout time.Duration
	// Logger receives what goes wrong and every chain change; nil means
	// slog.Default().
	Logger *slog.Logger
	// Clock drives the ticks, probes and waits for chain changes; nil
	// means the real clock.
	Clock clockwork.Clock
}

// maxChainWait bounds how long a request for the chains waits for a
// change (see proto.MethodChains).
const maxChainWait = 50 * time.Millisecond

// Monitor serves the chain.Monitor state machine over rpc: replicas join
// and heartbeat through it, clients ask it for the chains, and anyone may
// report a replica that seems dead, which it then probes.
type Monitor struct {
	cfg   MonitorConfig
	log   *slog.Logger
	clock clockwork.Clock
	srv   *rpc.Server
	done  chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	mon     *chain.Monitor
	addrs   map[chain.ReplicaID]string
	peers   map[chain.ReplicaID]*peer
	probes  map[chain.ReplicaID]*rpc.Client
	epochs  []uint64
	changed chan struct{} // closed and replaced on every chain change
	closed  bool
}

// StartMonitor starts a monitor server.
func StartMonitor(cfg MonitorConfig) (*Monitor, error) {
	if cfg.Shards <= 0 || len(cfg.Token) == 0 {
		return nil, errors.New("gcs: server.MonitorConfig needs Shards and Token")
	}
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.FailTicks <= 0 {
		cfg.FailTicks = DefaultFailTicks
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = 200 * time.Millisecond
	}
	m := &Monitor{
		cfg:     cfg,
		log:     loggerOrDefault(cfg.Logger),
		clock:   clockOrReal(cfg.Clock),
		done:    make(chan struct{}),
		mon:     chain.NewMonitor(chain.MonitorConfig{Shards: cfg.Shards, FailTicks: cfg.FailTicks}),
		addrs:   map[chain.ReplicaID]string{},
		peers:   map[chain.ReplicaID]*peer{},
		probes:  map[chain.ReplicaID]*rpc.Client{},
		epochs:  make([]uint64, cfg.Shards),
		changed: make(chan struct{}),
	}
	srv, err := rpc.NewServer(rpc.ServerConfig{Addr: cfg.Addr, Token: cfg.Token, Handler: m.handle, Logger: m.log, Clock: m.clock})
	if err != nil {
		return nil, err
	}
	m.srv = srv
	m.wg.Add(1)
	go m.tickLoop()
	return m, nil
}

// Addr is where the monitor listens: the address clients dial.
func (m *Monitor) Addr() string { return m.srv.Addr() }

// Chains returns every shard's chain.
func (m *Monitor) Chains() []chain.Chain {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.chainsLocked()
}

func (m *Monitor) chainsLocked() []chain.Chain {
	cs := make([]chain.Chain, m.mon.Shards())
	for i := range cs {
		cs[i] = m.mon.Chain(i)
	}
	return cs
}

// WaitChains waits until ok holds for the chains, or ctx ends.
func (m *Monitor) WaitChains(ctx context.Context, ok func([]chain.Chain) bool) ([]chain.Chain, error) {
	for {
		m.mu.Lock()
		cs, ch := m.chainsLocked(), m.changed
		m.mu.Unlock()
		if ok(cs) {
			return cs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return cs, fmt.Errorf("gcs: chains %v: %w", cs, ctx.Err())
		}
	}
}

// markDead removes a replica at once, as if a probe had found it dead.
func (m *Monitor) markDead(id chain.ReplicaID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := m.mon.MarkDead(id)
	m.flushLocked(0, nil)
	return ok
}

// Close stops the monitor.
func (m *Monitor) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	m.mu.Unlock()
	err := m.srv.Close()
	m.wg.Wait()
	m.mu.Lock()
	peers, probes := m.peers, m.probes
	m.peers, m.probes = nil, nil
	m.mu.Unlock()
	for _, p := range peers {
		p.close()
	}
	for _, c := range probes {
		c.Close()
	}
	return err
}

func (m *Monitor) tickLoop() {
	defer m.wg.Done()
	// After a stall of its own (its process starved of CPU or paused),
	// the monitor counts at most a quarter of FailTicks: the heartbeats
	// that arrived meanwhile wait unread, and making up every tick first
	// would find their senders silent. Counting less time is safe: a
	// replica is removed later, its lease long over.
	runTicksUpTo(m.done, m.clock, m.cfg.Tick, max(m.cfg.FailTicks/4, 1), func(n int) bool {
		m.mu.Lock()
		for range n {
			m.mon.Tick()
		}
		m.flushLocked(0, nil)
		m.mu.Unlock()
		return true
	})
}

// flushLocked sends the monitor's outbox: messages for the replica that is
// calling (from) go into its response, the rest are pushed to replicas in
// the chains. A replica removed from its chain is told only in answer to
// its own messages (chain.Monitor answers a removed replica's heartbeat
// with its chain): pushing to it would keep a connection to an address
// that is dead, as a rule. When the chains change, the connections to
// replicas they no longer hold are closed.
func (m *Monitor) flushLocked(from chain.ReplicaID, resp []chain.Message) []chain.Message {
	for _, msg := range m.mon.Outbox() {
		if from != 0 && msg.To == from {
			resp = append(resp, msg)
			continue
		}
		if !m.holdsLocked(msg.To) {
			msg.Discard()
			continue
		}
		if p := m.peerLocked(msg.To); p != nil {
			p.send(msg)
		}
	}
	m.mon.ClearOutputs()
	changed := false
	for s := range m.epochs {
		c := m.mon.Chain(s)
		if c.Epoch != m.epochs[s] {
			m.epochs[s] = c.Epoch
			m.log.Info("gcs: chain changed", "chain", c.String())
			changed = true
		}
	}
	if changed {
		m.dropLeftLocked()
		close(m.changed)
		m.changed = make(chan struct{})
	}
	return resp
}

// holdsLocked reports whether id is a member or the joiner of a chain.
func (m *Monitor) holdsLocked(id chain.ReplicaID) bool {
	for s := range m.mon.Shards() {
		if m.mon.Chain(s).Contains(id) {
			return true
		}
	}
	return false
}

// dropLeftLocked closes the peers and probes of replicas that left the
// chains; each would otherwise redial a dead address for as long as the
// monitor runs.
func (m *Monitor) dropLeftLocked() {
	for id, p := range m.peers {
		if !m.holdsLocked(id) {
			delete(m.peers, id)
			go p.close()
		}
	}
	for id, c := range m.probes {
		if !m.holdsLocked(id) {
			delete(m.probes, id)
			go c.Close()
		}
	}
}

func (m *Monitor) peerLocked(id chain.ReplicaID) *peer {
	if p := m.peers[id]; p != nil {
		return p
	}
	addr := m.addrs[id]
	if addr == "" || m.closed {
		return nil
	}
	p, err := newPeer(addr, m.cfg.Token, proto.MethodPeer, time.Second, 0, m.clock)
	if err != nil {
		return nil
	}
	m.peers[id] = p
	return p
}

func (m *Monitor) handle(ctx *rpc.Ctx, method rpc.Method, req, resp []byte) ([]byte, error) {
	switch method {
	case proto.MethodMonitorStep:
		ms, err := chain.DecodeMessages(req, nil)
		if err != nil {
			return resp, err
		}
		m.mu.Lock()
		var from chain.ReplicaID
		var out []chain.Message
		for _, msg := range ms {
			if msg.From == 0 {
				continue
			}
			from = msg.From
			if msg.Addr != "" && (msg.Kind == chain.MsgJoin || m.addrs[msg.From] == "") {
				m.addrs[msg.From] = msg.Addr
			}
			m.mon.Step(msg)
			out = m.flushLocked(from, out)
		}
		resp = chain.AppendMessages(resp, out)
		m.mu.Unlock()
		return resp, nil
	case proto.MethodChains:
		if len(req) > 0 {
			// Wait (briefly) for shard's chain to pass epoch.
			var shard, epoch uint64
			if err := proto.DecodeUvarints(req, "chains request", &shard, &epoch); err != nil {
				return resp, err
			}
			wctx, cancel := clockwork.WithTimeout(ctx.Context(), m.clock, maxChainWait)
			m.WaitChains(wctx, func(cs []chain.Chain) bool { return shard >= uint64(len(cs)) || cs[shard].Epoch > epoch })
			cancel()
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		return proto.AppendChains(resp, m.chainsLocked()), nil
	case proto.MethodSuspect:
		var id uint64
		if err := proto.DecodeUvarints(req, "replica", &id); err != nil {
			return resp, err
		}
		m.probe(chain.ReplicaID(id))
		m.mu.Lock()
		defer m.mu.Unlock()
		return proto.AppendChains(resp, m.chainsLocked()), nil
	}
	return resp, fmt.Errorf("gcs: monitor has no method %#x", uint16(method))
}

// refused reports whether a connection to addr is refused: no process
// listens there. One that is stalled (a long pause, SIGSTOP) still has its
// socket, whose backlog accepts, though its handshake never comes: the rpc
// client's failure to reach it within the probe's timeout is no proof that
// it is gone.
func refused(addr string, timeout time.Duration) bool {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// probe checks a suspected replica and removes it if its process is gone.
func (m *Monitor) probe(id chain.ReplicaID) {
	m.mu.Lock()
	addr := m.addrs[id]
	cli := m.probes[id]
	if !m.holdsLocked(id) {
		cli, addr = nil, "" // removed already: nothing to decide
	}
	if cli == nil && addr != "" && !m.closed {
		var err error
		cli, err = rpc.Dial(rpc.ClientConfig{Addr: addr, Token: m.cfg.Token, FailFast: true,
			DialTimeout: m.cfg.ProbeTimeout, Backoff: rpc.Backoff{Min: time.Millisecond, Max: 50 * time.Millisecond}, Clock: m.clock})
		if err == nil {
			m.probes[id] = cli
		}
	}
	m.mu.Unlock()
	if cli == nil {
		return
	}
	ctx, cancel := clockwork.WithTimeout(context.Background(), m.clock, m.cfg.ProbeTimeout)
	defer cancel()
	_, err := cli.Call(ctx, proto.MethodPing, nil, nil)
	if err == nil || !errors.Is(err, rpc.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || !refused(addr, m.cfg.ProbeTimeout) {
		return // alive, or only slow: heartbeats decide
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mon.MarkDead(id) {
		m.log.Warn("gcs: replica is gone", "replica", id, "addr", addr, "err", err)
	}
	m.flushLocked(0, nil)
	if c := m.probes[id]; c != nil {
		delete(m.probes, id)
		go c.Close()
	}
}
