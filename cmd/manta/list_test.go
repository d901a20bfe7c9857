package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"runtime"
	"strings"
	"testing"
	"time"

	"manta/core"
)

type box struct{ v int }

var (
	testBox    = core.RegisterActor0("test.Box", func() (*box, error) { return &box{}, nil })
	testBoxSet = core.RegisterMethod1(testBox, "Set", func(b *box, v int) (int, error) { b.v = v; return v, nil })
	testSleep  = core.Register1("test.sleep", func(ms int) (int, error) {
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return ms, nil
	})
)

// `manta list` and `manta summary` show what a driver that joined a
// cluster holds: its finished tasks kept as lineage, the one still
// running or queued, its actor, objects and workers; filters before the
// limit, and errors for what cannot be listed.
func TestListAndSummary(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	startProcess(t, dir, "start", "--head", "--heartbeat", "100ms", "--resources", "CPU=1").waitJoined(t)
	ctx := joinDriver(t, dir, core.Config{Address: headAddress(t, dir), Resources: map[string]float64{"CPU": 2}})
	done := make([]core.Ref[int], 3)
	for i := range done {
		done[i] = nodeOfWorker.Remote(i)
		if _, err := done[i].Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	h := testBox.Remote()
	if _, err := testBoxSet.Remote(h, 7).Get(ctx); err != nil {
		t.Fatal(err)
	}
	slow := testSleep.Remote(60000)
	defer core.Cancel(slow)

	list := func(args ...string) string {
		t.Helper()
		out, err := runIn(t, dir, args...)
		if err != nil {
			t.Fatalf("manta %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	out := list("list", "tasks", "--filter", "name=test.nodeOf", "--filter", "state=FINISHED")
	if strings.Count(out, "test.nodeOf") != 3 || !strings.Contains(out, "3 of 3 tasks") {
		t.Errorf("finished tasks:\n%s", out)
	}
	out = list("list", "tasks", "--filter", "state!=FINISHED", "--limit", "0")
	if !strings.Contains(out, "test.sleep") || strings.Contains(out, "test.nodeOf") {
		t.Errorf("unfinished tasks:\n%s", out)
	}
	out = list("list", "tasks", "--limit", "1")
	if !strings.Contains(out, "1 of ") || !strings.Contains(out, "raise --limit") {
		t.Errorf("limited listing:\n%s", out)
	}
	out = list("list", "actors")
	if !strings.Contains(out, "test.Box") || !strings.Contains(out, "ALIVE") {
		t.Errorf("actors:\n%s", out)
	}
	out = list("list", "objects", "--filter", "state=READY")
	if !strings.Contains(out, "READY") {
		t.Errorf("objects:\n%s", out)
	}
	out = list("list", "workers", "--json")
	if !strings.Contains(out, `"pid"`) || !strings.Contains(out, `"state": "ALIVE"`) {
		t.Errorf("workers:\n%s", out)
	}
	out = list("summary", "tasks")
	if !strings.Contains(out, "test.nodeOf") || !strings.Contains(out, "FINISHED") {
		t.Errorf("summary:\n%s", out)
	}
	// The head serves the dashboard; `manta dashboard` gives the URL that
	// logs in, and without the token the page is refused.
	url := strings.TrimSpace(list("dashboard"))
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<html") {
		t.Errorf("dashboard with the token: %s\n%.300s", resp.Status, page)
	}
	bare, _, _ := strings.Cut(url, "?")
	resp, err = http.Get(bare)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("dashboard without the token: %s", resp.Status)
	}
	runtime.KeepAlive(done) // their tasks stay listed while their results are held
	runtime.KeepAlive(h)
	for _, bad := range [][]string{{"list", "dogs"}, {"list", "tasks", "--filter", "colour=red"}, {"list", "tasks", "--filter", "nonsense"}, {"summary", "actors"}} {
		if out, err := runIn(t, dir, bad...); err == nil {
			t.Errorf("manta %s succeeded:\n%s", strings.Join(bad, " "), out)
		}
	}
}
