package benchmarks

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"manta/core"
	"manta/gcs/server"
)

// The harness of the multi-node experiments: a cluster of node processes
// on this machine's loopback (`manta start --head` and `manta start
// --address`), started for one experiment and stopped at its end.

// localClusterConfig describes a local cluster.
type localClusterConfig struct {
	// Manta is the manta binary that runs `manta start` (see mantaBinary).
	Manta string
	// Nodes are the resources of each node process, the head's first. Node
	// i also gets nodeResource(i) = 1, which tasks name to run there.
	Nodes []map[string]float64
	// Heartbeat is how often every node reports its load (default 100 ms);
	// NodeTimeout, how long the head waits before marking a silent node
	// dead (default 2 s).
	Heartbeat, NodeTimeout time.Duration
	// StoreBytes is each node's object store (MANTA_STORE_BYTES); 0 leaves
	// the default, a quarter of the memory.
	StoreBytes int64
	// Env is more environment for the node processes ("MANTA_INLINE_BYTES=…").
	Env []string
	// Log receives the processes' output; nil discards it.
	Log io.Writer
}

// benchNodeEnv is set to node i's index in the environment of node i's
// process, and so of its workers: a task reads it (benchNode) to say where
// it ran.
const benchNodeEnv = "BENCH_NODE"

// benchNode is the index of the local cluster's node this process belongs
// to, -1 outside one (the driver).
func benchNode() int {
	i, err := strconv.Atoi(os.Getenv(benchNodeEnv))
	if err != nil {
		return -1
	}
	return i
}

// nodeResource is the resource only node i of a local cluster has (one
// unit): a task or its options that ask for it run there.
func nodeResource(i int) string { return "bench_node" + strconv.Itoa(i) }

// onNode is the resource shape of a task that must run on node i of a
// local cluster, taking cpu CPUs there.
func onNode(i int, cpu float64) map[string]float64 {
	return map[string]float64{"CPU": cpu, nodeResource(i): 0.01}
}

// localCluster is a running local cluster. While it runs, this process's
// environment holds its state directory (MANTA_DIR) and token
// (MANTA_GCS_TOKEN) for drivers to join with core.Init, and none of the
// other MANTA_ variables core.Init reads, so a driver's core.Config is
// all that configures it; Stop restores the environment.
type localCluster struct {
	// Address is the head's GCS monitor, core.Config.Address for drivers.
	Address string
	// Dir is the cluster's state directory, removed by Stop.
	Dir string
	// Heartbeat is the nodes' heartbeat period, for drivers to use too.
	Heartbeat time.Duration

	procs   []*nodeProcess
	env     map[string]*string // this process's MANTA_ variables before Start
	stopped bool

	// What addNode starts a node process with.
	manta   string
	nodeEnv []string
	log     io.Writer
}

// nodeProcess is one `manta start` process.
type nodeProcess struct {
	cmd    *exec.Cmd
	joined chan struct{} // closed when it printed that its node joined
	lines  chan string   // the lines it printed, until joined
	exited chan struct{} // closed once it has exited
	err    error         // how it exited, once exited is closed
}

// clusterRunning makes sure one local cluster runs at a time: each owns
// the process's MANTA_ environment.
var clusterRunning atomic.Bool

// errClusterRunning answers a second startLocalCluster.
var errClusterRunning = errors.New("benchmarks: a local cluster is already running in this process")

