package dashboard

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jonboulle/clockwork"

	"manta/cluster"
	"manta/state"
)

// chromium returns the path of Debian's chromium, installing it
// (testdata/install-chromium.sh) when it is missing and the test runs as
// root; otherwise the test is skipped.
func chromium(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("chromium"); err == nil {
		return path
	}
	if os.Geteuid() != 0 {
		t.Skip("the browser test needs Debian's chromium: run dashboard/testdata/install-chromium.sh as root (the test does it itself when it runs as root)")
	}
	out, err := exec.CommandContext(t.Context(), "sh", "testdata/install-chromium.sh").CombinedOutput()
	if err != nil {
		if len(out) > 2000 {
			out = out[len(out)-2000:]
		}
		t.Skipf("the browser test needs chromium, and testdata/install-chromium.sh failed (%v):\n%s", err, out)
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("testdata/install-chromium.sh succeeded, and still no chromium: %v", err)
	}
	return path
}

// simNode drives a fake node like a busy one: tasks arrive, queue for its
// CPUs, run and finish; some finished tasks are kept a while (their
// results are held), the others are forgotten at once.
type simNode struct {
	*fakeNode
	cpus  int
	fns   []string
	extra func(step int, n *fakeNode) // what else happens to it at a step
}

func (s *simNode) step(rng *rand.Rand, k int) {
	s.set(func(n *fakeNode) {
		var kept []state.Task
		running := 0
		for _, t := range n.tasks {
			switch t.State {
			case "RUNNING":
				if rng.Float64() < 0.4 {
					t.State = "FINISHED"
					if rng.Float64() < 0.6 {
						continue // its results were dropped: forgotten
					}
				} else {
					running++
				}
			case "FINISHED":
				if rng.Float64() < 0.2 {
					continue
				}
			}
			kept = append(kept, t)
		}
		arrivals := int(float64(s.cpus) * (0.35 + 0.25*math.Sin(float64(k)/9)) * (0.5 + rng.Float64()))
		for range arrivals {
			kept = append(kept, state.Task{ID: fmt.Sprintf("%016x", rng.Uint64()), Name: s.fns[rng.IntN(len(s.fns))], Type: "NORMAL_TASK",
				State: "QUEUED", Node: n.id()})
		}
		queued := 0
		for i := range kept {
			if kept[i].State != "QUEUED" {
				continue
			}
			if running < s.cpus {
				kept[i].State, kept[i].WorkerPID = "RUNNING", 4100+rng.IntN(200)
				running++
			} else {
				queued++
			}
		}
		n.tasks = kept
		n.load.Running, n.load.Queued = running, queued
		n.load.Free = map[string]float64{}
		for name, total := range s.res {
			n.load.Free[name] = total
		}
		n.load.Free["CPU"] = float64(s.cpus - running)
		n.load.StoreCapacity = 8 << 30
		n.load.StoreUsed = int64(len(n.tasks)) * 48 << 20
		if s.extra != nil {
			s.extra(k, n)
		}
	})
	s.beat()
}

