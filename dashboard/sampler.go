package dashboard

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/cluster"
	"manta/gcs"
	"manta/state"
)

// window is how much history the charts keep.
const window = 5 * time.Minute

// maxErrors is how many of the last errors the page lists.
const maxErrors = 50

// sampleTimeout bounds one sample's wait for the GCS and the nodes.
const sampleTimeout = 10 * time.Second

// point is one sample of the charts.
type point struct {
	T      int64 `json:"t"` // Unix milliseconds
	Alive  int   `json:"nodes_alive"`
	Silent int   `json:"nodes_silent"` // alive nodes whose state API did not answer
	// Running and Queued are summed over the alive nodes' last heartbeats.
	Running int `json:"running"`
	Queued  int `json:"queued"`
	// Done counts the tasks seen to finish since the previous sample;
	// Rate is Done per second, null at the first sample.
	Done int      `json:"completed"`
	Rate *float64 `json:"completed_per_s"`
	// LatP50 and LatMax are the median and longest observed time in the
	// cluster of the LatN finished tasks that were seen unfinished; null
	// when there were none.
	LatP50 *float64 `json:"latency_p50_s"`
	LatMax *float64 `json:"latency_max_s"`
	LatN   int      `json:"latency_n"`
}

// seriesJSON is what /api/series serves.
type seriesJSON struct {
	Every   float64 `json:"every_s"`
	Window  float64 `json:"window_s"`
	Samples []point `json:"samples"`
	// Problems is what went wrong at the last sample: the GCS could not
	// be read, or nodes did not answer.
	Problems []string `json:"problems"`
}

// errorJSON is one of the last errors: a failed task or a dead actor.
type errorJSON struct {
	Seen    int64  `json:"seen"` // Unix milliseconds when the dashboard first saw it
	Kind    string `json:"kind"` // "task" or "actor"
	ID      string `json:"id"`
	Name    string `json:"name"` // the task's function, the actor's class
	Node    string `json:"node_id"`
	Message string `json:"message"`
}

// tracked is what the sampler remembers of a task between samples.
type tracked struct {
	since time.Time // the sample that first listed it unfinished; zero if it was first listed finished
	done  bool      // every row of it was FINISHED or FAILED
	nodes []string  // the nodes that listed it
}

// sampler lists the cluster every period and keeps the charts' samples
// and the last errors.
//
// Throughput: a node's heartbeat carries its queued and running tasks but
// no count of finished ones, and a node forgets a finished task once its
// results are dropped, so the sampler lists every node's tasks and counts
// those it saw unfinished that are now finished or gone, and those that
// appear already finished. What starts and is forgotten between two
// samples is missed: the rate is a lower bound.
type sampler struct {
	api    gcs.API
	client *state.Client
	clock  clockwork.Clock
	every  time.Duration
	after  func()
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// The sampling goroutine's own.
	prevAt       time.Time
	prev         map[string]tracked
	prevAnswered map[string]bool
	errKeys      map[string]string // reported errors still listed → their node

	mu       sync.Mutex
	points   []point
	errors   []errorJSON // oldest first
	problems []string
}

func newSampler(api gcs.API, client *state.Client, clock clockwork.Clock, every time.Duration, after func()) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	sp := &sampler{api: api, client: client, clock: clock, every: every, after: after, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), errKeys: map[string]string{}}
	t := clock.NewTicker(every)
	go sp.run(t)
	return sp
}

func (sp *sampler) run(t clockwork.Ticker) {
	defer close(sp.done)
	defer t.Stop()
	for {
		sp.sample()
		if sp.ctx.Err() != nil {
			return
		}
		if sp.after != nil {
			sp.after()
		}
		select {
		case <-sp.ctx.Done():
			return
		case <-t.Chan():
		}
	}
}

func (sp *sampler) close() {
	sp.cancel()
	<-sp.done
}

// answer is one node's rows at a sample.
type answer struct {
	node, addr string
	tasks      []state.Task
	dead       []state.Actor
	err        error
}

