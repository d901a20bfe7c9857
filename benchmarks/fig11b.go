package benchmarks

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"manta/core"
	"manta/plots"
)

// Figure 11b of the paper: actors recovered after their nodes die, their
// state rebuilt by replaying the method calls they had run, from the
// start or from their last checkpoint. Actors on the worker node
// processes of a local cluster each run a long sequence of calls that
// add to a running sum; two worker nodes are killed (SIGKILL) one after
// the other during the job, each with a replacement standing by, and the
// calls run again are counted, without checkpoints and with one every
// few calls.

var fig11b = Experiment{
	ID:    "fig11b",
	Title: "Recovering from actor failures (checkpoint and replay)",
	Paper: "Figure 11b (§5.1)",
	State: Reproduced,
	Setup: "As in the paper, a driver keeps actors busy with method calls while nodes running them are killed; each actor lost with " +
		"its node is restarted on another and its state rebuilt by replaying the calls it had run, from its constructor without " +
		"checkpoints, or from its last checkpoint with one every C calls, and the calls run again are counted. Here the cluster is " +
		"`manta start` processes on loopback of one 2-core machine (the paper: an EC2 cluster with many more actors and nodes): a head, " +
		"3 worker nodes and the driver's node with no CPU; each worker node has 4 units of a resource naming its position, which only it " +
		"and its replacement have, so 12 actors, each holding one unit of its position's, live 4 to a worker node (see the notes for " +
		"why). Heartbeats every 100 ms and a 1 s node timeout, as in fig11a. Each actor runs M calls of a method " +
		"that sleeps the task's duration and adds its argument k (1..M, in order) to a running sum, the only state its checkpoints save; " +
		"the driver submits every call at once and checks every result (the sum of 1..k) and each actor's final sum. Actors restart up " +
		"to twice and calls in flight at a death are sent again (WithMaxTaskRetries(-1)). Each mode gets a fresh set of actors and runs " +
		"twice: failure-free, then with two worker nodes killed with SIGKILL at 1/3 and 2/3 of that failure-free time, their " +
		"replacements started once the actors are placed and before the job, so the killed nodes' actors restart on them at once (the " +
		"paper kills nodes of a longer run). Quick scale: M = 600 calls of 5 ms, C = 30; full " +
		"scale: M = 2000 calls of 10 ms, C = 100, 2 repetitions; M/C = 20 in both. Calls run again are counted from each call's own " +
		"record of its run (a file per worker process), and the driver's count of replayed calls beside it.",
	QuickEstimate: 30 * time.Second,
	FullEstimate:  4 * time.Minute,
	Run:           runFig11b,
}

// fig11bPosition is the resource of worker node position g (0 to
// Workers-1): the node started there has Slots units of it, and so has
// each replacement of that node. Each actor holds one unit of its
// position's, so it lives on its position's node and restarts on the
// replacement. Placement is then fixed: left to the global scheduler, a
// burst of actor creations can all go to the one node whose last report
// showed room, and those that do not fit wait there for an actor to end
// (see the notes).
func fig11bPosition(g int) string { return "fig11b_position" + strconv.Itoa(g) }

// fig11bRestarts is how often an actor may restart: once per kill, which
// it meets at most once in a job, and a spare.
const fig11bRestarts = 2

// fig11bCounter is an actor's state: the running sum of its Step calls'
// arguments, which is all its checkpoints save; the rest is its
// constructor's arguments, given again on a restart.
type fig11bCounter struct {
	actor   int
	sleepUS int
	logDir  string
	sum     int64
}

func (c *fig11bCounter) SaveCheckpoint() ([]byte, error) { return binary.AppendVarint(nil, c.sum), nil }

func (c *fig11bCounter) LoadCheckpoint(state []byte) error {
	sum, n := binary.Varint(state)
	if n <= 0 || n != len(state) {
		return errors.New("fig11b: not a counter's checkpoint")
	}
	c.sum = sum
	return nil
}

