package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"manta/cluster"
	"manta/core"
	"manta/dashboard"
	"manta/gcs"
	"manta/gcs/client"
	"manta/gcs/server"
	"manta/gpu"
	"manta/node/host"
	"manta/state"
)

// pidDir, under cluster.StateDir, holds a file per head or node this
// machine started, named ROLE-PID: what `manta stop` stops.
const pidDir = "pids"

// flagVars are the variables of core.Config's environment that `manta
// start`'s flags decide: --address, --bind and --node-bind, --metrics,
// --resources, --heartbeat.
var flagVars = []string{"MANTA_ADDRESS", "MANTA_BIND", "MANTA_METRICS_ADDR", "MANTA_RESOURCES", "MANTA_HEARTBEAT"}

// startCommand is `manta start`: with --head, the GCS (a monitor in this
// process, S×R replica processes), the node watcher and this machine's
// node; with --address, a node that joins the head there. Either runs
// until interrupted or `manta stop`.
func startCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	fs.SetOutput(out)
	isHead := fs.Bool("head", false, "start a head: the GCS, the node watcher and a node")
	address := fs.String("address", "", "join the head whose GCS monitor is at HOST:PORT")
	shards := fs.Int("gcs-shards", 1, "GCS shards S (head)")
	replicas := fs.Int("gcs-replicas", 1, "replicas per shard R, a chain of R processes (head)")
	port := fs.Int("port", 0, "the monitor's port (head; default a free one)")
	bind := fs.String("bind", "127.0.0.1", "the host the head's GCS listens on; loopback unless told otherwise (head)")
	flushDir := fs.String("gcs-flush-dir", "", "flush task and lineage entries beyond the memory cap to segments here (head)")
	memCap := fs.Int64("gcs-memory-cap", 0, "bytes of task and lineage entries per shard kept in memory when flushing (head)")
	nodeTimeout := fs.Duration("node-timeout", 5*time.Second, "a node silent this long is marked dead (head)")
	heartbeat := fs.Duration("heartbeat", 500*time.Millisecond, "how often this node writes its heartbeat")
	resources := fs.String("resources", "", `override detected resources: "CPU=4,GPU=1,ssd=2"`)
	tokenFile := fs.String("token-file", "", "the cluster token's file (head: written, mode 0600; node: read) (default in $MANTA_DIR)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to try to reach the head (node)")
	metricsAddr := fs.String("metrics", "127.0.0.1:0", `serve Prometheus metrics at http://ADDR/metrics ("" for none; not behind the token: loopback unless told otherwise)`)
	nodeBindFlag := fs.String("node-bind", "127.0.0.1", "the host this node's peer and transfer servers listen on (node; a head's use --bind)")
	dashboardAddr := fs.String("dashboard", "127.0.0.1:0", `serve the cluster's dashboard at ADDR, behind the cluster token ("" for none; head)`)
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: manta start --head | --address HOST:PORT [flags]\n\n"+
			"The flags win over the environment a node reads, as ray start's do: start unsets\n"+
			"%s,\nso neither its node nor its workers see them.\n\n", strings.Join(flagVars, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *isHead == (*address != "") {
		return errors.New("start: give either --head or --address HOST:PORT")
	}
	res := host.DetectResources()
	if *resources != "" {
		given, err := cluster.DecodeResources([]byte(*resources))
		if err != nil {
			return fmt.Errorf("start: --resources: %w", err)
		}
		for name, q := range given {
			res[name] = q
		}
	}
	dir, err := cluster.EnsureStateDir()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if *tokenFile == "" {
		*tokenFile = filepath.Join(dir, cluster.TokenFile)
	}
	if err := os.MkdirAll(filepath.Join(dir, pidDir), 0o700); err != nil {
		return err
	}
	role := "node"
	if *isHead {
		role = "head"
	}
	// Signals first: stop may signal this process once its pid file is
	// there, and must find it ready to stop cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pidFile, err := createPidFile(filepath.Join(dir, pidDir), role)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer removePidFile(pidFile, filepath.Join(dir, pidDir), role)
	if *isHead {
		head, api, err := startHead(ctx, out, headOptions{shards: *shards, replicas: *replicas, port: *port, bind: *bind,
			flushDir: *flushDir, memCap: *memCap, nodeTimeout: *nodeTimeout, tokenFile: *tokenFile})
		if err != nil {
			return err
		}
		defer head.Close()
		defer api.Close() // the node watcher's and the dashboard's
		// Gone with the head, so commands fail at once: no cluster runs.
		defer os.Remove(filepath.Join(filepath.Dir(*tokenFile), cluster.HeadAddressFile))
		*address = head.Addr()
		if *dashboardAddr != "" {
			srv, err := startDashboard(api, *dashboardAddr, *tokenFile, out)
			if err != nil {
				return err
			}
			defer srv.Close()
			defer os.Remove(filepath.Join(filepath.Dir(*tokenFile), dashboardFile))
		}
	} else {
		token, err := cluster.ReadToken(*tokenFile)
		if err != nil {
			return err
		}
		// Fail within --timeout, with the reason, before starting a node.
		api, err := cluster.Dial(ctx, *address, token, *timeout)
		if err != nil {
			return fmt.Errorf("start: %w", err)
		}
		api.Close()
	}
	token, err := cluster.ReadToken(*tokenFile)
	if err != nil {
		return err
	}
	// The node (and its workers) read the token from the environment.
	os.Setenv(server.EnvToken, hex.EncodeToString(token))
	nodeBind := *bind
	if !*isHead {
		nodeBind = *nodeBindFlag
	}
	gpus, err := gpu.Discover()
	if err != nil {
		fmt.Fprintf(out, "manta %s: no GPUs: %v\n", role, err)
		gpus = gpu.Fake()
	}
	// core.Init applies the environment over its Config: the flags must
	// win, a MANTA_ADDRESS left in a shell must not send a head's node
	// to another cluster.
	for _, v := range flagVars {
		os.Unsetenv(v)
	}
	node, err := core.Init(core.Config{Address: *address, Resources: res, Heartbeat: *heartbeat, Bind: nodeBind, MetricsAddr: *metricsAddr, GPUs: gpus})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			node.Shutdown()
		}
	}()
	fmt.Fprintf(out, "manta %s: node %s joined with %s (pid %d)\n", role, node.NodeID(), cluster.AppendResources(nil, res), os.Getpid())
	if addr := node.MetricsAddr(); addr != "" {
		fmt.Fprintf(out, "manta %s: metrics at http://%s/metrics\n", role, addr)
	}
	<-ctx.Done()
	fmt.Fprintf(out, "manta %s: stopping\n", role)
	stopped = true
	return node.Shutdown()
}