// The page, in headless Chromium: refused without the token; with it, the
// nodes table and the charts show what the fake nodes report. It saves a
// full-page screenshot to $MANTA_DASHBOARD_SCREENSHOT (default: a
// temporary directory).
func TestBrowser(t *testing.T) {
	chromiumPath := chromium(t)
	start := time.Now()
	c := newFakeCluster(t)
	// The samples end about now, so that the page's times read true.
	c.clock = clockwork.NewFakeClockAt(time.Now().Add(-2 * time.Minute).Truncate(time.Second))
	rng := rand.New(rand.NewPCG(1, 2))
	head := &simNode{fakeNode: c.join("10.0.1.11:7001", map[string]float64{"CPU": 16, "GPU": 2, "memory": 64 << 30}), cpus: 16,
		fns: []string{"rollout", "rollout", "rollout", "preprocess"}}
	second := &simNode{fakeNode: c.join("10.0.1.12:7001", map[string]float64{"CPU": 8, "memory": 32 << 30}), cpus: 8,
		fns: []string{"rollout", "preprocess", "evaluate"}}
	third := &simNode{fakeNode: c.join("10.0.1.13:7001", map[string]float64{"CPU": 8, "memory": 32 << 30}), cpus: 8,
		fns: []string{"rollout", "compute_advantages"}}
	gone := c.join("10.0.1.14:7001", map[string]float64{"CPU": 8, "memory": 32 << 30})
	gone.leave()
	head.extra = func(k int, n *fakeNode) {
		n.load.Free["GPU"] = 1
		n.load.Lent = 12 + k%5
		n.actors = []state.Actor{{ID: "a1f04c2d9e3b7a60", Class: "PolicyServer", Name: "policy", State: "ALIVE", Node: n.id(), PID: 4101,
			Queued: k % 4, Running: 1, RestartsLeft: 3}}
		n.objects = []state.Object{
			{ID: "7c1e0b5a93d2f4e8", Node: n.id(), Size: 48 << 20, Stored: true, State: "READY", Refs: 3},
			{ID: "0b9d3e5f7a1c2468", Node: n.id(), Size: 412, State: "READY", Refs: 1},
			{ID: "e3a5c7091b2d4f68", Node: n.id(), State: "PENDING", Refs: 2},
		}
		if k == 70 { // a failed task is kept like a finished one
			n.tasks = append(n.tasks, state.Task{ID: "5d2c8e1f0a9b3c47", Name: "rollout", Type: "NORMAL_TASK", State: "FAILED", Node: n.id(), Attempt: 3,
				Error: "rollout: ValueError: env.reset() returned a NaN observation (after 3 attempts)"})
		}
	}
	second.extra = func(k int, n *fakeNode) {
		n.load.Demands = []cluster.Demand{{Shape: "CPU=1,GPU=4", Count: 2, Reason: cluster.DemandNoNode}}
		n.actors = []state.Actor{{ID: "b27e94c01d5f3a86", Class: "ReplayBuffer", State: "ALIVE", Node: n.id(), PID: 4188, Running: 1}}
		n.objects = []state.Object{{ID: "9f8e7d6c5b4a3921", Node: n.id(), Size: 256 << 20, Stored: true, State: "READY", Refs: 1}}
	}
	third.extra = func(k int, n *fakeNode) {
		evaluator := state.Actor{ID: "c93b0e7a15d2f846", Class: "Evaluator", State: "ALIVE", Node: n.id(), PID: 4230, RestartsLeft: 0}
		if k >= 95 {
			evaluator.State, evaluator.PID = "DEAD", 0
			evaluator.Error = "worker process 4230 exited: signal: killed (out of memory?); no restarts left"
		}
		n.actors = []state.Actor{evaluator}
	}
	sims := []*simNode{head, second, third}
	for _, s := range sims {
		s.step(rng, 0)
	}
	d := c.serve(time.Second)
	for k := 1; k <= 120; k++ {
		for _, s := range sims {
			s.step(rng, k)
		}
		d.step()
	}
	want := d.lastSample()
	var nodes struct{ Nodes []nodeJSON }
	d.get("/api/nodes", &nodes)
	t.Logf("the fake cluster ran 120 samples in %v", time.Since(start))

	base := "http://" + d.srv.Addr()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("headless", "new"), chromedp.WindowSize(1440, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	// Without the token the page is refused, and says how to log in.
	resp, err := chromedp.Run(browser, chromedp.NavigateResponse(base+"/"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 401 || !strings.Contains(text, "manta dashboard") || !strings.Contains(text, "needs the cluster token") {
		t.Fatalf("without the token: %d %s\n%s", resp.Status, resp.StatusText, text)
	}

	// From now on the page must throw no exception and break no rule of
	// its Content-Security-Policy.
	consoleCtx, stopConsole := context.WithCancel(browser)
	defer stopConsole()
	messages := chromedp.Console(consoleCtx)
	var consoleMu sync.Mutex
	var console []string
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				consoleMu.Lock()
				console = append(console, m.String())
				consoleMu.Unlock()
			}
		}
	}()

	// With the token, the browser lands on / with a cookie, and the page
	// fills.
	resp, err = chromedp.Run(browser, chromedp.NavigateResponse(base+"/?token="+testTokenText))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(browser, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || loc != base+"/" {
		t.Fatalf("after the login: %d at %s", resp.Status, loc)
	}
	waits := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.CSS("#chart-inflight.has-data")),
		chromedp.WaitVisible(chromedp.CSS("#chart-throughput.has-data")),
		chromedp.WaitVisible(chromedp.CSS("#chart-latency.has-data")),
		chromedp.WaitVisible(chromedp.CSS("#errors tbody tr:not(.empty)")),
		chromedp.WaitVisible(chromedp.CSS("#summary tbody tr:not(.empty)")),
		chromedp.WaitVisible(chromedp.CSS("#actors tbody tr:not(.empty)")),
		chromedp.WaitVisible(chromedp.CSS("#objects tbody tr:not(.empty)")),
	}
	for _, n := range c.nodes {
		waits = append(waits, chromedp.WaitVisible(chromedp.CSS(`#nodes tbody tr[data-node="`+n.id()+`"]`)))
	}
	if err := chromedp.Do(browser, waits...); err != nil {
		t.Fatal(err)
	}

	// The nodes table.
	rows, err := chromedp.Run(browser, chromedp.Evaluate[[][]string](
		`[...document.querySelectorAll("#nodes tbody tr")].map(r => [...r.cells].map(c => c.innerText))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(nodes.Nodes) {
		t.Fatalf("%d rows in the nodes table, want %d: %q", len(rows), len(nodes.Nodes), rows)
	}
	for i, n := range nodes.Nodes {
		r := rows[i]
		free := "?"
		if v, ok := n.Free["CPU"]; ok {
			free = strconv.FormatFloat(v, 'f', -1, 64)
		}
		wantCPU := fmt.Sprintf("CPU %s / %s", free, strconv.FormatFloat(n.Resources["CPU"], 'f', -1, 64))
		if len(r) != 10 || r[0] != n.ID || r[1] != n.State || r[2] != n.Addr || !strings.Contains(r[3], wantCPU) ||
			r[4] != strconv.Itoa(n.Running) || r[5] != strconv.Itoa(n.Queued) || r[7] != strconv.Itoa(n.Lent) {
			t.Errorf("row %d: %q; want node %+v (%q)", i, r, n, wantCPU)
		}
	}
	if r := rows[0]; !strings.Contains(r[3], "GPU 1 / 2") || !strings.Contains(r[3], "memory 64 GiB / 64 GiB") || r[9] != "1.3 s ago" {
		t.Errorf("the head's row: %q", r)
	}
	if r := rows[1]; r[8] != "2 × {CPU=1,GPU=4}: no live node has them: waiting for one to join" {
		t.Errorf("the second node's demands: %q", r[8])
	}
	if r := rows[3]; r[1] != "dead" || r[2] != "10.0.1.14:7001" {
		t.Errorf("the dead node's row: %q", r)
	}

	// The charts' legends show the last sample.
	legend, err := chromedp.Run(browser, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll(".legend .now")].map(e => [e.closest("figure").id + "/" + e.dataset.series, e.textContent]))`))
	if err != nil {
		t.Fatal(err)
	}
	if legend["chart-inflight/running"] != strconv.Itoa(want.Running) || legend["chart-inflight/queued"] != strconv.Itoa(want.Queued) {
		t.Errorf("tasks in flight: legend %q, last sample %s", legend, show(want))
	}
	near := func(key string, v *float64) {
		t.Helper()
		if v == nil {
			if legend[key] != "–" {
				t.Errorf("%s: legend %q, last sample %s", key, legend[key], show(want))
			}
			return
		}
		got, err := strconv.ParseFloat(legend[key], 64)
		if err != nil || math.Abs(got-*v) > 0.006*math.Max(1, *v) {
			t.Errorf("%s: legend %q, last sample %s", key, legend[key], show(want))
		}
	}
	near("chart-throughput/finished", want.Rate)
	near("chart-latency/median", want.LatP50)
	near("chart-latency/longest", want.LatMax)
	paths, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll(".chart path.series").length`))
	if err != nil || paths != 5 {
		t.Errorf("%d series drawn, want 5 (%v)", paths, err)
	}

	// The last errors, newest first.
	errs, err := chromedp.Run(browser, chromedp.Evaluate[[][]string](
		`[...document.querySelectorAll("#errors tbody tr")].map(r => [...r.cells].map(c => c.innerText))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 2 || errs[0][1] != "actor died" || errs[0][2] != "Evaluator" || !strings.Contains(errs[0][5], "signal: killed") ||
		errs[1][1] != "task failed" || errs[1][2] != "rollout" || !strings.Contains(errs[1][5], "NaN observation") {
		t.Errorf("errors table: %q", errs)
	}

	stopConsole()
	<-consoleDone
	for _, m := range console {
		t.Errorf("the page's console: %s", m)
	}

	shot, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := os.Getenv("MANTA_DASHBOARD_SCREENSHOT")
	if path == "" {
		path = filepath.Join(t.TempDir(), "dashboard.png")
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot (%d KiB) at %s; %v in all", len(shot)>>10, path, time.Since(start))
	if ct := http.DetectContentType(shot); ct != "image/png" {
		t.Errorf("the screenshot is %s, not a PNG", ct)
	}
}