var (
	// fig11bActor is actor number actor, whose calls sleep sleepUS and
	// record their runs in logDir. Its options add its position's
	// resources and the mode's: replay, with or without checkpoints.
	fig11bActor = core.RegisterActor3("benchmarks.fig11bCounter", func(actor, sleepUS int, logDir string) (*fig11bCounter, error) {
		return &fig11bCounter{actor: actor, sleepUS: sleepUS, logDir: logDir}, nil
	}, core.WithMaxRestarts(fig11bRestarts), core.WithMaxTaskRetries(-1))
	// fig11bStep adds k to the sum after sleeping, and returns the sum.
	fig11bStep = core.RegisterMethod1(fig11bActor, "Step", func(c *fig11bCounter, k int) (int64, error) {
		began := time.Now()
		time.Sleep(time.Duration(c.sleepUS) * time.Microsecond)
		c.sum += int64(k)
		return c.sum, recordRun(c.logDir, c.actor, k, began)
	})
	fig11bSum = core.RegisterMethod0(fig11bActor, "Sum", func(c *fig11bCounter) (int64, error) { return c.sum, nil })
)

// fig11bParams sizes the experiment.
type fig11bParams struct {
	Manta string
	// Workers are the worker node processes, Slots the actors on each.
	Workers, Slots int
	// Calls is each actor's Step calls, Task each one's duration.
	Calls int
	Task  time.Duration
	// CheckpointEvery is C, the calls between checkpoints of the mode
	// that saves them.
	CheckpointEvery int
	// Reps is the repetitions of each mode's pair of jobs.
	Reps int
	// Bin is the throughput's time bin.
	Bin time.Duration
	Log io.Writer
}

// fig11bRun is one job: its time, the kills, and the calls run.
type fig11bRun struct {
	// CheckpointEvery is the calls between checkpoints, 0 for replay
	// without checkpoints.
	CheckpointEvery int        `json:"checkpoint_every"`
	Failure         bool       `json:"failure"`
	Seconds         float64    `json:"seconds"`
	Kills           []nodeKill `json:"kills,omitempty"`
	// Runs counts every recorded run of a call; Reexecuted those of a
	// call that had run before: replayed on a restarted actor, or sent
	// again after running on the killed node without its reply reaching
	// the driver.
	Runs       int `json:"runs"`
	Reexecuted int `json:"reexecuted"`
	// Replayed and Checkpoints are the driver's counts (core.Stats)
	// during the job: the calls it replayed on its restarted actors, and
	// the checkpoints it learned of.
	Replayed    int `json:"calls_replayed"`
	Checkpoints int `json:"checkpoints"`
	// Killed is the actors on the killed nodes, and RunBeforeKills the
	// calls they had finished when their node was killed: what a replay
	// from the constructor runs again.
	Killed         int `json:"actors_killed"`
	RunBeforeKills int `json:"calls_run_by_killed_actors"`
	// MostReexecuted is the most calls of one actor run again.
	MostReexecuted int `json:"most_reexecuted_by_one_actor"`
	// The calls that finished in each bin, first runs and runs again.
	runTimeline
	// PerNode is the runs each node process did.
	PerNode map[int]int `json:"runs_per_node"`
	// Verified is the actors whose every result and final sum were
	// checked.
	Verified int `json:"actors_verified"`
}

type fig11bData struct {
	Workers         int         `json:"worker_nodes"`
	Slots           int         `json:"actors_per_node"`
	Actors          int         `json:"actors"`
	Calls           int         `json:"calls_per_actor"`
	TaskMS          float64     `json:"task_ms"`
	CheckpointEvery int         `json:"checkpoint_every"`
	Runs            []fig11bRun `json:"runs"`
}

func runFig11b(ctx context.Context, env *Env) (*Outcome, error) {
	manta, err := mantaBinary(env)
	if err != nil {
		return nil, err
	}
	p := fig11bParams{Manta: manta, Workers: 3, Slots: 4, Calls: 600, Task: 5 * time.Millisecond, CheckpointEvery: 30,
		Reps: 1, Bin: 250 * time.Millisecond}
	if env.Scale == Full {
		p.Calls, p.Task, p.CheckpointEvery, p.Reps, p.Bin = 2000, 10*time.Millisecond, 100, 2, 500*time.Millisecond
	}
	d, err := fig11bExperiment(ctx, env, p)
	if err != nil {
		return nil, err
	}
	return fig11bOutcome(d), nil
}