type headOptions struct {
	shards, replicas, port int
	bind                   string
	flushDir               string
	memCap                 int64
	nodeTimeout            time.Duration
	tokenFile              string
}

// startHead starts the replicated GCS, records the cluster in it and
// starts the node watcher; it writes the token and the monitor's address
// where nodes and `manta status` on this machine find them.
func startHead(ctx context.Context, out io.Writer, o headOptions) (*server.Head, *client.Client, error) {
	token, err := hex.DecodeString(os.Getenv(server.EnvToken))
	if err != nil || len(token) == 0 {
		token = server.NewToken()
	}
	if err := os.MkdirAll(filepath.Dir(o.tokenFile), 0o700); err != nil {
		return nil, nil, err
	}
	if err := writeToken(o.tokenFile, token); err != nil {
		return nil, nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	head, err := server.StartHead(startCtx, server.HeadConfig{
		Shards: o.shards, Replicas: o.replicas, Token: token, Addr: net.JoinHostPort(o.bind, strconv.Itoa(o.port)), Bind: o.bind, Restart: true,
		FlushDir: o.flushDir, MemoryCap: o.memCap,
		Command: func() *exec.Cmd { return exec.Command(exe, "gcs") },
	})
	if err != nil {
		return nil, nil, err
	}
	api, err := client.Dial(startCtx, client.Config{Monitor: head.Addr(), Token: token})
	if err == nil {
		err = cluster.InitHead(startCtx, api)
	}
	var watcher *server.NodeWatcher
	if err == nil {
		watcher, err = server.WatchNodes(ctx, server.NodeWatcherConfig{GCS: api, Timeout: o.nodeTimeout})
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(filepath.Dir(o.tokenFile), cluster.HeadAddressFile), []byte(head.Addr()+"\n"), 0o600)
	}
	if err != nil {
		if api != nil {
			api.Close()
		}
		head.Close()
		return nil, nil, err
	}
	go watcher.Run(ctx)
	fmt.Fprintf(out, "manta head: GCS monitor at %s, %d shards × %d replicas (pids", head.Addr(), o.shards, o.replicas)
	for _, p := range head.Processes() {
		fmt.Fprintf(out, " %d", p.PID)
	}
	fmt.Fprintf(out, ")\ncluster token in %s; nodes join with: manta start --address %s\n", o.tokenFile, head.Addr())
	return head, api, nil
}

