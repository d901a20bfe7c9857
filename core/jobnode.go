package core

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"manta/cluster"
	"manta/gcs/server"
	"manta/node/peer"
	"manta/rpc/wire"
)

// envJobNode marks a job node: this program's binary, started by the
// node of another program (`manta start`, another driver) to run this
// program's tasks on that node's machine.
const envJobNode = "MANTA_JOB_NODE"

// jobStartTimeout bounds fetching a binary and starting its job node.
const jobStartTimeout = 2 * time.Minute

// router is the Executor behind a cluster node's peer server: a task of
// this program runs on this node; a task of another program runs in a
// job node of that program's binary on this machine, fetched from the
// GCS function table by its hash and started on first use. The job
// node's reply names it as the holder of the result, so the owner pulls
// from it and releases to it directly.
type router struct {
	local  peer.Executor
	c      *clusterNode
	client *peer.Client

	mu     sync.Mutex
	jobs   map[string]*jobNode
	early  peer.EarlyCancels // for tasks of a job node not started yet
	closed bool
}

// jobNode is one binary's job node process.
type jobNode struct {
	ready chan struct{} // closed once addr or err is set
	addr  string
	err   error
	load  cluster.Load // its last report, under router.mu
	// Under router.mu: runs in flight through the router, and when the
	// last one ended; an idle job node is stopped (Config.JobIdleTimeout).
	inFlight int
	lastRun  time.Time
	cmd      *exec.Cmd
	stdin    io.Closer // closing it asks the job node to stop
	done     chan struct{}
}

func newRouter(local peer.Executor, c *clusterNode) *router {
	return &router{local: local, c: c, client: peer.NewClient(peer.ClientConfig{Token: c.token}), jobs: map[string]*jobNode{}}
}

// Execute runs req here, or in the job node of its binary.
func (r *router) Execute(ctx context.Context, req *peer.RunRequest) (peer.RunReply, error) {
	if req.Binary == "" || req.Binary == r.c.binary {
		return r.local.Execute(ctx, req)
	}
	j, err := r.job(ctx, req.Binary)
	if j != nil {
		defer func() {
			r.mu.Lock()
			j.inFlight--
			j.lastRun = time.Now()
			r.mu.Unlock()
		}()
	}
	if err != nil {
		return peer.RunReply{}, err
	}
	r.mu.Lock()
	cancelled := r.early.Take(req.Spec.ID)
	r.mu.Unlock()
	if cancelled {
		r.client.Cancel(j.addr, &peer.CancelRequest{Binary: req.Binary, Task: req.Spec.ID})
	}
	return r.client.Run(ctx, j.addr, req)
}

// CancelRun cancels a task of this program here, or passes the cancel
// on to the job node of its binary, once it is up.
func (r *router) CancelRun(req *peer.CancelRequest) {
	if req.Binary == "" || req.Binary == r.c.binary {
		r.local.CancelRun(req)
		return
	}
	r.mu.Lock()
	j := r.jobs[req.Binary]
	if j == nil {
		r.early.Add(req.Task, time.Now()) // its run, not come yet, starts the job node
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	fwd := *req
	go func() {
		<-j.ready
		if j.err == nil {
			r.client.Cancel(j.addr, &fwd)
		}
	}()
}

// ReleaseLent gives back this node's own lent objects; a job node's
// owners release to it directly.
func (r *router) ReleaseLent(member string, ids []wire.ObjectID) { r.local.ReleaseLent(member, ids) }

// Load is this node's load, for the node that started it if it is a job
// node (peer.LoadReporter).
func (r *router) Load() []byte { return r.c.load().Append(nil) }

// pollLoads asks each running job node for its load.
func (r *router) pollLoads(ctx context.Context) {
	r.mu.Lock()
	var jobs []*jobNode
	for _, j := range r.jobs {
		select {
		case <-j.ready:
			if j.err == nil {
				jobs = append(jobs, j)
			}
		default:
		}
	}
	r.mu.Unlock()
	for _, j := range jobs {
		b, err := r.client.Load(ctx, j.addr)
		if err != nil {
			continue
		}
		if l, err := cluster.DecodeLoad(b); err == nil {
			r.mu.Lock()
			j.load = l
			r.mu.Unlock()
		}
	}
	r.stopIdle()
}

// stopIdle stops the job nodes that have run nothing for
// Config.JobIdleTimeout and hold nothing for anyone: a node that runs
// many programs over its life keeps only the ones in use.
func (r *router) stopIdle() {
	idle := r.c.cfg.JobIdleTimeout
	r.mu.Lock()
	var stop []*jobNode
	for binary, j := range r.jobs {
		l := j.load
		if j.stdin != nil && j.inFlight == 0 && l.Queued == 0 && l.Running == 0 && l.Lent == 0 && time.Since(j.lastRun) > idle {
			delete(r.jobs, binary)
			stop = append(stop, j)
		}
	}
	r.mu.Unlock()
	for _, j := range stop {
		r.c.logger().Info("manta: stopping an idle job node", "pid", j.cmd.Process.Pid, "idle", idle)
		j.stdin.Close()
	}
}

// jobLoads returns the job nodes' last reported loads.
func (r *router) jobLoads() []cluster.Load {
	r.mu.Lock()
	defer r.mu.Unlock()
	loads := make([]cluster.Load, 0, len(r.jobs))
	for _, j := range r.jobs {
		loads = append(loads, j.load)
	}
	return loads
}

// job returns the running job node of binary, starting it if there is
// none, counted as in use (inFlight) until the caller is done with it;
// j is set whenever it was counted, err or not.
func (r *router) job(ctx context.Context, binary string) (*jobNode, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrShutdown
	}
	j := r.jobs[binary]
	if j == nil {
		j = &jobNode{ready: make(chan struct{}), done: make(chan struct{})}
		r.jobs[binary] = j
		go r.start(j, binary)
	}
	j.inFlight++
	r.mu.Unlock()
	select {
	case <-j.ready:
		return j, j.err
	case <-ctx.Done():
		return j, ctx.Err()
	}
}

