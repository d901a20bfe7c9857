package benchmarks

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"manta/core"
)

// The multi-node experiments run `manta start`; this test binary is not
// manta, so their tests build it (once per run, removed by TestMain).
var mantaBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// buildManta returns the path of a manta binary built from this tree, or
// skips the test in -short mode or without the go command.
func buildManta(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts node processes")
	}
	mantaBuild.once.Do(func() {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			mantaBuild.err = err
			return
		}
		if mantaBuild.dir, err = os.MkdirTemp("", "manta-bench-bin-"); err != nil {
			mantaBuild.err = err
			return
		}
		mantaBuild.path = filepath.Join(mantaBuild.dir, "manta")
		out, err := exec.Command(goCmd, "build", "-o", mantaBuild.path, "manta/cmd/manta").CombinedOutput()
		if err != nil {
			mantaBuild.err = errors.New(string(out))
		}
	})
	if errors.Is(mantaBuild.err, exec.ErrNotFound) {
		t.Skipf("no go command to build manta: %v", mantaBuild.err)
	}
	if mantaBuild.err != nil {
		t.Fatalf("building manta: %v", mantaBuild.err)
	}
	return mantaBuild.path
}

// testLog writes the node processes' output to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Logf("%s", b)
	return len(b), nil
}

var pinnedNode = core.Register0("benchmarks.test.pinnedNode", func() (int, error) { return benchNode(), nil })

// A head and a node as processes: a driver with no CPU joins, tasks
// pinned to each node run there, and Stop ends them and restores the
// environment.
func TestLocalCluster(t *testing.T) {
	manta := buildManta(t)
	t.Setenv("MANTA_RESOURCES", "CPU=5") // must not reach the driver
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := startLocalCluster(ctx, localClusterConfig{Manta: manta, Nodes: []map[string]float64{{"CPU": 1}, {"CPU": 1}},
		StoreBytes: 64 << 20, Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if _, err := startLocalCluster(ctx, localClusterConfig{Manta: manta, Nodes: []map[string]float64{{}}}); !errors.Is(err, errClusterRunning) {
		t.Fatalf("a second cluster at once: %v", err)
	}
	driver, err := c.Driver(core.Config{Resources: map[string]float64{"CPU": 0}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		at, err := pinnedNode.Options(core.WithResources(onNode(i, 1))).Remote().Get(ctx)
		if err != nil || at != i {
			t.Fatalf("a task pinned to node %d ran on node %d: %v", i, at, err)
		}
	}
	if err := driver.Shutdown(); err != nil {
		t.Fatal(err)
	}
	dir := c.Dir
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("MANTA_RESOURCES") != "CPU=5" || os.Getenv("MANTA_DIR") != "" {
		t.Errorf("environment not restored: MANTA_RESOURCES=%q MANTA_DIR=%q", os.Getenv("MANTA_RESOURCES"), os.Getenv("MANTA_DIR"))
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("state directory %s left: %v", dir, err)
	}
	for i, p := range c.procs {
		if p.cmd.ProcessState == nil || !p.cmd.ProcessState.Exited() {
			t.Errorf("node %d: %v", i, p.cmd.ProcessState)
		}
	}
}