// fig11bMode names a mode by its calls between checkpoints (0: none).
func fig11bMode(every int) string {
	if every == 0 {
		return "replay without checkpoints"
	}
	return fmt.Sprintf("replay from a checkpoint every %d calls", every)
}

// fig11bExperiment starts the cluster and a driver, and runs each mode's
// pair of jobs (failure-free, then with two kills) Reps times.
func fig11bExperiment(ctx context.Context, env *Env, p fig11bParams) (fig11bData, error) {
	d := fig11bData{Workers: p.Workers, Slots: p.Slots, Actors: p.Workers * p.Slots, Calls: p.Calls,
		TaskMS: float64(p.Task) / float64(time.Millisecond), CheckpointEvery: p.CheckpointEvery}
	slots := float64(p.Slots)
	var workers []map[string]float64
	for g := range p.Workers {
		workers = append(workers, map[string]float64{"CPU": slots, fig11bPosition(g): slots})
	}
	nodes := append([]map[string]float64{{"CPU": 1}}, workers...)
	c, err := startLocalCluster(ctx, localClusterConfig{Manta: p.Manta, Nodes: nodes, NodeTimeout: time.Second, StoreBytes: 64 << 20, Log: p.Log})
	if err != nil {
		return d, err
	}
	defer c.Stop()
	w := newWorkerNodes(c, workers)
	driver, err := c.Driver(core.Config{Resources: map[string]float64{"CPU": 0}})
	if err != nil {
		return d, err
	}
	defer driver.Shutdown()
	modes := []int{0, p.CheckpointEvery}
	total := float64(len(modes) * p.Reps * 2)
	done := 0.0
	for rep := range p.Reps {
		for _, every := range modes {
			env.Progress(done/total, "%s, failure-free, run %d of %d", fig11bMode(every), rep+1, p.Reps)
			free, err := fig11bJob(ctx, driver, w, p, every, nil)
			if err != nil {
				return d, fmt.Errorf("fig11b: %s, failure-free: %w", fig11bMode(every), err)
			}
			d.Runs = append(d.Runs, free)
			done++
			third := time.Duration(free.Seconds / 3 * float64(time.Second))
			env.Progress(done/total, "%s, nodes killed at %.1f s and %.1f s, run %d of %d", fig11bMode(every), third.Seconds(), 2*third.Seconds(), rep+1, p.Reps)
			failed, err := fig11bJob(ctx, driver, w, p, every, []time.Duration{third, 2 * third})
			if err != nil {
				return d, fmt.Errorf("fig11b: %s, two nodes killed: %w", fig11bMode(every), err)
			}
			d.Runs = append(d.Runs, failed)
			done++
		}
	}
	if err := driver.Shutdown(); err != nil {
		return d, err
	}
	return d, c.Stop()
}

