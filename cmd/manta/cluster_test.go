package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"manta/cluster"
	"manta/core"
	"manta/gcs"
	"manta/gcs/client"
	"manta/internal/netns"
)

var testNoop = core.Register0("test.noop", func() (int, error) { return 1, nil })

// process is a `manta` command run as a process of its own (the test
// binary, see TestMain), in the cluster's state directory.
type process struct {
	cmd      *exec.Cmd
	joined   chan string   // the node ID it printed on joining
	metrics  chan string   // the address it serves /metrics at
	replicas chan []int    // a head's GCS replica processes, as it printed them
	exited   chan struct{} // closed once it has exited
	err      error         // how it exited, once exited is closed
}

func startProcess(t *testing.T, dir string, args ...string) *process {
	t.Helper()
	return startCmd(t, dir, exec.Command(os.Args[0], args...))
}

// startCmd starts cmd, a run of the test binary as manta (perhaps
// inside a network namespace).
func startCmd(t *testing.T, dir string, cmd *exec.Cmd) *process {
	t.Helper()
	args := cmd.Args[len(cmd.Args)-2:]
	cmd.Env = append(os.Environ(), envRunAsCLI+"=1", "MANTA_DIR="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, joined: make(chan string, 1), metrics: make(chan string, 1), replicas: make(chan []int, 1), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			t.Logf("%s: %s", args, line)
			if _, rest, ok := strings.Cut(line, ": node "); ok {
				id, _, _ := strings.Cut(rest, " ")
				p.joined <- id
			}
			if _, rest, ok := strings.Cut(line, "metrics at http://"); ok {
				p.metrics <- strings.TrimSuffix(rest, "/metrics")
			}
			if _, rest, ok := strings.Cut(line, " replicas (pids "); ok {
				var pids []int
				for _, f := range strings.Fields(strings.TrimSuffix(rest, ")")) {
					if pid, err := strconv.Atoi(f); err == nil {
						pids = append(pids, pid)
					}
				}
				p.replicas <- pids
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// headAddress is the address of the head started in dir.
func headAddress(t *testing.T, dir string) string {
	t.Helper()
	addr, err := os.ReadFile(filepath.Join(dir, cluster.HeadAddressFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(addr))
}

func (p *process) waitJoined(t *testing.T) string {
	t.Helper()
	select {
	case id := <-p.joined:
		return id
	case <-p.exited:
		t.Fatalf("%v exited before joining: %v", p.cmd.Args, p.err)
	case <-time.After(30 * time.Second):
		t.Fatalf("%v did not join in 30 s", p.cmd.Args)
	}
	return ""
}

func runIn(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("MANTA_DIR", dir)
	var out bytes.Buffer
	err := run(args, &out)
	return out.String(), err
}

// A head and two nodes, each a process of its own on loopback: status
// lists them; a node killed with SIGKILL is marked dead by the head within
// its timeout; a node with the wrong token is refused; stop ends the rest.
func TestClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	head := startProcess(t, dir, "start", "--head", "--node-timeout", "500ms", "--heartbeat", "100ms")
	headID := head.waitJoined(t)
	address := headAddress(t, dir)
	a := startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=3,GPU=1")
	b := startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms")
	aID, bID := a.waitJoined(t), b.waitJoined(t)

	// Each node serves its metrics on loopback, labelled with its ID.
	resp, err := http.Get("http://" + <-a.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(body), `manta_store_capacity_bytes{node="`+aID+`"}`) {
		t.Fatalf("node a's /metrics (%v):\n%.2000s", err, body)
	}

	out, err := runIn(t, dir, "status")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{headID, aID, bID} {
		if !strings.Contains(out, id+"  alive") {
			t.Errorf("status does not list %s alive:\n%s", id, out)
		}
	}
	if !strings.Contains(out, "CPU=3,GPU=1") || !strings.Contains(out, "3 nodes, 3 alive") {
		t.Errorf("status:\n%s", out)
	}

	// A driver joins with MANTA_ADDRESS: its node reports its load.
	t.Setenv("MANTA_ADDRESS", address)
	driver, err := core.Init(core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := testNoop.Remote().Get(context.Background()); err != nil || v != 1 {
		t.Fatalf("a task on the driver's node: %v, %v", v, err)
	}
	out, err = runIn(t, dir, "status")
	if err != nil || !strings.Contains(out, "4 nodes, 4 alive") || !strings.Contains(out, "0.0 of ") {
		t.Fatalf("status with a driver (%v):\n%s", err, out)
	}
	if err := driver.Shutdown(); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("MANTA_ADDRESS")
	out, err = runIn(t, dir, "status")
	if err != nil || !strings.Contains(out, "4 nodes, 3 alive") {
		t.Fatalf("status after the driver left (%v):\n%s", err, out)
	}

	// Kill node b as a crash would; the head's watcher marks it dead.
	killed := time.Now()
	killAndAwaitDeath(t, dir, address, b, bID)
	t.Logf("node killed with SIGKILL marked dead after %v (timeout 500ms)", time.Since(killed).Round(time.Millisecond))
	out, err = runIn(t, dir, "status")
	if err != nil || !strings.Contains(out, bID+"  dead") || !strings.Contains(out, "4 nodes, 2 alive") {
		t.Fatalf("status after the kill (%v):\n%s", err, out)
	}

	// The wrong token is refused, with the reason.
	t.Setenv("MANTA_GCS_TOKEN", fmt.Sprintf("%x", bytes.Repeat([]byte{7}, 32)))
	if _, err := runIn(t, dir, "start", "--address", address, "--timeout", "2s"); err == nil {
		t.Fatal("a node with the wrong token joined")
	} else {
		t.Logf("wrong token: %v", err)
	}
	// No head there: a clear error within the timeout.
	began := time.Now()
	_, err = runIn(t, dir, "start", "--address", "127.0.0.1:1", "--timeout", "1s")
	if err == nil || !strings.Contains(err.Error(), "cannot reach the head") || time.Since(began) > 10*time.Second {
		t.Fatalf("a head that is not there: %v after %v", err, time.Since(began))
	}
	os.Unsetenv("MANTA_GCS_TOKEN")

	if out, err = runIn(t, dir, "stop"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*process{head, a} {
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("%v still runs after stop:\n%s", p.cmd.Args, out)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, pidDir)); len(entries) != 0 {
		t.Errorf("pid files left: %v", entries)
	}
}

// The same cluster across network namespaces, as on separate hosts: the
// head binds the bridge's address, each node runs in a namespace of its
// own and joins over the bridge; a node killed there is marked dead.
func TestClusterInNetworkNamespaces(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	nw := netns.New(t, 2)
	dir := t.TempDir()
	head := startProcess(t, dir, "start", "--head", "--bind", nw.HostIP, "--node-timeout", "500ms", "--heartbeat", "100ms")
	head.waitJoined(t)
	address := headAddress(t, dir)
	if !strings.HasPrefix(address, nw.HostIP+":") {
		t.Fatalf("the head listens on %s, not on the bridge's %s", address, nw.HostIP)
	}
	var nodes []*process
	var ids []string
	for i := range nw.IPs {
		p := startCmd(t, dir, nw.Command(i, os.Args[0], "start", "--address", address, "--heartbeat", "100ms"))
		nodes = append(nodes, p)
		ids = append(ids, p.waitJoined(t))
	}
	out, err := runIn(t, dir, "status")
	if err != nil || !strings.Contains(out, "3 nodes, 3 alive") {
		t.Fatalf("status (%v):\n%s", err, out)
	}
	killAndAwaitDeath(t, dir, address, nodes[1], ids[1])
	if _, err := runIn(t, dir, "stop"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*process{head, nodes[0]} {
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("%v still runs after stop", p.cmd.Args)
		}
	}
}

// killAndAwaitDeath kills node p (ID id) with SIGKILL, as a crash would,
// and waits until the head marks it dead in gcs.Nodes.
func killAndAwaitDeath(t *testing.T, dir, address string, p *process, id string) {
	t.Helper()
	token, err := cluster.ReadToken(filepath.Join(dir, cluster.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api, err := client.Dial(ctx, client.Config{Monitor: address, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	changes, err := api.Subscribe(ctx, gcs.Nodes, []byte(id))
	if err != nil {
		t.Fatal(err)
	}
	defer changes.Close()
	p.cmd.Process.Signal(syscall.SIGKILL)
	for {
		n, err := changes.Next(ctx)
		if err != nil {
			t.Fatalf("node %s was not marked dead: %v", id, err)
		}
		if info, err := gcs.DecodeNodeInfo(n.Value); err == nil && info.State == gcs.NodeDead {
			return
		}
	}
}

func TestFormatGPUs(t *testing.T) {
	got := formatGPUs([]cluster.GPULoad{{Index: 0, MemoryUsed: 1 << 30, MemoryTotal: 16 << 30, Utilization: 40}, {Index: 1, Lost: true}})
	if want := "0: 1.0/16.0 GiB 40%; 1: lost"; got != want {
		t.Fatalf("formatGPUs = %q, want %q", got, want)
	}
	if got := formatGPUs(nil); got != "-" {
		t.Fatalf("no GPUs: %q", got)
	}
}

// Stop signals only a process that holds its pid file's lock: a file left
// by a head or node killed with SIGKILL, its PID since reused (here by a
// sleep), is removed and the process left alone; names that are not
// ROLE-PID with a PID above 0 are ignored.
func TestStopSignalsOnlyLockedPidFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, pidDir), 0o700); err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { sleep.Wait(); close(exited) }()
	t.Cleanup(func() { sleep.Process.Kill(); <-exited })
	stale := pidFileName("node", sleep.Process.Pid)
	for _, name := range []string{stale, "node-0", "x--1", "head--1", "node-+5", "node-05"} {
		if err := os.WriteFile(filepath.Join(dir, pidDir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runIn(t, dir, "stop", "--timeout", "1s")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		t.Fatalf("stop signalled pid %d, whose pid file nobody locks:\n%s", sleep.Process.Pid, out)
	default:
	}
	if _, err := os.Stat(filepath.Join(dir, pidDir, stale)); !os.IsNotExist(err) {
		t.Errorf("the stale pid file is left (%v)", err)
	}
	if strings.Contains(out, "stopping") || strings.Contains(out, "killing") {
		t.Errorf("stop:\n%s", out)
	}
}

func TestParsePidFileName(t *testing.T) {
	for name, want := range map[string]int{"head-12": 12, "node-1": 1, "node-0": 0, "x--1": 0, "node--1": 0, "node-+5": 0, "node-05": 0, "gcs-3": 0, "node-": 0, ".pid-123": 0} {
		_, pid, ok := parsePidFileName(name)
		if ok != (want > 0) || pid != want {
			t.Errorf("parsePidFileName(%q) = %d, %v", name, pid, ok)
		}
	}
}

// A head rewrites a token file already there with mode 0600: writing
// over it kept its mode, 0644 here, and so let others read the new token.
func TestStartWritesTokenPrivately(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, cluster.TokenFile)
	if err := os.WriteFile(file, []byte("00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startProcess(t, dir, "start", "--head", "--dashboard", "").waitJoined(t)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the token file has mode %v, want 0600", fi.Mode().Perm())
	}
	if b, err := os.ReadFile(file); err != nil || strings.TrimSpace(string(b)) == "00" || len(b) < 32 {
		t.Errorf("the token file holds %q (%v), not the head's token", b, err)
	}
}

// Start refuses a state directory others may write, saying how to fix it.
func TestStartRefusesLooseStateDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := runIn(t, dir, "start", "--address", "127.0.0.1:1", "--timeout", "1s")
	if err == nil || !strings.Contains(err.Error(), "chmod 700") || !strings.Contains(err.Error(), "MANTA_DIR") {
		t.Fatalf("start in a state directory of mode 0777: %v", err)
	}
}

// Once the head is stopped, status fails at once saying no cluster runs,
// rather than trying to reach it for its whole timeout; with the address
// a head killed with SIGKILL leaves (its pid file unlocked) too.
func TestStatusWithoutCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	head := startProcess(t, dir, "start", "--head", "--dashboard", "")
	head.waitJoined(t)
	if _, err := runIn(t, dir, "stop"); err != nil {
		t.Fatal(err)
	}
	<-head.exited
	began := time.Now()
	_, err := runIn(t, dir, "status")
	if err == nil || !strings.Contains(err.Error(), "no cluster running") || time.Since(began) > 5*time.Second {
		t.Fatalf("status after stop: %v after %v", err, time.Since(began))
	}

	// A head killed with SIGKILL: its address names a port nobody
	// serves, its pid file is left unlocked.
	if err := os.WriteFile(filepath.Join(dir, pidDir, "head-1"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := os.WriteFile(filepath.Join(dir, cluster.HeadAddressFile), []byte(l.Addr().String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	_, err = runIn(t, dir, "list", "tasks")
	if err == nil || !strings.Contains(err.Error(), "no cluster running") || time.Since(began) > 5*time.Second {
		t.Fatalf("list with a dead head's address: %v after %v", err, time.Since(began))
	}
}

// A second head in the same state directory is refused while the first
// runs: it would overwrite the first's token and address.
func TestSecondHeadRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	startProcess(t, dir, "start", "--head", "--dashboard", "").waitJoined(t)
	token, err := os.ReadFile(filepath.Join(dir, cluster.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	address := headAddress(t, dir)
	second := startProcess(t, dir, "start", "--head", "--dashboard", "")
	select {
	case <-second.joined:
		t.Fatal("a second head started in the same state directory")
	case <-second.exited:
		if second.err == nil {
			t.Fatal("the second head exited without an error")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the second head neither started nor exited in 30 s")
	}
	if b, err := os.ReadFile(filepath.Join(dir, cluster.TokenFile)); err != nil || !bytes.Equal(b, token) || headAddress(t, dir) != address {
		t.Fatalf("the second head changed the token or address (%v)", err)
	}
	if _, err := runIn(t, dir, "status"); err != nil {
		t.Fatalf("status of the first head: %v", err)
	}
}

// Start's flags win over the environment core.Init reads: a head's node
// joins its own GCS, not MANTA_ADDRESS's, and listens where --bind says.
func TestStartFlagsWinOverEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Setenv("MANTA_ADDRESS", "127.0.0.1:1")
	t.Setenv("MANTA_BIND", "192.0.2.1")
	dir := t.TempDir()
	id := startProcess(t, dir, "start", "--head", "--dashboard", "").waitJoined(t)
	out, err := runIn(t, dir, "status")
	if err != nil || !strings.Contains(out, id+"  alive  127.0.0.1:") {
		t.Fatalf("status (%v):\n%s", err, out)
	}
}
