package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/cluster"
	"manta/gcs"
	"manta/state"
)

// testToken is the cluster token; requests carry testTokenText.
var (
	testToken     = []byte("s3cret-cluster-token\x00\xff")
	testTokenText = state.TokenText(testToken)
)

// fakeCluster is a GCS in memory with nodes joined through cluster.Join,
// each serving a state API (state.Serve) of rows the test chooses.
type fakeCluster struct {
	t     *testing.T
	gcs   *gcs.Store
	clock *clockwork.FakeClock // the dashboard's; heartbeats are stamped with it
	nodes []*fakeNode
}

// fakeNode is one node: its heartbeat load and state API rows, which the
// test sets with set.
type fakeNode struct {
	c      *fakeCluster
	member *cluster.Member
	srv    *state.Server
	addr   string
	res    map[string]float64

	mu      sync.Mutex
	load    cluster.Load
	tasks   []state.Task
	actors  []state.Actor
	objects []state.Object
}

func newFakeCluster(t *testing.T) *fakeCluster {
	t.Helper()
	st, err := gcs.Open(gcs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := cluster.InitHead(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	return &fakeCluster{t: t, gcs: st, clock: clockwork.NewFakeClockAt(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))}
}

// join adds a node at addr (the address it would serve peers at) with
// resources res, and starts its state API.
func (c *fakeCluster) join(addr string, res map[string]float64) *fakeNode {
	c.t.Helper()
	n := &fakeNode{c: c, addr: addr, res: res, load: cluster.Load{At: c.clock.Now(), Free: res}}
	// The member's own clock never moves, so it beats only when it joins;
	// the test writes the heartbeats after that (beat).
	m, err := cluster.Join(c.t.Context(), cluster.Config{GCS: c.gcs, Addr: addr, Resources: res, Clock: clockwork.NewFakeClockAt(c.clock.Now()),
		Load: func() cluster.Load { n.mu.Lock(); defer n.mu.Unlock(); return n.load }})
	if err != nil {
		c.t.Fatal(err)
	}
	n.member = m
	n.srv, err = state.Serve("", state.Source{
		Tasks:   func() []state.Task { n.mu.Lock(); defer n.mu.Unlock(); return slices.Clone(n.tasks) },
		Actors:  func() []state.Actor { n.mu.Lock(); defer n.mu.Unlock(); return slices.Clone(n.actors) },
		Objects: func() []state.Object { n.mu.Lock(); defer n.mu.Unlock(); return slices.Clone(n.objects) },
	}, testTokenText)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { n.srv.Close() })
	if err := cluster.PublishEndpoint(c.t.Context(), c.gcs, m.ID(), cluster.EndpointState, n.srv.Addr()); err != nil {
		c.t.Fatal(err)
	}
	c.nodes = append(c.nodes, n)
	return n
}

func (n *fakeNode) id() string { return string(n.member.ID()) }

// set changes the node's rows and load under its lock.
func (n *fakeNode) set(f func(n *fakeNode)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f(n)
}

// beat writes the node's heartbeat with its current load, stamped a
// little before the dashboard's now: what its member would write.
func (n *fakeNode) beat() {
	n.c.t.Helper()
	n.mu.Lock()
	n.load.At = n.c.clock.Now().Add(-300 * time.Millisecond)
	b := n.load.Append(nil)
	n.mu.Unlock()
	if err := n.c.gcs.Put(n.c.t.Context(), gcs.Heartbeats, []byte(n.member.ID()), b); err != nil {
		n.c.t.Fatal(err)
	}
}

// leave records the node dead and stops its state API.
func (n *fakeNode) leave() {
	n.c.t.Helper()
	if err := n.member.Leave(n.c.t.Context()); err != nil {
		n.c.t.Fatal(err)
	}
	n.srv.Close()
}

// dash is a dashboard on the fake cluster's clock; step takes one more
// sample.
type dash struct {
	t       *testing.T
	srv     *Server
	clock   *clockwork.FakeClock
	every   time.Duration
	sampled chan struct{}
}

func (c *fakeCluster) serve(every time.Duration) *dash {
	c.t.Helper()
	d := &dash{t: c.t, clock: c.clock, every: every, sampled: make(chan struct{})}
	stop := make(chan struct{})
	srv, err := serve(Config{GCS: c.gcs, Token: testToken, Every: every, Clock: c.clock}, func() {
		select {
		case d.sampled <- struct{}{}:
		case <-stop:
		}
	})
	if err != nil {
		c.t.Fatal(err)
	}
	d.srv = srv
	c.t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			c.t.Error(err)
		}
	})
	c.t.Cleanup(func() { close(stop) }) // runs first: a sample in flight does not wait for the test
	d.wait()                            // the first sample, taken at once
	return d
}

func (d *dash) wait() {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.t.Context(), 30*time.Second)
	defer cancel()
	select {
	case <-d.sampled:
	case <-ctx.Done():
		d.t.Fatal("no sample within 30 s")
	}
}

// step moves the clock one period on and waits for the sample it starts.
func (d *dash) step() {
	d.t.Helper()
	d.clock.Advance(d.every)
	d.wait()
}

// get fetches path from the dashboard with the bearer token and decodes
// its JSON into v.
func (d *dash) get(path string, v any) {
	d.t.Helper()
	req, err := http.NewRequestWithContext(d.t.Context(), http.MethodGet, "http://"+d.srv.Addr()+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testTokenText)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		d.t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

func (d *dash) series() seriesJSON {
	var s seriesJSON
	d.get("/api/series", &s)
	return s
}

func (d *dash) lastSample() point {
	d.t.Helper()
	s := d.series()
	if len(s.Samples) == 0 {
		d.t.Fatal("no samples")
	}
	return s.Samples[len(s.Samples)-1]
}