// startLocalCluster starts the head and then the other nodes, waits until
// each has joined (within 30 s and ctx), and returns the cluster. On any
// failure it kills what it started.
func startLocalCluster(ctx context.Context, cfg localClusterConfig) (c *localCluster, err error) {
	if cfg.Manta == "" {
		return nil, errors.New("benchmarks: no manta binary to run the cluster's nodes")
	}
	if len(cfg.Nodes) == 0 {
		return nil, errors.New("benchmarks: a local cluster needs at least its head")
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 100 * time.Millisecond
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if !clusterRunning.CompareAndSwap(false, true) {
		return nil, errClusterRunning
	}
	dir, err := os.MkdirTemp("", "manta-bench-cluster-")
	if err != nil {
		clusterRunning.Store(false)
		return nil, err
	}
	token := hex.EncodeToString(server.NewToken())
	env := []string{"MANTA_DIR=" + dir, server.EnvToken + "=" + token}
	if cfg.StoreBytes > 0 {
		env = append(env, "MANTA_STORE_BYTES="+strconv.FormatInt(cfg.StoreBytes, 10))
	}
	env = append(env, cfg.Env...)
	c = &localCluster{Dir: dir, Heartbeat: cfg.Heartbeat, manta: cfg.Manta, nodeEnv: env, log: cfg.Log}
	defer func() {
		if err != nil {
			c.kill()
			c.Stop()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := []string{"start", "--heartbeat", cfg.Heartbeat.String(), "--resources", resourceFlag(0, cfg.Nodes[0]),
		"--head", "--node-timeout", cfg.NodeTimeout.String()}
	head, err := startNodeProcess(cfg.Manta, "head", args, append(slices.Clone(env), benchNodeEnv+"=0"), cfg.Log)
	if err != nil {
		return c, err
	}
	c.procs = append(c.procs, head)
	if c.Address, err = head.headAddress(ctx); err != nil {
		return c, err
	}
	for _, res := range cfg.Nodes[1:] {
		if _, err := c.addNode(res); err != nil {
			return c, err
		}
	}
	for i, p := range c.procs {
		if err := p.waitJoined(ctx); err != nil {
			return c, fmt.Errorf("benchmarks: node %d of the local cluster: %w", i, err)
		}
	}
	// The driver's environment: this cluster's, and no other MANTA_
	// variable overriding its Config.
	c.env = map[string]*string{}
	for _, kv := range os.Environ() {
		if name, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "MANTA_") {
			c.env[name] = &v
			os.Unsetenv(name)
		}
	}
	for _, name := range []string{"MANTA_DIR", server.EnvToken} {
		if _, ok := c.env[name]; !ok {
			c.env[name] = nil
		}
	}
	os.Setenv("MANTA_DIR", dir)
	os.Setenv(server.EnvToken, token)
	return c, nil
}

// addNode starts another node process, with resources res, that joins
// the cluster as node len(procs); it returns the node's index without
// waiting for it to join. Stop ends it with the others.
func (c *localCluster) addNode(res map[string]float64) (int, error) {
	i := len(c.procs)
	args := []string{"start", "--heartbeat", c.Heartbeat.String(), "--resources", resourceFlag(i, res), "--address", c.Address}
	p, err := startNodeProcess(c.manta, "node "+strconv.Itoa(i), args, append(slices.Clone(c.nodeEnv), benchNodeEnv+"="+strconv.Itoa(i)), c.log)
	if err != nil {
		return 0, err
	}
	c.procs = append(c.procs, p)
	return i, nil
}

// resourceFlag is `--resources` for node i: its resources and its own
// nodeResource, in a stable order.
func resourceFlag(i int, res map[string]float64) string {
	all := map[string]float64{nodeResource(i): 1}
	for k, v := range res {
		all[k] = v
	}
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for j, k := range names {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%s", k, strconv.FormatFloat(all[k], 'g', -1, 64))
	}
	return b.String()
}

// startNodeProcess runs `manta args…` with env added to this process's
// environment less its MANTA_ variables; its output goes to log, each
// line after name.
func startNodeProcess(manta, name string, args, env []string, log io.Writer) (*nodeProcess, error) {
	cmd := exec.Command(manta, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MANTA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("benchmarks: starting %s: %w", manta, err)
	}
	p := &nodeProcess{cmd: cmd, joined: make(chan struct{}), lines: make(chan string, 64), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		joined := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintf(log, "%s: %s\n", name, line)
			if joined {
				continue
			}
			select {
			case p.lines <- line:
			default:
			}
			if strings.Contains(line, " joined with ") {
				joined = true
				close(p.joined)
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// headAddress reads the GCS monitor's address from what the head prints
// ("… nodes join with: manta start --address HOST:PORT").
func (p *nodeProcess) headAddress(ctx context.Context) (string, error) {
	const marker = "manta start --address "
	for {
		select {
		case line := <-p.lines:
			if _, addr, ok := strings.Cut(line, marker); ok {
				return strings.TrimSpace(addr), nil
			}
		case <-p.exited:
			return "", fmt.Errorf("benchmarks: the head exited before it printed its address: %v", p.err)
		case <-ctx.Done():
			return "", fmt.Errorf("benchmarks: the head did not print its address: %w", ctx.Err())
		}
	}
}

func (p *nodeProcess) waitJoined(ctx context.Context) error {
	select {
	case <-p.joined:
		return nil
	case <-p.exited:
		return fmt.Errorf("exited before joining: %v", p.err)
	case <-ctx.Done():
		return fmt.Errorf("did not join: %w", ctx.Err())
	}
}

// Driver joins the cluster as a driver: core.Init with cfg, its Address
// and Heartbeat filled in from the cluster.
func (c *localCluster) Driver(cfg core.Config) (*core.Cluster, error) {
	cfg.Address = c.Address
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = c.Heartbeat
	}
	return core.Init(cfg)
}

// Stop asks every node to stop (SIGTERM, the nodes before the head), kills
// those still running after 10 s, removes the state directory and
// restores the environment. It may be called more than once.
func (c *localCluster) Stop() error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	var errs []error
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
			errs = append(errs, fmt.Errorf("benchmarks: node %d did not stop within 10 s; killed", i))
		}
	}
	for name, v := range c.env {
		if v == nil {
			os.Unsetenv(name)
		} else {
			os.Setenv(name, *v)
		}
	}
	errs = append(errs, os.RemoveAll(c.Dir))
	clusterRunning.Store(false)
	return errors.Join(errs...)
}

// kill kills every process at once (a failed start).
func (c *localCluster) kill() {
	var wg sync.WaitGroup
	for _, p := range c.procs {
		p.cmd.Process.Kill()
		wg.Add(1)
		go func() { defer wg.Done(); <-p.exited }()
	}
	wg.Wait()
}

// errNoManta says why a multi-node experiment cannot find the manta
// binary.
var errNoManta = errors.New("benchmarks: this is a test binary, not manta: give Options.Manta (the multi-node experiments run `manta start`)")

// mantaBinary is the binary that runs a local cluster's nodes: env's
// (Options.Manta) if given, else this program, which must then be manta.
func mantaBinary(env *Env) (string, error) {
	if env.Manta != "" {
		return env.Manta, nil
	}
	if testing.Testing() {
		return "", errNoManta
	}
	return os.Executable()
}
