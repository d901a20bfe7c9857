package dashboard

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"manta/cluster"
	"manta/state"
)

func TestServeNeedsGCSAndToken(t *testing.T) {
	c := newFakeCluster(t)
	if _, err := Serve(Config{Token: testToken}); err == nil {
		t.Error("Serve without a GCS")
	}
	if _, err := Serve(Config{GCS: c.gcs}); err == nil {
		t.Error("Serve without a token")
	}
}

// noRedirects is a client that shows redirects rather than following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestAuth(t *testing.T) {
	c := newFakeCluster(t)
	d := c.serve(time.Second)
	base := "http://" + d.srv.Addr()
	get := func(path string, header ...string) (*http.Response, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return do(t, req)
	}

	// Without the token, or with another, everything is refused, and a
	// browser is told how to log in.
	for _, path := range []string{"/", "/app.js", "/style.css", "/api/nodes", "/api/series", "/api/errors", "/api/summary", "/api/actors", "/api/objects"} {
		if resp, _ := get(path); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %s", path, resp.Status)
		}
		if resp, _ := get(path, "Authorization", "Bearer not-the-token"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong bearer token: %s", path, resp.Status)
		}
		if resp, _ := get(path, "Cookie", cookieName+"="+cookieValue([]byte("not-the-token"))); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with another cluster's cookie: %s", path, resp.Status)
		}
		if resp, _ := get(path, "Authorization", "Bearer "+testTokenText); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the bearer token: %s", path, resp.Status)
		}
	}
	resp, body := get("/")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(body, "manta dashboard") || !strings.Contains(body, `action="/login"`) {
		t.Errorf("the refusal page: %s\n%s", ct, body)
	}
	if resp, body := get("/?token=wrong"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not this cluster&#39;s token") {
		t.Errorf("a wrong token in the URL: %s\n%s", resp.Status, body)
	}

	// The token in the URL sets the cookie and sends the browser to the
	// page without it.
	resp, _ = get("/?token=" + testTokenText)
	cookie := checkLogin(t, resp)
	resp, body = get("/", "Cookie", cookie.Name+"="+cookie.Value)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<table id="nodes">`) {
		t.Fatalf("the page with the cookie: %s\n%s", resp.Status, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("the page's Content-Security-Policy: %q", csp)
	}
	if resp, _ := get("/api/nodes", "Cookie", cookie.Name+"="+cookie.Value); resp.StatusCode != http.StatusOK {
		t.Errorf("JSON with the cookie: %s", resp.Status)
	}
	if resp, body := get("/app.js", "Cookie", cookie.Name+"="+cookie.Value); resp.StatusCode != http.StatusOK || !strings.Contains(body, "function poll()") {
		t.Errorf("the script with the cookie: %s", resp.Status)
	}

	// The login form posts the token.
	post := func(token string) *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, _ := do(t, req)
		return resp
	}
	if resp := post("wrong"); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("login with a wrong token: %s, cookies %v", resp.Status, resp.Cookies())
	}
	checkLogin(t, post(testTokenText))
}

// checkLogin checks that resp logs in: a redirect to / that sets the
// session cookie, which holds no token.
func checkLogin(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set cookies %v", cookies)
	}
	ck := cookies[0]
	if ck.Name != cookieName || ck.Value != cookieValue(testToken) || strings.Contains(ck.Value, testTokenText) ||
		!ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Fatalf("the session cookie: %+v", ck)
	}
	return ck
}

func TestNodes(t *testing.T) {
	c := newFakeCluster(t)
	a := c.join("10.0.0.1:7001", map[string]float64{"CPU": 8, "GPU": 1, "memory": 32 << 30})
	a.set(func(n *fakeNode) {
		n.load = cluster.Load{Free: map[string]float64{"CPU": 5, "GPU": 0, "memory": 30 << 30}, Queued: 4, Running: 3,
			StoreUsed: 1 << 30, StoreCapacity: 8 << 30, Lent: 2,
			Demands: []cluster.Demand{{Shape: "CPU=1,GPU=1", Count: 4, Reason: cluster.DemandBusy}}}
	})
	a.beat()
	b := c.join("10.0.0.2:7001", map[string]float64{"CPU": 4})
	b.leave()
	d := c.serve(time.Second)

	var got struct{ Nodes []nodeJSON }
	d.get("/api/nodes", &got)
	if len(got.Nodes) != 2 {
		t.Fatalf("nodes %+v", got.Nodes)
	}
	na, nb := got.Nodes[0], got.Nodes[1]
	if na.ID != a.id() || na.Addr != "10.0.0.1:7001" || na.State != "alive" || na.StateAPI != a.srv.Addr() ||
		!maps.Equal(na.Resources, a.res) || na.Free["CPU"] != 5 || na.Queued != 4 || na.Running != 3 ||
		na.StoreUsed != 1<<30 || na.StoreCap != 8<<30 || na.Lent != 2 || na.BeatAge == nil || *na.BeatAge != 0.3 {
		t.Errorf("node a: %+v", na)
	}
	if want := []demandJSON{{Shape: "CPU=1,GPU=1", Count: 4, Reason: "waiting for resources in use"}}; len(na.Demands) != 1 || na.Demands[0] != want[0] {
		t.Errorf("node a's demands: %+v", na.Demands)
	}
	if nb.ID != b.id() || nb.State != "dead" || nb.StateAPI != "" || nb.Resources["CPU"] != 4 {
		t.Errorf("node b: %+v", nb)
	}
}

func task(id, name, st string, node *fakeNode) state.Task {
	return state.Task{ID: id, Name: name, Type: "NORMAL_TASK", State: st, Node: node.id()}
}

func ptr(f float64) *float64 { return &f }

func equalPtr(a, b *float64) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// The throughput counts tasks seen unfinished that are now finished or
// gone, and tasks first seen finished; the latency, the time between the
// sample that first listed a task unfinished and the one that saw it end.
func TestSeries(t *testing.T) {
	c := newFakeCluster(t)
	a := c.join("10.0.0.1:7001", map[string]float64{"CPU": 8})
	b := c.join("10.0.0.2:7001", map[string]float64{"CPU": 8})
	a.set(func(n *fakeNode) {
		n.tasks = []state.Task{task("t1", "f", "RUNNING", a), task("t2", "f", "RUNNING", a), task("t3", "g", "QUEUED", a)}
		n.load.Running, n.load.Queued = 2, 1
	})
	b.set(func(n *fakeNode) {
		n.tasks = []state.Task{task("u1", "f", "FINISHED", b)}
		n.load.Running, n.load.Queued = 0, 5
	})
	a.beat()
	b.beat()
	d := c.serve(time.Second)
	check := func(what string, want point) {
		t.Helper()
		got := d.lastSample()
		want.T = c.clock.Now().UnixMilli()
		if got.T != want.T || got.Alive != want.Alive || got.Silent != want.Silent || got.Running != want.Running || got.Queued != want.Queued ||
			got.Done != want.Done || !equalPtr(got.Rate, want.Rate) || !equalPtr(got.LatP50, want.LatP50) || !equalPtr(got.LatMax, want.LatMax) || got.LatN != want.LatN {
			t.Errorf("%s: got %s, want %s", what, show(got), show(want))
		}
	}
	// The first sample has no rate: there is nothing to compare with.
	check("first sample", point{Alive: 2, Running: 2, Queued: 6})

	// t1 finished (still listed), t2 finished and was forgotten, t4
	// started and finished between the samples; t3 runs.
	a.set(func(n *fakeNode) {
		n.tasks = []state.Task{task("t1", "f", "FINISHED", a), task("t3", "g", "RUNNING", a), task("t4", "g", "FINISHED", a)}
		n.load.Running, n.load.Queued = 1, 0
	})
	a.beat()
	d.step()
	check("second sample", point{Alive: 2, Running: 1, Queued: 5, Done: 3, Rate: ptr(3), LatP50: ptr(1), LatMax: ptr(1), LatN: 2})

	// Node b stops answering: its tasks are not counted as gone. t3
	// fails after two periods; t5 is new.
	b.srv.Close()
	a.set(func(n *fakeNode) {
		n.tasks = []state.Task{task("t1", "f", "FINISHED", a), task("t3", "g", "FAILED", a), task("t4", "g", "FINISHED", a), task("t5", "f", "RUNNING", a)}
	})
	d.step()
	check("third sample", point{Alive: 2, Silent: 1, Running: 1, Queued: 5, Done: 1, Rate: ptr(1), LatP50: ptr(2), LatMax: ptr(2), LatN: 1})
	if s := d.series(); len(s.Problems) != 1 || !strings.Contains(s.Problems[0], b.id()) || s.Every != 1 || s.Window != 300 || len(s.Samples) != 3 {
		t.Errorf("series: %+v", s)
	}

	// Nothing changes: no rate, no latency.
	d.step()
	check("fourth sample", point{Alive: 2, Silent: 1, Running: 1, Queued: 5, Rate: ptr(0)})
}

func show(p point) string {
	f := func(v *float64) string {
		if v == nil {
			return "nil"
		}
		return fmt.Sprint(*v)
	}
	return fmt.Sprintf("{t=%d alive=%d silent=%d running=%d queued=%d done=%d rate=%s p50=%s max=%s n=%d}",
		p.T, p.Alive, p.Silent, p.Running, p.Queued, p.Done, f(p.Rate), f(p.LatP50), f(p.LatMax), p.LatN)
}

// The last errors are failed tasks and dead actors, newest first, each
// reported once while its node lists it.
func TestErrors(t *testing.T) {
	c := newFakeCluster(t)
	a := c.join("10.0.0.1:7001", map[string]float64{"CPU": 8})
	a.set(func(n *fakeNode) {
		failed := task("t1", "rollout", "FAILED", a)
		failed.Error = "rollout: env reset returned NaN"
		n.tasks = []state.Task{failed, task("t2", "rollout", "RUNNING", a)}
		n.actors = []state.Actor{
			{ID: "x1", Class: "Evaluator", State: "DEAD", Node: a.id(), Error: "worker process 4211 exited: signal: killed"},
			{ID: "x2", Class: "PolicyServer", State: "ALIVE", Node: a.id()},
		}
	})
	d := c.serve(time.Second)
	first := c.clock.Now().UnixMilli()
	errorsNow := func() []errorJSON {
		var got struct{ Errors []errorJSON }
		d.get("/api/errors", &got)
		return got.Errors
	}
	want := []errorJSON{
		{Seen: first, Kind: "actor", ID: "x1", Name: "Evaluator", Node: a.id(), Message: "worker process 4211 exited: signal: killed"},
		{Seen: first, Kind: "task", ID: "t1", Name: "rollout", Node: a.id(), Message: "rollout: env reset returned NaN"},
	}
	if got := errorsNow(); !slices.Equal(got, want) {
		t.Fatalf("errors %+v, want %+v", got, want)
	}
	d.step() // nothing new: nothing reported twice
	if got := errorsNow(); !slices.Equal(got, want) {
		t.Fatalf("errors after a quiet sample %+v, want %+v", got, want)
	}
	a.set(func(n *fakeNode) { n.tasks[1].State = "FAILED" })
	d.step()
	want = append([]errorJSON{{Seen: c.clock.Now().UnixMilli(), Kind: "task", ID: "t2", Name: "rollout", Node: a.id(), Message: "(no message)"}}, want...)
	if got := errorsNow(); !slices.Equal(got, want) {
		t.Fatalf("errors after t2 failed %+v, want %+v", got, want)
	}
}

// Actors, objects and the task summary merge every live node's answer.
func TestListings(t *testing.T) {
	c := newFakeCluster(t)
	a := c.join("10.0.0.1:7001", map[string]float64{"CPU": 8})
	b := c.join("10.0.0.2:7001", map[string]float64{"CPU": 8})
	a.set(func(n *fakeNode) {
		n.actors = []state.Actor{{ID: "a2", Class: "Learner", State: "ALIVE", Node: a.id(), Queued: 3}}
		n.tasks = []state.Task{task("t1", "f", "RUNNING", a), task("t2", "f", "FINISHED", a)}
		for i := range 150 {
			n.objects = append(n.objects, state.Object{ID: fmt.Sprintf("oa%03d", i), Node: a.id(), Size: 100, State: "READY", Refs: 1})
		}
	})
	b.set(func(n *fakeNode) {
		n.actors = []state.Actor{{ID: "a1", Class: "Replay", State: "PENDING", Node: b.id()}}
		n.tasks = []state.Task{task("t3", "f", "QUEUED", b), task("t4", "g", "RUNNING", b)}
		for i := range 100 {
			n.objects = append(n.objects, state.Object{ID: fmt.Sprintf("ob%03d", i), Node: b.id(), Size: 1 << 20, Stored: true, State: "READY", Refs: 2})
		}
	})
	d := c.serve(time.Second)

	var actors state.Page[state.Actor]
	d.get("/api/actors", &actors)
	if actors.Total != 2 || len(actors.Items) != 2 || actors.Items[0].ID != "a1" || actors.Items[1].Queued != 3 || len(actors.Partial) != 0 {
		t.Errorf("actors %+v", actors)
	}
	var objects state.Page[state.Object]
	d.get("/api/objects", &objects)
	if objects.Total != 250 || len(objects.Items) != rowLimit || objects.Items[0].ID != "oa000" || objects.Items[rowLimit-1].ID != "ob049" {
		t.Errorf("objects: total %d, %d items", objects.Total, len(objects.Items))
	}
	var sum state.TaskSummary
	d.get("/api/summary", &sum)
	if want := map[string]map[string]int{"f": {"RUNNING": 1, "FINISHED": 1, "QUEUED": 1}, "g": {"RUNNING": 1}}; sum.Total != 4 ||
		!maps.EqualFunc(sum.ByName, want, maps.Equal) {
		t.Errorf("summary %+v", sum)
	}

	// A node that does not answer is named; the others still show.
	b.srv.Close()
	d.get("/api/actors", &actors)
	if actors.Total != 1 || len(actors.Partial) != 1 || !strings.Contains(actors.Partial[0], b.srv.Addr()) {
		t.Errorf("actors without b: %+v", actors)
	}
}

// The charts keep five minutes of samples.
func TestWindow(t *testing.T) {
	c := newFakeCluster(t)
	c.join("10.0.0.1:7001", map[string]float64{"CPU": 8})
	d := c.serve(time.Minute)
	for range 7 {
		d.step()
	}
	s := d.series()
	now := c.clock.Now()
	if len(s.Samples) != 6 || s.Samples[0].T != now.Add(-5*time.Minute).UnixMilli() || s.Samples[5].T != now.UnixMilli() {
		t.Errorf("%d samples from %d to %d; now %d", len(s.Samples), s.Samples[0].T, s.Samples[len(s.Samples)-1].T, now.UnixMilli())
	}
}
