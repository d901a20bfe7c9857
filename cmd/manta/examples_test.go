package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"manta/internal/netns"
)

var (
	buildOnce         sync.Once
	builtDir          string
	mantaBin, coreBin string
	buildErr          error
)

// buildBinaries builds, once per test run, the manta command and core's
// test binary (the program whose Examples a cluster runs), into builtDir,
// which TestMain removes.
func buildBinaries(t *testing.T) (manta, coreTest string) {
	t.Helper()
	buildOnce.Do(func() {
		builtDir, buildErr = os.MkdirTemp("", "manta-bin-")
		if buildErr != nil {
			return
		}
		mantaBin, coreBin = filepath.Join(builtDir, "manta"), filepath.Join(builtDir, "core.test")
		for _, args := range [][]string{{"build", "-o", mantaBin, "."}, {"test", "-c", "-o", coreBin, "../../core"}} {
			if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
				buildErr = &buildError{args, err, out}
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return mantaBin, coreBin
}

type buildError struct {
	args []string
	err  error
	out  []byte
}

func (e *buildError) Error() string {
	return "go " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + string(e.out)
}

// A three-node cluster of `manta start` processes runs core's Examples
// unchanged: the Examples' binary reaches the nodes through the function
// table, and every task may spill (MANTA_SPILL_QUEUE=1). Then the same
// with each node in a network namespace of its own, where root allows.
func TestCoreExamplesOnACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and starts processes")
	}
	manta, coreTest := buildBinaries(t)
	t.Run("loopback", func(t *testing.T) {
		dir := t.TempDir()
		address := startCluster(t, dir, manta, "127.0.0.1", func(i int, args ...string) *exec.Cmd {
			return exec.Command(manta, append(args, "--node-bind", "127.0.0.1")...)
		})
		runExamples(t, dir, coreTest, address, "127.0.0.1")
	})
	t.Run("namespaces", func(t *testing.T) {
		nw := netns.New(t, 2)
		dir := t.TempDir()
		address := startCluster(t, dir, manta, nw.HostIP, func(i int, args ...string) *exec.Cmd {
			return nw.Command(i, manta, append(args, "--node-bind", nw.IPs[i])...)
		})
		runExamples(t, dir, coreTest, address, nw.HostIP)
	})
}

// startCluster starts a head bound to bind and two nodes made by node,
// and returns the head's address.
func startCluster(t *testing.T, dir, manta, bind string, node func(i int, args ...string) *exec.Cmd) string {
	t.Helper()
	head := startCmd(t, dir, exec.Command(manta, "start", "--head", "--bind", bind, "--heartbeat", "100ms", "--node-timeout", "1s", "--resources", "CPU=2"))
	head.waitJoined(t)
	address := headAddress(t, dir)
	for i := range 2 {
		startCmd(t, dir, node(i, "start", "--address", address, "--heartbeat", "100ms", "--resources", "CPU=2")).waitJoined(t)
	}
	return address
}

// runExamples runs core's Examples as a driver of the cluster at address,
// its node bound to bind, and checks that the nodes fetched its binary.
func runExamples(t *testing.T, dir, coreTest, address, bind string) {
	t.Helper()
	cmd := exec.Command(coreTest, "-test.run", "^Example", "-test.v")
	cmd.Env = append(os.Environ(), "MANTA_DIR="+dir, "MANTA_ADDRESS="+address, "MANTA_BIND="+bind,
		"MANTA_SPILL_QUEUE=1", "MANTA_HEARTBEAT=100ms")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("core's Examples on the cluster: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "--- PASS: Example"); n < 5 {
		t.Fatalf("%d Examples passed:\n%s", n, out)
	}
	fetched, _ := filepath.Glob(filepath.Join(dir, "bin", "*"))
	if len(fetched) == 0 {
		t.Errorf("no node fetched the Examples' binary: its tasks all ran on the driver's node")
	}
}
