package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
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
)

// Functions for the tasks that cross nodes. A worker's parent process is
// the node manager that started it, which tells where a task ran.
var (
	nodeOfWorker = core.Register1("test.nodeOf", func(int) (int, error) { return os.Getppid(), nil })
	onA          = core.Register1("test.onA", func(int) (int, error) { return os.Getppid(), nil },
		core.WithResources(map[string]float64{"CPU": 1, "a": 1}))
	blobOnA = core.Register1("test.blobOnA", func(n int) ([]byte, error) { return bytes.Repeat([]byte{7}, n), nil },
		core.WithResources(map[string]float64{"CPU": 1, "a": 1}))
	sumOnB = core.Register1("test.sumOnB", func(b []byte) (int, error) {
		s := 0
		for _, x := range b {
			s += int(x)
		}
		return s, nil
	}, core.WithResources(map[string]float64{"CPU": 1, "b": 1}))
	slowOnX = core.Register1("test.slowOnX", func(ms int) (int, error) {
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return os.Getppid(), nil
	}, core.WithResources(map[string]float64{"CPU": 1, "x": 1}))
)

// A head and two nodes, separate processes on loopback, and a driver that
// joins them: tasks go where their resources are, a burst spreads over
// the nodes, stored values travel between node stores as results and
// arguments, and the tasks of a node killed mid-run run again on another.
func TestTasksAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	head := startProcess(t, dir, "start", "--head", "--node-timeout", "1s", "--heartbeat", "100ms", "--resources", "CPU=1")
	head.waitJoined(t)
	address := headAddress(t, dir)
	a := startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=2,a=1,x=1")
	b := startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=2,b=1,x=1")
	a.waitJoined(t)
	b.waitJoined(t)
	pidA, pidB := a.cmd.Process.Pid, b.cmd.Process.Pid

	t.Setenv("MANTA_DIR", dir)
	driver, err := core.Init(core.Config{Address: address, Heartbeat: 100 * time.Millisecond, SpillQueue: 2,
		Resources: map[string]float64{"CPU": 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer driver.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A task that needs what only node a has runs there.
	if pid, err := onA.Remote(0).Get(ctx); err != nil || pid != pidA {
		t.Fatalf("a task needing resource a ran in a worker of pid %d, %v; node a is %d", pid, err, pidA)
	}

	// A burst spreads beyond the driver's node.
	refs := make([]core.Ref[int], 60)
	for i := range refs {
		refs[i] = nodeOfWorker.Remote(i)
	}
	pids, err := core.GetAll(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	where := map[int]int{}
	for _, p := range pids {
		where[p]++
	}
	if len(where) < 2 {
		t.Errorf("60 tasks all ran under one node manager: %v", where)
	}
	t.Logf("60 tasks by node manager pid: %v (driver %d, a %d, b %d, head %d)", where, os.Getpid(), pidA, pidB, head.cmd.Process.Pid)

	// A stored result made on a moves to b as an argument, and to the
	// driver on Get.
	const size = 3 << 20
	blob := blobOnA.Remote(size)
	if s, err := sumOnB.Remote(blob).Get(ctx); err != nil || s != 7*size {
		t.Fatalf("sum on b of a blob made on a: %d, %v; want %d", s, err, 7*size)
	}
	if v, err := blob.Get(ctx); err != nil || len(v) != size || v[0] != 7 || v[size-1] != 7 {
		t.Fatalf("Get of a blob made on a: %d bytes, %v", len(v), err)
	}
	// A value the driver put travels to b.
	put, err := core.Put(bytes.Repeat([]byte{2}, size))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := sumOnB.Remote(put).Get(ctx); err != nil || s != 2*size {
		t.Fatalf("sum on b of the driver's blob: %d, %v", s, err)
	}

	// Kill node a while tasks that either a or b can run are running on
	// both: every task still finishes, on b. A value that lived only on a,
	// made by a task only a could run, cannot be made again: a typed
	// error, at once (TestReconstructionAcrossNodes makes values again).
	onlyOnA := blobOnA.Remote(size)
	if _, _, err := core.Wait(ctx, []core.Ref[[]byte]{onlyOnA}, 1, 0); err != nil {
		t.Fatal(err)
	}
	slow := make([]core.Ref[int], 4)
	for i := range slow {
		slow[i] = slowOnX.Remote(1500)
	}
	time.Sleep(500 * time.Millisecond)
	a.cmd.Process.Kill()
	done, err := core.GetAll(ctx, slow)
	if err != nil {
		t.Fatalf("tasks of a killed node: %v", err)
	}
	for _, p := range done {
		if p != pidB {
			t.Errorf("a task finished on pid %d after node a (%d) was killed; want b (%d): %v", p, pidA, pidB, done)
		}
	}
	if _, err := onlyOnA.Get(ctx); !errors.Is(err, core.ErrInfeasible) {
		t.Fatalf("Get of a value that lived only on a killed node, whose task only it could run: %v; want ErrInfeasible", err)
	} else {
		t.Logf("a value that lived only on the killed node: %v", err)
	}
}

// A cluster of real `manta` processes runs the tasks of a program it
// never had: each node fetches the driver's binary from the GCS function
// table by its hash and runs the tasks in a job node of that binary.
func TestTasksOfAnotherBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds manta and starts processes")
	}
	dir := t.TempDir()
	manta := filepath.Join(dir, "manta")
	build := exec.Command("go", "build", "-o", manta, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	head := startCmd(t, dir, exec.Command(manta, "start", "--head", "--node-timeout", "1s", "--heartbeat", "100ms", "--resources", "CPU=1"))
	head.waitJoined(t)
	address := headAddress(t, dir)
	a := startCmd(t, dir, exec.Command(manta, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=2,a=1,x=1"))
	aID := a.waitJoined(t)

	ctx := joinDriver(t, dir, core.Config{Address: address, SpillQueue: 1, Resources: map[string]float64{"CPU": 1}})
	pid, err := onA.Remote(0).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pid == a.cmd.Process.Pid || pid == os.Getpid() {
		t.Fatalf("the task ran in a worker of pid %d: want a job node's, not node a's (%d) or the driver's", pid, a.cmd.Process.Pid)
	}
	const size = 2 << 20
	if v, err := blobOnA.Remote(size).Get(ctx); err != nil || len(v) != size || v[size-1] != 7 {
		t.Fatalf("a blob made by the job node: %d bytes, %v", len(v), err)
	}
	if v, err := fibAcross.Remote(ctx, 12).Get(ctx); err != nil || v != 144 {
		t.Fatalf("fib(12) = %d, %v", v, err)
	}
	// Node a passes a cancel on to its job node.
	said := newFifo(t)
	r := waitOnA.Remote(context.Background(), said.path)
	said.expect(t, ctx, "the task in the job node", "started")
	if err := core.Cancel(r); err != nil {
		t.Fatal(err)
	}
	said.expect(t, ctx, "the task in the job node", "cancelled")
	if _, err := r.Get(ctx); !errors.Is(err, core.ErrCancelled) {
		t.Fatalf("Get of a task cancelled in a job node: %v", err)
	}
	// Node a's heartbeats count what its job node runs.
	slow := slowOnX.Remote(3000)
	for running := 0; running == 0; {
		nodes, err := listNodes(t, dir, address)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if string(n.ID) == aID {
				running = n.Load.Running
			}
		}
		if ctx.Err() != nil {
			t.Fatal("node a never reported its job node's running task")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := slow.Get(ctx); err != nil {
		t.Fatal(err)
	}
}

var fibAcross *core.Func2[context.Context, int, int]

func init() {
	fibAcross = core.Register2("test.fib", func(ctx context.Context, n int) (int, error) {
		if n < 2 {
			return n, nil
		}
		vals, err := core.GetAll(ctx, []core.Ref[int]{fibAcross.Remote(ctx, n-1), fibAcross.Remote(ctx, n-2)})
		if err != nil {
			return 0, err
		}
		return vals[0] + vals[1], nil
	})
}

// Tasks that submit tasks and wait for them, spilled at every level: the
// waiting workers give their CPUs back on every node, so the recursion
// finishes.
func TestNestedTasksAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	head := startProcess(t, dir, "start", "--head", "--heartbeat", "100ms", "--resources", "CPU=2")
	head.waitJoined(t)
	address := headAddress(t, dir)
	for range 2 {
		startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=2").waitJoined(t)
	}
	ctx := joinDriver(t, dir, core.Config{Address: address, SpillQueue: 1, Resources: map[string]float64{"CPU": 2}})
	if v, err := fibAcross.Remote(ctx, 12).Get(ctx); err != nil || v != 144 {
		t.Fatalf("fib(12) = %d, %v", v, err)
	}
}

type tally struct{ n int }

var (
	tallyOnA = core.RegisterActor0("test.TallyOnA", func() (*tally, error) { return &tally{}, nil },
		core.WithActorResources(map[string]float64{"CPU": 1, "a": 1}))
	tallyAdd   = core.RegisterMethod1(tallyOnA, "Add", func(t *tally, k int) (int, error) { t.n += k; return t.n, nil })
	tallyWhere = core.RegisterMethod0(tallyOnA, "Where", func(*tally) (int, error) { return os.Getppid(), nil })
	tallyPid   = core.RegisterMethod0(tallyOnA, "Pid", func(*tally) (int, error) { return os.Getpid(), nil })
	// tallyWait, waitOnB and waitOnA say "started" in the fifo path, and
	// then "cancelled" once their context ends (waitCancelled).
	tallyWait = core.RegisterMethod2(tallyOnA, "Wait", func(_ *tally, ctx context.Context, path string) (int, error) {
		return waitCancelled(ctx, path)
	})
	waitOnB = core.Register2("test.waitOnB", waitCancelled, core.WithResources(map[string]float64{"CPU": 1, "b": 1}))
	waitOnA = core.Register2("test.waitOnA", waitCancelled, core.WithResources(map[string]float64{"CPU": 1, "a": 1}))
	// addFromB calls the actor from a task on node b, through a handle
	// that came as an argument.
	addFromB = core.Register2("test.addFromB", func(h core.Actor[tally], k int) (int, error) {
		return tallyAdd.Remote(h, k).Get(context.Background())
	}, core.WithResources(map[string]float64{"CPU": 1, "b": 1}))
)

// fifo is a named pipe that tasks say lines in (waitCancelled), on this
// machine, and the lines said.
type fifo struct {
	path  string
	lines <-chan string
}

// newFifo makes a fifo, read until the test ends.
func newFifo(t *testing.T) *fifo {
	t.Helper()
	path := filepath.Join(t.TempDir(), "said")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0) // RDWR: no EOF while writers come and go
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(f); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	return &fifo{path: path, lines: lines}
}

// expect fails the test unless the next line said, before ctx ends, is
// want; who names the task that says it.
func (f *fifo) expect(t *testing.T, ctx context.Context, who, want string) {
	t.Helper()
	select {
	case got := <-f.lines:
		if got != want {
			t.Fatalf("%s said %q, want %q", who, got, want)
		}
	case <-ctx.Done():
		t.Fatalf("%s never said %q", who, want)
	}
}

// waitCancelled says "started" in the fifo path, waits for ctx to end,
// and says "cancelled".
func waitCancelled(ctx context.Context, path string) (int, error) {
	say := func(line string) {
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			f.WriteString(line + "\n")
			f.Close()
		}
	}
	say("started")
	select {
	case <-ctx.Done():
		say("cancelled")
		return 0, ctx.Err()
	case <-time.After(time.Minute):
		return 1, nil
	}
}

// An actor placed on another node: its calls go there in order, and a
// task on a third node calls it through a handle it was given. Cancel
// reaches a call or task running on another node, and the actor's next
// call runs.
func TestActorsAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	head := startProcess(t, dir, "start", "--head", "--heartbeat", "100ms", "--resources", "CPU=1")
	head.waitJoined(t)
	address := headAddress(t, dir)
	a := startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=2,a=1")
	startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=2,b=1").waitJoined(t)
	a.waitJoined(t)
	ctx := joinDriver(t, dir, core.Config{Address: address, Resources: map[string]float64{"CPU": 1}})

	h := tallyOnA.Remote()
	if pid, err := tallyWhere.Remote(h).Get(ctx); err != nil || pid != a.cmd.Process.Pid {
		t.Fatalf("the actor lives under pid %d (%v); node a is %d", pid, err, a.cmd.Process.Pid)
	}
	refs := make([]core.Ref[int], 50)
	for i := range refs {
		refs[i] = tallyAdd.Remote(h, 1)
	}
	got, err := core.GetAll(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("call %d saw the count %d: calls ran out of order: %v", i, v, got)
		}
	}
	if v, err := addFromB.Remote(h, 100).Get(ctx); err != nil || v != 150 {
		t.Fatalf("a call from a task on node b: %d, %v", v, err)
	}

	said := newFifo(t)
	for _, c := range []struct {
		what string
		run  func() core.Ref[int]
	}{
		{"a call to the actor on node a", func() core.Ref[int] { return tallyWait.Remote(h, context.Background(), said.path) }},
		{"a task on node b", func() core.Ref[int] { return waitOnB.Remote(context.Background(), said.path) }},
	} {
		what, r := c.what, c.run()
		said.expect(t, ctx, what, "started")
		if err := core.Cancel(r); err != nil {
			t.Fatal(err)
		}
		said.expect(t, ctx, what, "cancelled")
		if _, err := r.Get(ctx); !errors.Is(err, core.ErrCancelled) {
			t.Fatalf("Get of %s, cancelled: %v", what, err)
		}
	}
	if v, err := tallyAdd.Remote(h, 1).Get(ctx); err != nil || v != 151 {
		t.Fatalf("the call after a cancelled one: %d, %v; want 151", v, err)
	}

	// Kill ends the actor on its node, and its calls fail.
	pid, err := tallyPid.Remote(h).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := tallyAdd.Remote(h, 1).Get(ctx); !errors.Is(err, core.ErrActorDied) {
		t.Fatalf("a call after Kill: %v; want ErrActorDied", err)
	}
	for syscall.Kill(pid, 0) == nil {
		if ctx.Err() != nil {
			t.Fatalf("the killed actor's process %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A task no node can run fails at once, naming what is lacking; with
// WaitForNodes it waits, shows in `manta status` as a pending demand, and
// runs once a node that can joins.
func TestWaitForNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	startProcess(t, dir, "start", "--head", "--heartbeat", "100ms", "--resources", "CPU=1").waitJoined(t)
	address := headAddress(t, dir)
	t.Setenv("MANTA_DIR", dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	driver, err := core.Init(core.Config{Address: address, Heartbeat: 100 * time.Millisecond, Resources: map[string]float64{"CPU": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onA.Remote(0).Get(ctx); !errors.Is(err, core.ErrInfeasible) || !strings.Contains(err.Error(), "a=1") {
		t.Fatalf("a task needing a resource no node has: %v; want ErrInfeasible naming a=1", err)
	}
	driver.Shutdown()

	driver, err = core.Init(core.Config{Address: address, Heartbeat: 100 * time.Millisecond, Resources: map[string]float64{"CPU": 1}, WaitForNodes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer driver.Shutdown()
	waiting := onA.Remote(0)
	for {
		out, err := runIn(t, dir, "status")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "a=1}: no live node has them") {
			t.Logf("status:\n%s", out)
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("status never showed the waiting demand:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a := startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=1,a=1")
	a.waitJoined(t)
	if pid, err := waiting.Get(ctx); err != nil || pid != a.cmd.Process.Pid {
		t.Fatalf("the waiting task ran under pid %d, %v; node a is %d", pid, err, a.cmd.Process.Pid)
	}
}

// joinDriver makes this test process a driver of the cluster whose head
// runs in dir, with cfg and 100 ms heartbeats, until the test ends; the
// context bounds the test's calls.
func joinDriver(t *testing.T, dir string, cfg core.Config) context.Context {
	t.Helper()
	t.Setenv("MANTA_DIR", dir)
	cfg.Heartbeat = 100 * time.Millisecond
	driver, err := core.Init(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { driver.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// A node holds the stored results and actors it made for a driver until
// the driver releases them, or leaves the cluster without doing so; a
// task it runs for a driver that leaves is cancelled.
func TestLentObjectsEndWithTheirOwner(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	startProcess(t, dir, "start", "--head", "--heartbeat", "100ms", "--resources", "CPU=1").waitJoined(t)
	address := headAddress(t, dir)
	aID := startProcess(t, dir, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=2,a=2").waitJoined(t)
	lentOnA := func() int {
		nodes, err := listNodes(t, dir, address)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if string(n.ID) == aID {
				return n.Load.Lent
			}
		}
		t.Fatalf("node a (%s) is not listed", aID)
		return 0
	}
	awaitLent := func(want func(int) bool, what string) {
		deadline := time.Now().Add(30 * time.Second)
		for n := lentOnA(); !want(n); n = lentOnA() {
			if time.Now().After(deadline) {
				t.Fatalf("node a lends %d objects; want %s", n, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	t.Setenv("MANTA_DIR", dir)
	driver, err := core.Init(core.Config{Address: address, Heartbeat: 100 * time.Millisecond, Resources: map[string]float64{"CPU": 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	blob := blobOnA.Remote(1 << 20)
	h := tallyOnA.Remote()
	if _, err := tallyAdd.Remote(h, 1).Get(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := core.Wait(ctx, []core.Ref[[]byte]{blob}, 1, 0); err != nil {
		t.Fatal(err)
	}
	awaitLent(func(n int) bool { return n >= 2 }, "the blob and the actor")
	blob.Release()
	awaitLent(func(n int) bool { return n == 1 }, "the actor only, once the blob is released")
	said := newFifo(t)
	waitOnA.Remote(context.Background(), said.path)
	said.expect(t, ctx, "the driver's task on node a", "started")
	driver.Shutdown() // leaves the cluster; the node gives back the rest, and cancels its task
	said.expect(t, ctx, "the driver's task on node a", "cancelled")
	awaitLent(func(n int) bool { return n == 0 }, "none once the driver left")
}

// listNodes reads the cluster's nodes as `manta status` does.
func listNodes(t *testing.T, dir, address string) ([]cluster.NodeStatus, error) {
	t.Helper()
	token, err := cluster.ReadToken(filepath.Join(dir, cluster.TokenFile))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	api, err := cluster.Dial(ctx, address, token, 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer api.Close()
	return cluster.List(ctx, api)
}

// A node that cannot get the program's binary from the function table
// fails its tasks with ErrBinaryUnavailable, at once.
func TestBinaryUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds manta and starts processes")
	}
	manta, _ := buildBinaries(t)
	dir := t.TempDir()
	address := startHeadAndNodeA(t, dir, manta)
	ctx := joinDriver(t, dir, core.Config{Address: address, Resources: map[string]float64{"CPU": 1}})

	// The driver published itself when it joined; take it away again.
	token, err := cluster.ReadToken(filepath.Join(dir, cluster.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	api, err := cluster.Dial(ctx, address, token, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := cluster.PublishBinary(ctx, api, exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Delete(ctx, gcs.Functions, []byte("bin/"+hash.String())); err != nil {
		t.Fatal(err)
	}
	if _, err := onA.Remote(0).Get(ctx); !errors.Is(err, core.ErrBinaryUnavailable) {
		t.Fatalf("a task for a node that cannot get the binary: %v; want ErrBinaryUnavailable", err)
	} else {
		t.Logf("%v", err)
	}
}

// A job node that has run nothing for MANTA_JOB_IDLE_TIMEOUT, and holds
// nothing for anyone, is stopped by its node.
func TestIdleJobNodeStops(t *testing.T) {
	if testing.Short() {
		t.Skip("builds manta and starts processes")
	}
	manta, _ := buildBinaries(t)
	dir := t.TempDir()
	t.Setenv("MANTA_JOB_IDLE_TIMEOUT", "300ms")
	address := startHeadAndNodeA(t, dir, manta)
	ctx := joinDriver(t, dir, core.Config{Address: address, Resources: map[string]float64{"CPU": 1}})
	if _, err := onA.Remote(0).Get(ctx); err != nil {
		t.Fatal(err)
	}
	// The job node and its workers run the fetched binary.
	jobProcesses := func() int { return len(processesUnder(t, filepath.Join(dir, "bin"))) }
	if jobProcesses() == 0 {
		t.Fatal("no job node after a task of another binary")
	}
	for jobProcesses() > 0 {
		if ctx.Err() != nil {
			t.Fatal("the idle job node was never stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The next task starts another.
	if _, err := onA.Remote(1).Get(ctx); err != nil {
		t.Fatal(err)
	}
}

// processesUnder lists the processes whose executable lies in dir.
func processesUnder(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && strings.HasPrefix(exe, dir+string(filepath.Separator)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// startHeadAndNodeA starts, with the manta binary, a head with one CPU and
// a node with one CPU and resource a, and returns the head's address.
func startHeadAndNodeA(t *testing.T, dir, manta string) string {
	t.Helper()
	startCmd(t, dir, exec.Command(manta, "start", "--head", "--heartbeat", "100ms", "--resources", "CPU=1")).waitJoined(t)
	address := headAddress(t, dir)
	startCmd(t, dir, exec.Command(manta, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=1,a=1")).waitJoined(t)
	return address
}