// fig11bJob creates a fresh set of actors in the mode (checkpoints every
// `every` calls, none if 0), runs every actor's calls with a worker node
// killed at each of killAt (its replacement standing by), checks every
// result and each actor's final sum, kills the actors (freeing their
// resources for the next job) and reads the calls' records.
func fig11bJob(ctx context.Context, driver *core.Cluster, w *workerNodes, p fig11bParams, every int, killAt []time.Duration) (fig11bRun, error) {
	run := fig11bRun{CheckpointEvery: every, Failure: len(killAt) > 0}
	logDir, err := os.MkdirTemp(w.c.Dir, "fig11b-runs-")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(logDir)
	// A job that hangs (an actor never restarted) fails rather than
	// waiting for the runner's timeout: it gets 10 times its calls' time.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Duration(p.Calls)*p.Task+time.Minute)
	defer cancel()
	mode := core.WithReplay()
	if every > 0 {
		mode = core.WithCheckpointEvery(every)
	}
	n := p.Workers * p.Slots
	actors := make([]core.Actor[fig11bCounter], n)
	for i := range actors {
		at := core.WithActorResources(map[string]float64{"CPU": 1, fig11bPosition(i / p.Slots): 1})
		actors[i] = fig11bActor.Options(at, mode).Remote(i, int(p.Task/time.Microsecond), logDir)
	}
	// On an error, the actors are killed here; after a checked job, below.
	defer func() {
		for _, a := range actors {
			a.Kill()
		}
	}()
	for i, a := range actors {
		if err := a.Ready(ctx); err != nil {
			return run, fmt.Errorf("actor %d: %w", i, err)
		}
	}
	// Once the actors are placed, so that none goes to a replacement.
	if err := w.standBy(ctx, len(killAt)); err != nil {
		return run, err
	}

	before := driver.Stats()
	began := time.Now()
	killer := w.killAt(ctx, began, killAt)
	defer killer.finish()
	// Call k of every actor before call k+1 of any, so all start at once;
	// each actor runs its calls in submission order.
	results := make([][]core.Ref[int64], n)
	for k := 1; k <= p.Calls; k++ {
		for i, a := range actors {
			results[i] = append(results[i], fig11bStep.Remote(a, k))
		}
	}
	defer func() {
		for _, rs := range results {
			core.ReleaseAll(rs)
		}
	}()
	// Step k returns the sum of 1..k, whatever restarts and replays came
	// between.
	for i, rs := range results {
		for j, r := range rs {
			k := int64(j + 1)
			v, err := r.Get(ctx)
			if err != nil {
				return run, fmt.Errorf("actor %d, call %d, after %v: %w", i, k, time.Since(began).Round(time.Millisecond), err)
			}
			if want := k * (k + 1) / 2; v != want {
				return run, fmt.Errorf("actor %d: call %d returned %d, want %d", i, k, v, want)
			}
		}
	}
	run.Seconds = time.Since(began).Seconds()
	kills, err := killer.finish()
	if err != nil {
		return run, err
	}
	run.Kills = kills
	// An actor killed after its last call restarts, and replays, when
	// the driver asks it for its sum: the counts include that.
	want := int64(p.Calls) * int64(p.Calls+1) / 2
	for i, a := range actors {
		sum, err := fig11bSum.Remote(a).Get(ctx)
		if err != nil {
			return run, fmt.Errorf("actor %d's final sum: %w", i, err)
		}
		if sum != want {
			return run, fmt.Errorf("actor %d's final sum is %d, want %d", i, sum, want)
		}
		run.Verified++
	}
	after := driver.Stats()
	run.Replayed = after.CallsReplayed - before.CallsReplayed
	run.Checkpoints = after.Checkpoints - before.Checkpoints
	for i, a := range actors {
		if err := a.Kill(); err != nil {
			return run, fmt.Errorf("killing actor %d after the job: %w", i, err)
		}
	}
	actors = nil
	return run, run.read(logDir, began, p)
}

// read fills the run's counts from the records in logDir.
func (r *fig11bRun) read(logDir string, began time.Time, p fig11bParams) error {
	records, err := readRunRecords(logDir, began)
	if err != nil {
		return err
	}
	timeline, again, distinct := timelineOf(records, r.Seconds, p.Bin)
	r.runTimeline = timeline
	if want := p.Workers * p.Slots * p.Calls; distinct != want {
		return fmt.Errorf("records of %d distinct calls, want %d", distinct, want)
	}
	r.PerNode = map[int]int{}
	reexecuted := map[int]int{}
	for i, e := range records {
		r.Runs++
		r.PerNode[e.node]++
		if again[i] {
			r.Reexecuted++
			reexecuted[e.item]++
		}
	}
	for _, n := range reexecuted {
		r.MostReexecuted = max(r.MostReexecuted, n)
	}
	for _, k := range r.Kills {
		actors, calls := runOnNode(records, k.Node, time.Duration(k.At*float64(time.Second)))
		r.Killed += actors
		r.RunBeforeKills += calls
	}
	return nil
}

// runOnNode finds the actors whose last run before at was on node, the
// ones killed with it at at, and counts the distinct calls they had run
// by then.
func runOnNode(records []runRecord, node int, at time.Duration) (actors, calls int) {
	type call struct{ actor, k int }
	last := map[int]int{} // actor → node of its last run
	ran := map[call]bool{}
	for _, e := range records {
		if e.end > at {
			break
		}
		last[e.item] = e.node
		ran[call{e.item, e.step}] = true
	}
	for _, n := range last {
		if n == node {
			actors++
		}
	}
	for c := range ran {
		if last[c.actor] == node {
			calls++
		}
	}
	return actors, calls
}

