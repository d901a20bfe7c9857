package probe

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startSyncBenchmark builds manta and starts its sync-task microbenchmark,
// returning once the driver has called core.Init (it prints its header).
func startSyncBenchmark(t *testing.T) (bin string, driver *exec.Cmd) {
	t.Helper()
	if err := Check(); err != nil {
		t.Skipf("cannot probe here (needs root or CAP_BPF+CAP_PERFMON+CAP_SYS_ADMIN, and kernel BTF): %v", err)
	}
	bin = filepath.Join(t.TempDir(), "manta")
	if out, err := exec.Command("go", "build", "-o", bin, "manta/cmd/manta").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	driver = exec.Command(bin, "microbenchmark", "--only", "single_client_tasks_sync", "--duration", "20s", "--queued", "0")
	stdout, err := driver.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	driver.Stderr = os.Stderr
	if err := driver.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		driver.Process.Kill() // its workers die with it (Pdeathsig)
		driver.Wait()
	})
	header, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(header, "microbenchmark") {
		t.Fatalf("microbenchmark header %q: %v", header, err)
	}
	go func() { _, _ = bufio.NewReader(stdout).WriteTo(discard{}) }() // the table it prints at the end
	return bin, driver
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// TestProbeSyncRoundTrip runs `manta probe` on a running sync-task
// microbenchmark (the first 6 s of a 20 s row are all sync round trips: its
// warm-up and first slice) and checks its JSON.
func TestProbeSyncRoundTrip(t *testing.T) {
	bin, driver := startSyncBenchmark(t)
	dir := t.TempDir()
	jsonPath, pngPath := filepath.Join(dir, "probe.json"), filepath.Join(dir, "probe.png")
	out, err := exec.Command(bin, "probe", "--pid", strconv.Itoa(driver.Process.Pid), "--duration", "3s",
		"--json", jsonPath, "--plot", pngPath).CombinedOutput()
	t.Logf("manta probe:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.RoundTrip.Count < 100 || len(r.Workers) == 0 {
		t.Fatalf("%d round trips with workers %v: want at least 100, and a worker", r.RoundTrip.Count, r.Workers)
	}
	if len(r.Stages) != len(SyncRoundTrip) {
		t.Fatalf("%d stage rows, want %d", len(r.Stages), len(SyncRoundTrip))
	}
	for _, row := range r.Stages {
		if row.Count != r.RoundTrip.Count || row.P50US <= 0 {
			t.Errorf("%s: %d events, median %v µs; want %d and above 0", row.Name, row.Count, row.P50US, r.RoundTrip.Count)
		}
	}
	// The median of a sum is not the sum of the medians: right-skewed
	// stages make the medians add up to less. Measured here: -1% to -14%.
	const tolerance = 0.25
	if gap := r.MedianGap(); math.Abs(gap) > tolerance {
		t.Errorf("stage medians add up to %.1f µs, the median round trip is %.1f µs: %+.0f%%, beyond ±%.0f%%",
			r.SumOfMediansUS, r.RoundTrip.P50US, 100*gap, 100*tolerance)
	}
	kernel := map[string]uint64{}
	for _, row := range r.Kernel {
		kernel[row.Name] = row.Count
	}
	// A sync loop blocks the driver for every result and a worker for every task.
	for _, name := range []string{"driver off CPU, blocked", "driver run queue after wakeup", "workers off CPU, blocked", "workers run queue after wakeup"} {
		if kernel[name] == 0 {
			t.Errorf("no %q events: %v", name, kernel)
		}
	}
	if fi, err := os.Stat(pngPath); err != nil || fi.Size() == 0 {
		t.Errorf("plot %s: %v", pngPath, err)
	}
}

// TestRunEndsWithTheDriver checks that Run returns, without error, when
// the driver exits.
func TestRunEndsWithTheDriver(t *testing.T) {
	_, driver := startSyncBenchmark(t)
	p, err := Attach(Config{PID: driver.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := driver.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	driver.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := p.Run(ctx, time.Second, nil); err != nil || ctx.Err() != nil {
		t.Errorf("Run after the driver exited: %v (context: %v)", err, ctx.Err())
	}
}
