package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs"
	"manta/gcs/chain"
)

// EnvToken is the environment variable that carries the cluster token, in
// hex, to replica processes (and to `manta gcs` started by hand). The token
// travels in the environment, never on a command line, where other users
// could read it in the process table.
const EnvToken = "MANTA_GCS_TOKEN"

// The other variables through which a head configures its replica
// processes.
const (
	envMonitor   = "MANTA_GCS_MONITOR"    // the monitor's address
	envShard     = "MANTA_GCS_SHARD"      // the shard to replicate
	envID        = "MANTA_GCS_ID"         // the replica's ID, decimal
	envFlushDir  = "MANTA_GCS_FLUSH_DIR"  // turns flushing on
	envMemoryCap = "MANTA_GCS_MEMORY_CAP" // bytes
	envParent    = "MANTA_GCS_PARENT"     // the head's pid: a replica exits when it is gone
	envBind      = "MANTA_GCS_BIND"       // the host replicas listen on
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
	// Bind is the host the replica processes listen on (a free port
	// each); default 127.0.0.1. Nodes on other hosts need one they can
	// reach.
	Bind string
	// Command returns a command that runs one replica process: a binary
	// that calls RunReplica with ReplicaConfigFromEnv (the manta binary:
	// "manta gcs"). The head adds the MANTA_GCS_* variables to its
	// environment. Required.
	Command func() *exec.Cmd
	// FlushDir and MemoryCap turn flushing on in every replica (each in a
	// directory of its own under FlushDir).
	FlushDir  string
	MemoryCap int64
	// Restart replaces a replica process that exits with a new one, which
	// joins its chain by state transfer.
	Restart bool
	// FailTicks and Tick tune the monitor (see MonitorConfig).
	FailTicks int
	Tick      time.Duration
	// Logger receives chain changes and process exits; nil means
	// slog.Default().
	Logger *slog.Logger
	// Clock drives the monitor and the wait for processes to stop; nil
	// means the real clock.
	Clock clockwork.Clock
}

// Head runs a replicated GCS as separate processes: the monitor in this
// process and S×R replica processes, started on loopback and killed with
// it.
type Head struct {
	cfg   HeadConfig
	log   *slog.Logger
	clock clockwork.Clock
	mon   *Monitor
	token []byte

	mu     sync.Mutex
	procs  map[chain.ReplicaID]*ReplicaProcess
	closed bool
	wg     sync.WaitGroup
}

// ReplicaProcess is one replica process of a Head.
type ReplicaProcess struct {
	ID    chain.ReplicaID
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
	token := cfg.Token
	if len(token) == 0 {
		token = NewToken()
	}
	h := &Head{cfg: cfg, log: loggerOrDefault(cfg.Logger), clock: clockOrReal(cfg.Clock), token: token, procs: map[chain.ReplicaID]*ReplicaProcess{}}
	mon, err := StartMonitor(MonitorConfig{Shards: cfg.Shards, Addr: cfg.Addr, Token: token, Tick: cfg.Tick, FailTicks: cfg.FailTicks, Logger: h.log, Clock: h.clock})
	if err != nil {
		return nil, err
	}
	h.mon = mon
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
func (h *Head) Monitor() *Monitor { return h.mon }

// WaitFull waits until every chain has R members and no joiner.
func (h *Head) WaitFull(ctx context.Context) ([]chain.Chain, error) {
	return h.mon.WaitChains(ctx, func(cs []chain.Chain) bool {
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
		return nil, gcs.ErrClosed
	}
	id := newReplicaID()
	cmd := h.cfg.Command()
	env := append(os.Environ(),
		EnvToken+"="+hex.EncodeToString(h.token),
		envMonitor+"="+h.mon.Addr(),
		envShard+"="+strconv.Itoa(shard),
		envID+"="+strconv.FormatUint(uint64(id), 10),
		envParent+"="+strconv.Itoa(os.Getpid()),
	)
	if h.cfg.Bind != "" {
		env = append(env, envBind+"="+h.cfg.Bind)
	}
	if h.cfg.FlushDir != "" {
		env = append(env, envFlushDir+"="+h.cfg.FlushDir, envMemoryCap+"="+strconv.FormatInt(h.cfg.MemoryCap, 10))
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
	h.log.Warn("gcs: replica process exited", "replica", p.ID, "shard", p.Shard, "pid", p.PID, "err", err)
	// Its chain learns now rather than after FailTicks.
	h.mon.markDead(p.ID)
	if h.cfg.Restart {
		if _, err := h.Spawn(p.Shard); err != nil && !errors.Is(err, gcs.ErrClosed) {
			h.log.Error("gcs: cannot restart a replica", "shard", p.Shard, "err", err)
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
func (h *Head) Process(id chain.ReplicaID) *ReplicaProcess {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.procs[id]
}

// Kill sends SIGKILL to replica id's process.
func (h *Head) Kill(id chain.ReplicaID) error {
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
	h.terminate(procs)
	h.wg.Wait()
	return h.mon.Close()
}

// terminate sends procs SIGTERM, and SIGKILL to those still running a
// second later.
func (h *Head) terminate(procs []*ReplicaProcess) {
	for _, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	grace := h.clock.After(time.Second)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-grace:
			for _, p := range procs {
				p.cmd.Process.Kill()
			}
			return
		}
	}
}