// writeToken writes token to file, mode 0600, through a new file renamed
// into place: os.WriteFile would keep the mode (and owner) of a file
// already there.
func writeToken(file string, token []byte) error {
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+"-")
	if err != nil {
		return err
	}
	_, err = f.WriteString(hex.EncodeToString(token) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), file)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// statusCommand is `manta status`: every node that joined the cluster,
// alive or dead, with its resources.
func statusCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(out)
	head := reachFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), head.timeout)
	defer cancel()
	api, _, err := head.dial(ctx, "status")
	if err != nil {
		return err
	}
	defer api.Close()
	nodes, err := cluster.List(ctx, api)
	if err != nil {
		return err
	}
	alive := 0
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tADDRESS\tRESOURCES\tFREE\tQUEUED\tRUNNING\tLENT\tSTORE USED\tGPUS")
	for _, n := range nodes {
		if n.State == gcs.NodeAlive {
			alive++
		}
		addr := n.Addr
		if addr == "" {
			addr = "-"
		}
		free, store := "-", "-"
		if n.Load.Free != nil {
			free = string(cluster.AppendResources(nil, n.Load.Free))
		}
		if n.Load.StoreCapacity > 0 {
			store = fmt.Sprintf("%.1f of %.1f MiB", float64(n.Load.StoreUsed)/(1<<20), float64(n.Load.StoreCapacity)/(1<<20))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", n.ID, n.State, addr, cluster.AppendResources(nil, n.Resources),
			free, n.Load.Queued, n.Load.Running, n.Load.Lent, store, formatGPUs(n.Load.GPUs))
	}
	tw.Flush()
	fmt.Fprintf(out, "%d nodes, %d alive\n", len(nodes), alive)
	pending := false
	for _, n := range nodes {
		if n.State != gcs.NodeAlive {
			continue
		}
		for _, d := range n.Load.Demands {
			if !pending {
				fmt.Fprintln(out, "pending demands:")
				pending = true
			}
			fmt.Fprintf(out, "  %s: %d × {%s}: %s\n", n.ID, d.Count, d.Shape, d.Reason)
		}
	}
	return nil
}