// start fetches binary and starts its job node, which writes its peer
// address on the pipe it is given as file descriptor 3.
func (r *router) start(j *jobNode, binary string) {
	defer close(j.ready)
	fail := func(err error) {
		j.err = err
		close(j.done)
		r.forget(binary, j)
	}
	ctx, cancel := context.WithTimeout(context.Background(), jobStartTimeout)
	defer cancel()
	hash, err := cluster.ParseBinaryHash(binary)
	if err != nil {
		fail(fmt.Errorf("%w: %w: %v", peer.ErrProgramUnavailable, cluster.ErrBinaryUnavailable, err))
		return
	}
	path, err := cluster.FetchBinary(ctx, r.c.api, hash, filepath.Join(cluster.StateDir(), "bin"))
	if err != nil {
		fail(fmt.Errorf("%w: this node cannot run the program's tasks: %w", peer.ErrProgramUnavailable, err))
		return
	}
	addrR, addrW, err := os.Pipe()
	if err != nil {
		fail(err)
		return
	}
	defer addrR.Close()
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), envJobNode+"="+r.c.peers.Addr(), "MANTA_ADDRESS="+r.c.cfg.Address, "MANTA_BIND="+r.c.cfg.Bind,
		"MANTA_HEARTBEAT="+r.c.cfg.Heartbeat.String(), server.EnvToken+"="+hex.EncodeToString(r.c.token))
	if len(r.c.cfg.Resources) > 0 {
		cmd.Env = append(cmd.Env, "MANTA_RESOURCES="+string(cluster.AppendResources(nil, r.c.cfg.Resources)))
	}
	cmd.ExtraFiles = []*os.File{addrW}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	addrW.Close()
	if err != nil {
		fail(fmt.Errorf("manta: starting the job node of %s: %w", binary[:12], err))
		return
	}
	r.mu.Lock()
	j.cmd, j.stdin, j.lastRun = cmd, stdin, time.Now()
	r.mu.Unlock()
	go func() {
		cmd.Wait()
		close(j.done)
		r.forget(binary, j)
		if j.addr != "" {
			r.client.Forget(j.addr)
		}
	}()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(addrR).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			j.err = fmt.Errorf("manta: the job node of %s exited before it was ready", binary[:12])
			return
		}
		j.addr = addr
		r.c.logger().Info("manta: started a job node", "binary", binary[:12], "pid", cmd.Process.Pid, "addr", addr)
	case <-ctx.Done():
		cmd.Process.Kill()
		j.err = fmt.Errorf("manta: the job node of %s did not start within %v", binary[:12], jobStartTimeout)
	}
}

// forget drops j, which failed or exited: the next task starts another.
func (r *router) forget(binary string, j *jobNode) {
	r.mu.Lock()
	if r.jobs[binary] == j {
		delete(r.jobs, binary)
	}
	r.mu.Unlock()
}

// close stops every job node: it closes their stdin, then kills those
// still running after grace.
func (r *router) close(grace time.Duration) {
	r.mu.Lock()
	r.closed = true
	jobs := r.jobs
	r.jobs = map[string]*jobNode{}
	r.mu.Unlock()
	for _, j := range jobs {
		<-j.ready
		if j.stdin != nil {
			j.stdin.Close()
		}
	}
	deadline := time.After(grace)
	for _, j := range jobs {
		select {
		case <-j.done:
		case <-deadline:
			if j.cmd != nil {
				j.cmd.Process.Kill()
			}
			<-j.done
		}
	}
	r.client.Close()
}

// runJobNode is a job node's life: a node of the cluster at
// $MANTA_ADDRESS that is not a member of its own (the node that started
// it is, its peer address in $MANTA_JOB_NODE), serving the tasks that
// node hands it until its stdin closes.
func runJobNode() {
	member := os.Getenv(envJobNode)
	os.Unsetenv(envJobNode) // its workers are workers, not job nodes
	addrOut := os.NewFile(3, "job node address")
	c, err := initNode(Config{member: member})
	if err != nil {
		fmt.Fprintf(os.Stderr, "manta: job node %d: %v\n", os.Getpid(), err)
		os.Exit(1)
	}
	if c.net == nil {
		fmt.Fprintf(os.Stderr, "manta: job node %d: no MANTA_ADDRESS\n", os.Getpid())
		os.Exit(1)
	}
	fmt.Fprintln(addrOut, c.net.peers.Addr())
	addrOut.Close()
	io.Copy(io.Discard, os.Stdin)
	err = c.Shutdown()
	if err != nil && !errors.Is(err, ErrShutdown) {
		fmt.Fprintf(os.Stderr, "manta: job node %d: %v\n", os.Getpid(), err)
	}
	os.Exit(0)
}