// fig11bOutcome sets the modes side by side: the calls run again, the job
// times, and the throughput over time.
func fig11bOutcome(d fig11bData) *Outcome {
	out := &Outcome{Data: d}
	type pair struct{ free, fail []fig11bRun }
	byMode := map[int]*pair{}
	modes := []int{}
	for _, r := range d.Runs {
		if byMode[r.CheckpointEvery] == nil {
			byMode[r.CheckpointEvery] = &pair{}
			modes = append(modes, r.CheckpointEvery)
		}
		if r.Failure {
			byMode[r.CheckpointEvery].fail = append(byMode[r.CheckpointEvery].fail, r)
		} else {
			byMode[r.CheckpointEvery].free = append(byMode[r.CheckpointEvery].free, r)
		}
	}
	stat := func(rs []fig11bRun, of func(fig11bRun) float64) (mean, sd float64) {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, of(r))
		}
		return meanStd(xs)
	}
	reexecuted := func(r fig11bRun) float64 { return float64(r.Reexecuted) }
	none, with := byMode[0], byMode[d.CheckpointEvery]
	scale := fmt.Sprintf("%d actors on %d worker node processes of one 2-core machine, %d calls of %.0f ms each, two worker nodes "+
		"killed (%d actors): the paper's count is of a far larger run", d.Actors, d.Workers, d.Calls, d.TaskMS, 2*d.Slots)
	if none != nil && with != nil && len(none.fail) > 0 && len(with.fail) > 0 {
		nm, ns := stat(none.fail, reexecuted)
		wm, ws := stat(with.fail, reexecuted)
		paperRatio := 10000.0 / 500
		ratio := Metric{Name: "calls re-executed without checkpoints ÷ with", Value: nm / wm, N: min(len(none.fail), len(with.fail)), Unit: "x",
			Paper: &paperRatio, Headline: true,
			Source: "the paper's 10k re-executions without checkpointing ÷ 500 with (claims fig11b.reexec_without_checkpoints and " +
				"fig11b.reexec_with_checkpoints)",
			Note: fmt.Sprintf("the ratio of the means; a killed actor replays every call it had run without checkpoints, about M/3 or "+
				"2M/3 at kills a third and two thirds into the job, and fewer than C = %d with, about C/2, so the ratio is near M/C = %d "+
				"(%d/%d); the paper's reflects its own checkpoint interval and run", d.CheckpointEvery, d.Calls/d.CheckpointEvery, d.Calls, d.CheckpointEvery)}
		if wm == 0 {
			ratio.Value, ratio.Note = math.NaN(), "no call was re-executed with checkpoints: "+ratio.Note
		}
		out.Metrics = append(out.Metrics, ratio,
			Metric{Name: fmt.Sprintf("calls re-executed with a checkpoint every %d calls", d.CheckpointEvery), Value: wm, Err: ws, N: len(with.fail),
				Unit: "methods", Claim: "fig11b.reexec_with_checkpoints", Headline: true, Note: scale},
			Metric{Name: "calls re-executed without checkpoints", Value: nm, Err: ns, N: len(none.fail),
				Unit: "methods", Claim: "fig11b.reexec_without_checkpoints", Headline: true, Note: scale},
		)
	}
	barReexec := plots.Series{Label: "calls re-executed (from the calls' records)"}
	barReplayed := plots.Series{Label: "calls replayed (the driver's count)"}
	barBefore := plots.Series{Label: "calls the killed actors had run at the kills"}
	var categories []string
	for _, every := range modes {
		m := byMode[every]
		if len(m.free) == 0 || len(m.fail) == 0 {
			continue
		}
		label := fig11bMode(every)
		categories = append(categories, label)
		metric := func(name string, rs []fig11bRun, of func(fig11bRun) float64, unit, note string) Metric {
			mean, sd := stat(rs, of)
			return Metric{Name: name + ", " + label, Value: mean, Err: sd, N: len(rs), Unit: unit, Note: note}
		}
		seconds := func(r fig11bRun) float64 { return r.Seconds }
		rm, rs := stat(m.fail, reexecuted)
		pm, ps := stat(m.fail, func(r fig11bRun) float64 { return float64(r.Replayed) })
		bm, bs := stat(m.fail, func(r fig11bRun) float64 { return float64(r.RunBeforeKills) })
		barReexec.Y, barReexec.Err = append(barReexec.Y, rm), append(barReexec.Err, rs)
		barReplayed.Y, barReplayed.Err = append(barReplayed.Y, pm), append(barReplayed.Err, ps)
		barBefore.Y, barBefore.Err = append(barBefore.Y, bm), append(barBefore.Err, bs)
		var ratios []float64
		for i := range min(len(m.free), len(m.fail)) {
			ratios = append(ratios, m.fail[i].Seconds/m.free[i].Seconds)
		}
		ratioMean, ratioSD := meanStd(ratios)
		bound := "without checkpoints a restarted actor replays every call it had run: about this many"
		if every > 0 {
			bound = fmt.Sprintf("with checkpoints a restarted actor replays only the calls since its last checkpoint: fewer than C = %d "+
				"each (%d for the %d killed actors) once the driver has learned of that checkpoint", every, (every-1)*2*d.Slots, 2*d.Slots)
		}
		out.Metrics = append(out.Metrics,
			metric("calls replayed (the driver's Stats().CallsReplayed)", m.fail, func(r fig11bRun) float64 { return float64(r.Replayed) }, "calls",
				"the replays alone; the re-executed count adds calls that ran on the killed node but whose reply was lost, sent again"),
			metric("calls the killed nodes' actors had run when killed", m.fail, func(r fig11bRun) float64 { return float64(r.RunBeforeKills) }, "calls", bound),
			metric("most calls re-executed by one actor", m.fail, func(r fig11bRun) float64 { return float64(r.MostReexecuted) }, "calls", ""),
			metric("actors on the killed nodes", m.fail, func(r fig11bRun) float64 { return float64(r.Killed) }, "actors",
				"the two kills take the actors of two different positions"),
			metric("failure-free job time", m.free, seconds, "s",
				fmt.Sprintf("%d actors × %d calls of %.0f ms: %.1f s of calls per actor", d.Actors, d.Calls, d.TaskMS, float64(d.Calls)*d.TaskMS/1e3)),
			metric("job time with two worker nodes killed", m.fail, seconds, "s", ""),
			Metric{Name: "job time with two worker nodes killed ÷ failure-free, " + label, Value: ratioMean, Err: ratioSD, N: len(ratios), Unit: "x"},
		)
		if every > 0 {
			out.Metrics = append(out.Metrics, metric("checkpoints the driver learned of, failure-free", m.free,
				func(r fig11bRun) float64 { return float64(r.Checkpoints) }, "checkpoints",
				fmt.Sprintf("one every %d calls of each actor: %d expected", every, d.Actors*(d.Calls/every))))
		}
		out.Figures = append(out.Figures, fig11bTimeline(d, m.free[0], m.fail[0], label, len(m.fail)))
	}
	if none != nil && with != nil && len(none.free) > 0 && len(with.free) > 0 {
		var overhead []float64
		for i := range min(len(none.free), len(with.free)) {
			overhead = append(overhead, with.free[i].Seconds/none.free[i].Seconds)
		}
		overheadMean, overheadSD := meanStd(overhead)
		out.Metrics = append(out.Metrics, Metric{Name: "failure-free job time with checkpoints ÷ without", Value: overheadMean, Err: overheadSD,
			N: len(overhead), Unit: "x", Note: "the cost of saving a checkpoint every C calls, and of the driver keeping fewer calls"})
	}
	out.Metrics = append(out.Metrics, Metric{Name: "task duration", Value: d.TaskMS, Unit: "ms",
		Note: "each call's sleep; the paper does not give its calls' duration in the text"})
	if len(categories) > 0 {
		out.Figures = append(out.Figures, plots.Figure{
			Name: "fig11b_reexecuted", Kind: plots.KindBars, Categories: categories, Series: []plots.Series{barReexec, barReplayed, barBefore},
			Title:  "Figure 11b: calls re-executed after two worker nodes were killed",
			YLabel: "calls",
			Caption: fmt.Sprintf("%d actors, %d calls of %.0f ms each, on %d worker node processes of one 2-core machine; two worker nodes "+
				"killed at 1/3 and 2/3 of the failure-free time, a replacement standing by for each. Means over %d runs of each mode.",
				d.Actors, d.Calls, d.TaskMS, d.Workers, len(d.Runs)/4),
		})
	}
	out.Notes = append(out.Notes,
		"The driver owns the actors: it keeps each call it sent an actor that replays until a checkpoint covers it, and learns of "+
			"checkpoints from the calls' replies. When a worker node dies, the driver sees its connection drop with calls in flight "+
			"and restarts the node's actors at once on the replacement (the only node of their position), without waiting for the "+
			"head's 1 s timeout; each restarted actor loads its last checkpoint, or runs its constructor if it has none, then runs "+
			"again in order the calls since, their results dropped, and the calls that were queued or running there are sent again "+
			"after them. Every result and each actor's final sum are checked, so a replay that lost or doubled a call fails the run.",
		"A call re-executed is a record of a call that had a record before: a replay, or a call that ran on the killed node but whose "+
			"reply was lost, sent again. The driver's count of replayed calls (Stats().CallsReplayed) is beside it. The calls the killed "+
			"actors had run at the kills are counted from the same records: without checkpoints a replay runs about that many again; "+
			"with a checkpoint every C calls, fewer than C per actor. Throughput counts each call's own record of when it finished: "+
			"without checkpoints the restarted actors replay every call they had run before doing new ones, so the job ends later by "+
			"about the replay of the second kill's actors.",
		"Each actor is tied to a worker node position (a resource its node and that node's replacement have) and the replacements "+
			"are started, and seen by the driver, before the job, rather than left to manta's global scheduler with a replacement "+
			"started at the kill as in fig11a. When this experiment was built, a restarting actor that found no node with room was sent "+
			"to a node whose totals fit but whose room live actors held, and waited there for good (the job hung), and a burst of actor "+
			"creations all went to the one node whose last report showed room. Both are fixed since (global.Scheduler.PlaceActor: an "+
			"actor goes only where it has room, and waits for room rather than on a full node); the setup is kept so that runs compare.",
		fmt.Sprintf("Scale: every process (head, 3 worker nodes, the two replacements, the driver and the %d actors' processes) shares "+
			"one 2-core machine and talks over loopback; the calls sleep, so the cores are not the bound, but the driver's sends, "+
			"replies and heartbeats all share them. The paper runs many more actors on many more nodes for longer, so its counts "+
			"(10k re-executed without checkpoints, 500 with) are of a different size; the ratio between them is what compares, and it "+
			"depends on the checkpoint interval against the calls run before the kills (M/C = %d here).", d.Actors, d.Calls/d.CheckpointEvery),
	)
	return out
}