// stopCommand is `manta stop`: it asks every head and node this machine
// started (their pid files in $MANTA_DIR) to stop, and waits for them.
func stopCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("stop", flag.ContinueOnError)
	fs.SetOutput(out)
	wait := fs.Duration("timeout", 10*time.Second, "how long to wait before killing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := filepath.Join(cluster.StateDir(), pidDir)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// Only a PID whose pid file is locked is still that head or node's:
	// the lock, unlike the PID, is not reused once its process is gone.
	var stopping []string
	for _, e := range entries {
		_, pid, ok := parsePidFileName(e.Name())
		if !ok {
			continue
		}
		held, err := pidFileHeld(filepath.Join(dir, e.Name()))
		if err != nil {
			fmt.Fprintf(out, "skipping %s: %v\n", e.Name(), err)
			continue
		}
		if !held || syscall.Kill(pid, syscall.SIGTERM) != nil {
			continue
		}
		stopping = append(stopping, e.Name())
		fmt.Fprintf(out, "stopping %s\n", e.Name())
	}
	stillHeld := func(name string) bool {
		held, err := pidFileHeld(filepath.Join(dir, name))
		return held && err == nil
	}
	deadline := time.Now().Add(*wait)
	for len(stopping) > 0 && time.Now().Before(deadline) {
		stopping = slices.DeleteFunc(stopping, func(name string) bool { return !stillHeld(name) })
		time.Sleep(20 * time.Millisecond)
	}
	for _, name := range stopping {
		_, pid, _ := parsePidFileName(name)
		if !stillHeld(name) {
			continue
		}
		fmt.Fprintf(out, "pid %d did not stop in %v; killing it\n", pid, *wait)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	fmt.Fprintln(out, "stopped")
	return nil
}

// reachOptions say how a command reaches a running cluster's head.
type reachOptions struct {
	address, tokenFile string
	timeout            time.Duration
}

// reachFlags defines --address, --token-file and --timeout on fs.
func reachFlags(fs *flag.FlagSet) *reachOptions {
	o := &reachOptions{}
	fs.StringVar(&o.address, "address", "", "the head's GCS monitor (default: the head started on this machine)")
	fs.StringVar(&o.tokenFile, "token-file", filepath.Join(cluster.StateDir(), cluster.TokenFile), "the cluster token's file")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long to try to reach the head")
	return o
}

// dial reaches the head's GCS with the cluster token, which it returns
// too; cmd names the command in errors.
func (o *reachOptions) dial(ctx context.Context, cmd string) (*client.Client, []byte, error) {
	address := o.address
	if address == "" {
		b, err := os.ReadFile(filepath.Join(cluster.StateDir(), cluster.HeadAddressFile))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: no cluster running: no head started on this machine (manta start --head); or give --address HOST:PORT", cmd)
		}
		address = strings.TrimSpace(string(b))
		// A head killed with SIGKILL leaves its address behind; its pid
		// file's lock says at once that it is gone, where dialing would
		// try for the whole timeout. (No probe connection: the head
		// would log each as a refused one.)
		if pid, err := runningHead(filepath.Join(cluster.StateDir(), pidDir)); err == nil && pid == 0 {
			return nil, nil, fmt.Errorf("%s: no cluster running (is a head started? the head that served %s is gone: manta start --head)", cmd, address)
		}
	}
	token, err := cluster.ReadToken(o.tokenFile)
	if err != nil {
		return nil, nil, err
	}
	api, err := cluster.Dial(ctx, address, token, o.timeout)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return api, token, nil
}

// DashboardFile, in the state directory, holds the address of the
// dashboard the head on this machine serves.
const dashboardFile = "dashboard-address"

// startDashboard serves the cluster's dashboard (package dashboard) from
// the head and records where, for `manta dashboard`.
func startDashboard(api *client.Client, addr, tokenFile string, out io.Writer) (*dashboard.Server, error) {
	token, err := cluster.ReadToken(tokenFile)
	if err != nil {
		return nil, err
	}
	srv, err := dashboard.Serve(dashboard.Config{Addr: addr, GCS: api, Token: token})
	if err != nil {
		return nil, fmt.Errorf("start: dashboard: %w", err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(tokenFile), dashboardFile), []byte(srv.Addr()+"\n"), 0o600); err != nil {
		srv.Close()
		return nil, err
	}
	fmt.Fprintf(out, "manta head: dashboard at http://%s/ (open the URL `manta dashboard` prints: it carries the token)\n", srv.Addr())
	return srv, nil
}

// dashboardCommand is `manta dashboard`: the URL of the dashboard the
// head on this machine serves, with the cluster token that logs in.
func dashboardCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	fs.SetOutput(out)
	tokenFile := fs.String("token-file", filepath.Join(cluster.StateDir(), cluster.TokenFile), "the cluster token's file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(*tokenFile), dashboardFile))
	if err != nil {
		return errors.New("dashboard: no head with a dashboard started on this machine (manta start --head)")
	}
	token, err := cluster.ReadToken(*tokenFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "http://%s/?token=%s\n", strings.TrimSpace(string(b)), state.TokenText(token))
	return nil
}

// formatGPUs shows each GPU's memory in use and utilisation, or that it
// was lost: "0: 1.0/16.0 GiB 40%; 1: lost"; "-" for none.
func formatGPUs(gpus []cluster.GPULoad) string {
	if len(gpus) == 0 {
		return "-"
	}
	var parts []string
	for _, g := range gpus {
		if g.Lost {
			parts = append(parts, fmt.Sprintf("%d: lost", g.Index))
			continue
		}
		parts = append(parts, fmt.Sprintf("%d: %.1f/%.1f GiB %d%%", g.Index, float64(g.MemoryUsed)/(1<<30), float64(g.MemoryTotal)/(1<<30), g.Utilization))
	}
	return strings.Join(parts, "; ")
}
