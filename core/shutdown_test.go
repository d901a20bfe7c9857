package core

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"manta/gpu"
	"manta/internal/flock"
)

// children lists the live processes whose parent is this one.
func children(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state, ppid, ...
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(self) && fields[0] != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// memfds counts this process's open memfd segments.
func memfds(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, "/memfd:manta") {
			n++
		}
	}
	return n
}

func shmEntries(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/dev/shm")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestShutdownWithWorkInFlightLeaksNothing(t *testing.T) {
	beforeShm := len(shmEntries(t))
	c, err := Init(Config{Resources: map[string]float64{"CPU": 2}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if _, err := testAdd.Remote(1, 1).Get(ctx); err != nil {
		t.Fatal(err)
	}
	h := testCounter.Remote(0)
	if _, err := testIncr.Remote(h, 1).Get(ctx); err != nil {
		t.Fatal(err)
	}
	pending := testSleep.Remote(int64(time.Hour))
	queued := make([]Ref[int], 100)
	for i := range queued {
		queued[i] = testAdd.Remote(i, i)
	}
	if len(children(t)) == 0 {
		t.Fatal("no worker processes while work is in flight")
	}
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if kids := children(t); len(kids) != 0 {
		t.Fatalf("worker processes left after Shutdown: %v", kids)
	}
	if n := memfds(t); n != 0 {
		t.Fatalf("%d shared-memory segments left open", n)
	}
	if after := len(shmEntries(t)); after != beforeShm {
		t.Fatalf("/dev/shm had %d entries, now %d", beforeShm, after)
	}
	if _, err := pending.Get(ctx); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Get of in-flight work after Shutdown: %v", err)
	}
	if _, err := queued[99].Get(ctx); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Get of queued work after Shutdown: %v", err)
	}
	if _, err := testAdd.Remote(1, 1).Get(ctx); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Remote after Shutdown: %v", err)
	}
	// The process can start manta again.
	c2 := startCluster(t, Config{})
	if v, err := testAdd.Remote(2, 3).Get(ctx); v != 5 || err != nil {
		t.Fatalf("after restart: %d, %v", v, err)
	}
	_ = c2
}

// Shutdown called twice (a deferred one after an explicit one) is a no-op
// the second time, on a node with GPUs too, whose watcher it stops.
func TestShutdownTwice(t *testing.T) {
	c, err := Init(Config{Resources: map[string]float64{"CPU": 2}, GPUs: gpu.Fake(gpu.Device{Name: "fake 0"})})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatalf("a second Shutdown: %v", err)
	}
}

// A node's default spill directory lies in $MANTA_DIR/spill, is removed at
// Shutdown, and a node starting removes those whose nodes are gone (their
// lock went with them), not a live node's.
func TestSpillDirsOfGoneNodesAreRemoved(t *testing.T) {
	state := t.TempDir()
	t.Setenv("MANTA_DIR", state)
	parent := filepath.Join(state, spillDirs)
	gone, live := filepath.Join(parent, "4194304-1"), filepath.Join(parent, "4194305-1")
	for _, dir := range []string{gone, live} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "object"), make([]byte, 1<<10), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	lock, err := flock.Open(live, false)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()

	c, err := Init(Config{Resources: map[string]float64{"CPU": 1}})
	if err != nil {
		t.Fatal(err)
	}
	own := c.spill.path
	if filepath.Dir(own) != parent {
		t.Errorf("the node spills to %s, not in %s", own, parent)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("a gone node's spill directory is left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(live, "object")); err != nil {
		t.Errorf("a live node's spill directory was touched: %v", err)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(own); !os.IsNotExist(err) {
		t.Errorf("the node's own spill directory is left after Shutdown: %v", err)
	}
}