func (sp *sampler) sample() {
	now := sp.clock.Now()
	ctx, cancel := context.WithTimeout(sp.ctx, sampleTimeout)
	defer cancel()
	nodes, err := cluster.List(ctx, sp.api)
	if err != nil {
		sp.mu.Lock()
		sp.problems = []string{fmt.Sprintf("the GCS: %v", err)}
		sp.mu.Unlock()
		return
	}
	p := point{T: now.UnixMilli()}
	var problems []string
	alive := map[string]bool{}
	var answers []answer
	for _, n := range nodes {
		if n.State != gcs.NodeAlive {
			continue
		}
		p.Alive++
		alive[string(n.ID)] = true
		p.Running += n.Load.Running
		p.Queued += n.Load.Queued
		addr, ok, err := cluster.Endpoint(ctx, sp.api, n.ID, cluster.EndpointState)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
			p.Silent++
		case !ok:
			problems = append(problems, fmt.Sprintf("node %s serves no state API", n.ID))
			p.Silent++
		default:
			answers = append(answers, answer{node: string(n.ID), addr: addr})
		}
	}
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() { sp.ask(ctx, &answers[i]) })
	}
	wg.Wait()

	answered := map[string]bool{}
	cur := map[string]tracked{}
	for _, a := range answers {
		if a.err != nil {
			problems = append(problems, fmt.Sprintf("node %s at %s: %v", a.node, a.addr, a.err))
			p.Silent++
			continue
		}
		answered[a.node] = true
		for _, t := range a.tasks {
			c, listed := cur[t.ID]
			finished := t.State == "FINISHED" || t.State == "FAILED"
			c.done = finished && (c.done || !listed)
			c.nodes = append(c.nodes, a.node)
			cur[t.ID] = c
		}
	}
	var latencies []float64
	for id, c := range cur {
		pr, had := sp.prev[id]
		c.since = pr.since
		if c.since.IsZero() && !c.done {
			c.since = now
		}
		cur[id] = c
		// A task listed for the first time counts only if its nodes
		// answered last time: otherwise it may have been there already.
		if c.done && (had && !pr.done || !had && allIn(c.nodes, sp.prevAnswered)) {
			p.Done++
			if !pr.since.IsZero() {
				latencies = append(latencies, now.Sub(pr.since).Seconds())
			}
		}
	}
	for id, pr := range sp.prev {
		if _, listed := cur[id]; listed || pr.done || !allIn(pr.nodes, answered) {
			continue
		}
		p.Done++ // finished and forgotten since the last sample
		latencies = append(latencies, now.Sub(pr.since).Seconds())
	}
	if !sp.prevAt.IsZero() && now.After(sp.prevAt) {
		rate := float64(p.Done) / now.Sub(sp.prevAt).Seconds()
		p.Rate = &rate
	}
	if len(latencies) > 0 {
		slices.Sort(latencies)
		n := len(latencies)
		median := (latencies[(n-1)/2] + latencies[n/2]) / 2
		p.LatP50, p.LatMax, p.LatN = &median, &latencies[n-1], n
	}
	found := sp.newErrors(now, answers, answered, alive)
	sp.prev, sp.prevAnswered, sp.prevAt = cur, answered, now

	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.points = append(sp.points, p)
	cutoff := now.Add(-window).UnixMilli()
	i := 0
	for i < len(sp.points) && sp.points[i].T < cutoff {
		i++
	}
	sp.points = slices.Delete(sp.points, 0, i)
	sp.errors = append(sp.errors, found...)
	if extra := len(sp.errors) - maxErrors; extra > 0 {
		sp.errors = slices.Delete(sp.errors, 0, extra)
	}
	sp.problems = problems
}

// ask lists a node's tasks and its dead actors.
func (sp *sampler) ask(ctx context.Context, a *answer) {
	addrs := []string{a.addr}
	tasks, err := state.List[state.Task](ctx, sp.client, addrs, state.KindTasks, state.Query{})
	if err != nil {
		a.err = err
		return
	}
	dead, err := state.List[state.Actor](ctx, sp.client, addrs, state.KindActors,
		state.Query{Filters: []state.Filter{{Key: "state", Value: "DEAD"}}})
	if err != nil {
		a.err = err
		return
	}
	a.tasks, a.dead = tasks.Items, dead.Items
}

// newErrors returns the failed tasks and dead actors listed now that were
// not reported before. An error stays reported while its node still lists
// it or does not answer; it is forgotten when its node answers without it
// or is no longer alive.
func (sp *sampler) newErrors(now time.Time, answers []answer, answered, alive map[string]bool) []errorJSON {
	var found []errorJSON
	listed := map[string]bool{}
	report := func(key, node string, e errorJSON) {
		listed[key] = true
		if _, old := sp.errKeys[key]; old {
			return
		}
		sp.errKeys[key] = node
		e.Seen, e.Node = now.UnixMilli(), node
		found = append(found, e)
	}
	for _, a := range answers {
		if a.err != nil {
			continue
		}
		for _, t := range a.tasks {
			if t.State != "FAILED" {
				continue
			}
			msg := t.Error
			if msg == "" {
				msg = "(no message)"
			}
			report("task/"+a.node+"/"+t.ID+"/"+strconv.Itoa(t.Attempt), a.node, errorJSON{Kind: "task", ID: t.ID, Name: t.Name, Message: msg})
		}
		for _, ac := range a.dead {
			msg := ac.Error
			if msg == "" {
				msg = "(no cause given)"
			}
			report("actor/"+a.node+"/"+ac.ID, a.node, errorJSON{Kind: "actor", ID: ac.ID, Name: ac.Class, Message: msg})
		}
	}
	for key, node := range sp.errKeys {
		if !alive[node] || answered[node] && !listed[key] {
			delete(sp.errKeys, key)
		}
	}
	return found
}

func allIn(nodes []string, set map[string]bool) bool {
	for _, n := range nodes {
		if !set[n] {
			return false
		}
	}
	return true
}

// series returns the samples of the last window and the last sample's
// problems.
func (sp *sampler) series() seriesJSON {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return seriesJSON{Every: sp.every.Seconds(), Window: window.Seconds(),
		Samples: append([]point{}, sp.points...), Problems: append([]string{}, sp.problems...)}
}

// lastErrors returns the last errors, newest first.
func (sp *sampler) lastErrors() map[string]any {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	out := append([]errorJSON{}, sp.errors...)
	slices.Reverse(out)
	return map[string]any{"errors": out}
}
