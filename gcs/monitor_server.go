package gcs

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"manta/rpc"
)

// MonitorServerConfig configures a MonitorServer.
type MonitorServerConfig struct {
	// Shards is S. Required.
	Shards int
	// Addr is where to listen; default "127.0.0.1:0".
	Addr string
	// Token is the cluster token. Required.
	Token []byte
	// Tick is the monitor's tick (default 1 ms); a replica silent for
	// FailTicks (default 1000) is removed. FailTicks must exceed the
	// replicas' LeaseTicks by more than a message's delay.
	Tick      time.Duration
	FailTicks int
	// ProbeTimeout bounds the check of a suspected replica; default
	// 200 ms. Only a replica that refuses the connection or drops it is
	// removed at once; one that is merely slow is left to FailTicks.
	ProbeTimeout time.Duration
	// Logf receives what goes wrong and every chain change; default
	// log.Printf.
	Logf func(format string, args ...any)
}

// maxChainWait bounds how long a request for the chains waits for a
// change (see MethodChains).
const maxChainWait = 50 * time.Millisecond

// MonitorServer serves the Monitor state machine over rpc: replicas join
// and heartbeat through it, clients ask it for the chains, and anyone may
// report a replica that seems dead, which it then probes.
type MonitorServer struct {
	cfg  MonitorServerConfig
	srv  *rpc.Server
	done chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	mon     *Monitor
	addrs   map[ReplicaID]string
	peers   map[ReplicaID]*peer
	probes  map[ReplicaID]*rpc.Client
	epochs  []uint64
	changed chan struct{} // closed and replaced on every chain change
	closed  bool
}