// fig11bTimeline is the throughput over time of a mode's failure-free run
// and its run with the kills, first runs and runs again apart, with the
// kills marked (the replacements joined before the job).
func fig11bTimeline(d fig11bData, free, fail fig11bRun, label string, reps int) plots.Figure {
	series, top := timelineSeries(&free.runTimeline, &fail.runTimeline, "calls", "the kills", "re-executed")
	for _, k := range fail.Kills {
		series = append(series, timeMarker(fmt.Sprintf("node %d killed", k.Node), k.At, top))
	}
	name := "fig11b_no_checkpoints"
	if fail.CheckpointEvery > 0 {
		name = "fig11b_checkpoints"
	}
	return plots.Figure{
		Name: name, Kind: plots.KindLines, Legend: "top-right",
		Title:  "Figure 11b: throughput of actor calls with two worker nodes killed, " + label,
		XLabel: "time since the job started (s)", YLabel: "calls finished per second",
		Series: series,
		Caption: fmt.Sprintf("%d actors, %d calls of %.0f ms each, %s; calls finished per %.2f s bin, from each call's own record. "+
			"Failure-free: %.1f s; with the kills: %.1f s, %d calls re-executed.%s", d.Actors, d.Calls, d.TaskMS, label, fail.BinSeconds,
			free.Seconds, fail.Seconds, fail.Reexecuted, firstOfPairs(reps)),
	}
}
