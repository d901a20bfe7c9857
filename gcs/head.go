package gcs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Environment variables through which a head configures its replica
// processes. The token travels here, never on a command line (where
// other users could read it in the process table).
const (
	EnvToken     = "MANTA_GCS_TOKEN"      // the cluster token, hex
	EnvMonitor   = "MANTA_GCS_MONITOR"    // the monitor's address
	EnvShard     = "MANTA_GCS_SHARD"      // the shard to replicate
	EnvID        = "MANTA_GCS_ID"         // the replica's ID, decimal
	EnvFlushDir  = "MANTA_GCS_FLUSH_DIR"  // turns flushing on
	EnvMemoryCap = "MANTA_GCS_MEMORY_CAP" // bytes
	EnvParent    = "MANTA_GCS_PARENT"     // the head's pid: a replica exits when it is gone
)

// NewToken returns a fresh random cluster token.
func NewToken() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// HeadConfig configures a Head.
type HeadConfig struct {
	// Shards and Replicas: S chains of R replicas each. Defaults 1 and 1.
	Shards, Replicas int
	// Token is the cluster token; nil makes a new one.
	Token []byte
	// Addr is where the monitor listens; default "127.0.0.1:0".
	Addr string
	// Command returns a command that runs one replica process: a binary
	// that calls RunReplicaFromEnv (the manta binary: "manta gcs"). The
	// head adds the MANTA_GCS_* variables to its environment. Required.
	Command func() *exec.Cmd
	// FlushDir and MemoryCap turn flushing on in every replica (each in a
	// directory of its own under FlushDir).
	FlushDir  string
	MemoryCap int64
	// Restart replaces a replica process that exits with a new one, which
	// joins its chain by state transfer.
	Restart bool
	// FailTicks and Tick tune the monitor (see MonitorServerConfig).
	FailTicks int
	Tick      time.Duration
	// Logf receives chain changes and process exits; default log.Printf.
	Logf func(format string, args ...any)
}

// Head runs a replicated GCS as separate processes: the monitor in this
// process and S×R replica processes, started on loopback and killed with
// it.
type Head struct {
	cfg   HeadConfig
	mon   *MonitorServer
	token []byte

	mu     sync.Mutex
	procs  map[ReplicaID]*ReplicaProcess
	closed bool
	wg     sync.WaitGroup
}

// ReplicaProcess is one replica process of a Head.
type ReplicaProcess struct {
	ID    ReplicaID
	Shard int
	PID   int
	cmd   *exec.Cmd
	done  chan struct{} // closed when it has exited
}

// Done is closed when the process has exited.
func (p *ReplicaProcess) Done() <-chan struct{} { return p.done }

// StartHead starts the monitor and the replica processes and waits, until
// ctx ends, for every chain to have its R members.
func StartHead(ctx context.Context, cfg HeadConfig) (*Head, error) {
	if cfg.Command == nil {
		return nil, errors.New("gcs: HeadConfig.Command is required")
	}
	cfg.Shards = max(cfg.Shards, 1)
	cfg.Replicas = max(cfg.Replicas, 1)
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	token := cfg.Token
	if len(token) == 0 {
		token = NewToken()
	}
	mon, err := StartMonitor(MonitorServerConfig{Shards: cfg.Shards, Addr: cfg.Addr, Token: token, Tick: cfg.Tick, FailTicks: cfg.FailTicks, Logf: cfg.Logf})
	if err != nil {
		return nil, err
	}
	h := &Head{cfg: cfg, mon: mon, token: token, procs: map[ReplicaID]*ReplicaProcess{}}
	for s := range cfg.Shards {
		for range cfg.Replicas {
			if _, err := h.Spawn(s); err != nil {
				h.Close()
				return nil, err
			}
		}
	}
	if _, err := h.WaitFull(ctx); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Addr is the monitor's address: what clients dial.
func (h *Head) Addr() string { return h.mon.Addr() }

// Token is the cluster token.
func (h *Head) Token() []byte { return h.token }

// Monitor is the head's monitor server.
func (h *Head) Monitor() *MonitorServer { return h.mon }

// WaitFull waits until every chain has R members and no joiner.
func (h *Head) WaitFull(ctx context.Context) ([]Chain, error) {
	return h.mon.WaitChains(ctx, func(cs []Chain) bool {
		for _, c := range cs {
			if len(c.Members) < h.cfg.Replicas || c.Joiner.ID != 0 {
				return false
			}
		}
		return true
	})
}

// Spawn starts a new replica process for shard; it joins the chain.
func (h *Head) Spawn(shard int) (*ReplicaProcess, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	id := randomID()
	cmd := h.cfg.Command()
	env := append(os.Environ(),
		EnvToken+"="+hex.EncodeToString(h.token),
		EnvMonitor+"="+h.mon.Addr(),
		EnvShard+"="+strconv.Itoa(shard),
		EnvID+"="+strconv.FormatUint(uint64(id), 10),
		EnvParent+"="+strconv.Itoa(os.Getpid()),
	)
	if h.cfg.FlushDir != "" {
		env = append(env, EnvFlushDir+"="+h.cfg.FlushDir, EnvMemoryCap+"="+strconv.FormatInt(h.cfg.MemoryCap, 10))
	}
	cmd.Env = env
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stderr
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("gcs: cannot start a replica process: %w", err)
	}
	p := &ReplicaProcess{ID: id, Shard: shard, PID: cmd.Process.Pid, cmd: cmd, done: make(chan struct{})}
	h.procs[id] = p
	h.wg.Add(1)
	go h.watch(p)
	return p, nil
}

func (h *Head) watch(p *ReplicaProcess) {
	defer h.wg.Done()
	err := p.cmd.Wait()
	close(p.done)
	h.mu.Lock()
	delete(h.procs, p.ID)
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return
	}
	h.cfg.Logf("gcs: replica %d of shard %d (pid %d) exited: %v", p.ID, p.Shard, p.PID, err)
	// Its chain learns now rather than after FailTicks.
	h.mon.MarkDead(p.ID)
	if h.cfg.Restart {
		if _, err := h.Spawn(p.Shard); err != nil && !errors.Is(err, ErrClosed) {
			h.cfg.Logf("gcs: cannot restart a replica of shard %d: %v", p.Shard, err)
		}
	}
}

// Processes lists the running replica processes.
func (h *Head) Processes() []*ReplicaProcess {
	h.mu.Lock()
	defer h.mu.Unlock()
	ps := make([]*ReplicaProcess, 0, len(h.procs))
	for _, p := range h.procs {
		ps = append(ps, p)
	}
	return ps
}

// Process returns the process of replica id, or nil.
func (h *Head) Process(id ReplicaID) *ReplicaProcess {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.procs[id]
}

// Kill sends SIGKILL to replica id's process.
func (h *Head) Kill(id ReplicaID) error {
	p := h.Process(id)
	if p == nil {
		return fmt.Errorf("gcs: no process for replica %d", id)
	}
	return p.cmd.Process.Signal(syscall.SIGKILL)
}

// Close stops every replica process (SIGTERM, then SIGKILL after a second)
// and the monitor.
func (h *Head) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	procs := make([]*ReplicaProcess, 0, len(h.procs))
	for _, p := range h.procs {
		procs = append(procs, p)
	}
	h.mu.Unlock()
	for _, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(time.Second):
			p.cmd.Process.Kill()
		}
	}
	h.wg.Wait()
	return h.mon.Close()
}