// StartMonitor starts a monitor server.
func StartMonitor(cfg MonitorServerConfig) (*MonitorServer, error) {
	if cfg.Shards <= 0 || len(cfg.Token) == 0 {
		return nil, errors.New("gcs: MonitorServerConfig needs Shards and Token")
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
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	m := &MonitorServer{
		cfg:     cfg,
		done:    make(chan struct{}),
		mon:     NewMonitor(MonitorConfig{Shards: cfg.Shards, FailTicks: cfg.FailTicks}),
		addrs:   map[ReplicaID]string{},
		peers:   map[ReplicaID]*peer{},
		probes:  map[ReplicaID]*rpc.Client{},
		epochs:  make([]uint64, cfg.Shards),
		changed: make(chan struct{}),
	}
	srv, err := rpc.NewServer(rpc.ServerConfig{Addr: cfg.Addr, Token: cfg.Token, Handler: m.handle, Logf: cfg.Logf})
	if err != nil {
		return nil, err
	}
	m.srv = srv
	m.wg.Add(1)
	go m.tickLoop()
	return m, nil
}

// Addr is where the monitor listens: the address clients dial.
func (m *MonitorServer) Addr() string { return m.srv.Addr() }

// Chains returns every shard's chain.
func (m *MonitorServer) Chains() []Chain {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.chainsLocked()
}

func (m *MonitorServer) chainsLocked() []Chain {
	cs := make([]Chain, m.mon.Shards())
	for i := range cs {
		cs[i] = m.mon.Chain(i)
	}
	return cs
}

// Changed returns a channel closed at the next chain change, for callers
// waiting for a chain to reach a shape (see WaitChains).
func (m *MonitorServer) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// WaitChains waits until ok holds for the chains, or ctx ends.
func (m *MonitorServer) WaitChains(ctx context.Context, ok func([]Chain) bool) ([]Chain, error) {
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

// MarkDead removes a replica at once, as if a probe had found it dead.
func (m *MonitorServer) MarkDead(id ReplicaID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := m.mon.MarkDead(id)
	m.flushLocked(0, nil)
	return ok
}

// Close stops the monitor.
func (m *MonitorServer) Close() error {
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

func (m *MonitorServer) tickLoop() {
	defer m.wg.Done()
	runTicks(m.done, m.cfg.Tick, func(n int) bool {
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
// calling (from) go into its response, the rest are pushed.
func (m *MonitorServer) flushLocked(from ReplicaID, resp []Message) []Message {
	for _, msg := range m.mon.Outbox() {
		if from != 0 && msg.To == from {
			resp = append(resp, msg)
			continue
		}
		if p := m.peerLocked(msg.To); p != nil {
			p.send(msg)
		}
	}
	m.mon.ClearOutputs()
	for s := range m.epochs {
		c := m.mon.Chain(s)
		if c.Epoch != m.epochs[s] {
			m.epochs[s] = c.Epoch
			m.cfg.Logf("gcs: %v", c)
			close(m.changed)
			m.changed = make(chan struct{})
		}
	}
	return resp
}

func (m *MonitorServer) peerLocked(id ReplicaID) *peer {
	if p := m.peers[id]; p != nil {
		return p
	}
	addr := m.addrs[id]
	if addr == "" || m.closed {
		return nil
	}
	p, err := newPeer(addr, m.cfg.Token, MethodPeer, time.Second, 0)
	if err != nil {
		return nil
	}
	m.peers[id] = p
	return p
}

func (m *MonitorServer) handle(ctx *rpc.Ctx, method rpc.Method, req, resp []byte) ([]byte, error) {
	switch method {
	case MethodMonitorStep:
		ms, err := DecodeMessages(req, nil)
		if err != nil {
			return resp, err
		}
		m.mu.Lock()
		var from ReplicaID
		var out []Message
		for _, msg := range ms {
			if msg.From == 0 {
				continue
			}
			from = msg.From
			if msg.Addr != "" && (msg.Kind == MsgJoin || m.addrs[msg.From] == "") {
				m.addrs[msg.From] = msg.Addr
			}
			m.mon.Step(msg)
			out = m.flushLocked(from, out)
		}
		resp = AppendMessages(resp, out)
		m.mu.Unlock()
		return resp, nil
	case MethodChains:
		if len(req) > 0 {
			// Wait (briefly) for shard's chain to pass epoch.
			var shard, epoch uint64
			if err := decodeUvarints(req, "chains request", &shard, &epoch); err != nil {
				return resp, err
			}
			wctx, cancel := context.WithTimeout(ctx.Context(), maxChainWait)
			m.WaitChains(wctx, func(cs []Chain) bool { return shard >= uint64(len(cs)) || cs[shard].Epoch > epoch })
			cancel()
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		return appendChains(resp, m.chainsLocked()), nil
	case MethodSuspect:
		var id uint64
		if err := decodeUvarints(req, "replica", &id); err != nil {
			return resp, err
		}
		m.probe(ReplicaID(id))
		m.mu.Lock()
		defer m.mu.Unlock()
		return appendChains(resp, m.chainsLocked()), nil
	}
	return resp, fmt.Errorf("gcs: monitor has no method %#x", uint16(method))
}

// probe checks a suspected replica and removes it if its process is gone.
func (m *MonitorServer) probe(id ReplicaID) {
	m.mu.Lock()
	addr := m.addrs[id]
	cli := m.probes[id]
	if cli == nil && addr != "" && !m.closed {
		var err error
		cli, err = rpc.Dial(rpc.ClientConfig{Addr: addr, Token: m.cfg.Token, FailFast: true,
			DialTimeout: m.cfg.ProbeTimeout, Backoff: rpc.Backoff{Min: time.Millisecond, Max: 50 * time.Millisecond}})
		if err == nil {
			m.probes[id] = cli
		}
	}
	m.mu.Unlock()
	if cli == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.ProbeTimeout)
	defer cancel()
	_, err := cli.Call(ctx, MethodPing, nil, nil)
	if err == nil || !errors.Is(err, rpc.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return // alive, or only slow: heartbeats decide
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mon.MarkDead(id) {
		m.cfg.Logf("gcs: replica %d at %s is gone (%v)", id, addr, err)
	}
	m.flushLocked(0, nil)
	if c := m.probes[id]; c != nil {
		delete(m.probes, id)
		go c.Close()
	}
}
