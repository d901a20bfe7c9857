package benchmarks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"manta/core"
	"manta/plots"
)

// The harness of the recovery experiments (Figures 11a and 11b): worker
// nodes of a local cluster killed with SIGKILL during a job, each
// replaced at once or by a node standing by, and each task's own record
// of when it finished, counted as first runs and runs again over time.

// workerNodes are a local cluster's worker nodes, which of them are
// alive, and the replacements standing by.
type workerNodes struct {
	c         *localCluster
	resources map[int]map[string]float64 // by node index
	live      []int                      // indexes of the live worker nodes, oldest first
	standby   map[int]standbyNode        // by the live node each replaces
}

// standbyNode is a replacement started before its node is killed.
type standbyNode struct {
	node   int
	joined time.Time
}

// newWorkerNodes takes the nodes of c after the head as its worker nodes;
// resources[i] are node i+1's.
func newWorkerNodes(c *localCluster, resources []map[string]float64) *workerNodes {
	w := &workerNodes{c: c, resources: map[int]map[string]float64{}, standby: map[int]standbyNode{}}
	for i, res := range resources {
		w.resources[i+1] = res
		w.live = append(w.live, i+1)
	}
	return w
}

// nodeKill is one worker node killed and its replacement, in seconds from
// its job's start.
type nodeKill struct {
	Node        int     `json:"node"`
	At          float64 `json:"killed_at_s"`
	Replacement int     `json:"replacement"`
	// Joined is when the replacement joined: before the job (< 0) for
	// one that stood by.
	Joined float64 `json:"replacement_joined_at_s"`
}

// replacement starts a node with the resources of worker node victim and
// waits for it to join (within 30 s and ctx).
func (w *workerNodes) replacement(ctx context.Context, victim int) (int, error) {
	i, err := w.c.addNode(w.resources[victim])
	if err != nil {
		return 0, err
	}
	w.resources[i] = w.resources[victim]
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.c.procs[i].waitJoined(ctx); err != nil {
		return 0, fmt.Errorf("the replacement of node %d: %w", victim, err)
	}
	return i, nil
}

// standBy starts a replacement for each of the next n worker nodes to be
// killed (the oldest live ones), and waits until each has joined and the
// driver can place work on it: what restarts when such a node is killed
// finds room at once.
func (w *workerNodes) standBy(ctx context.Context, n int) error {
	for _, victim := range w.live[:n] {
		if _, ok := w.standby[victim]; ok {
			continue
		}
		i, err := w.replacement(ctx, victim)
		if err != nil {
			return err
		}
		if err := awaitPlaceable(ctx, i); err != nil {
			return fmt.Errorf("the replacement of node %d: %w", victim, err)
		}
		w.standby[victim] = standbyNode{node: i, joined: time.Now()}
	}
	return nil
}

// killAndReplace kills the oldest live worker node with SIGKILL. Its
// replacement is the one standing by for it, else one started once it is
// dead, which it waits for to join.
func (w *workerNodes) killAndReplace(ctx context.Context, began time.Time) (nodeKill, error) {
	k := nodeKill{Node: w.live[0]}
	victim := w.c.procs[k.Node]
	k.At = time.Since(began).Seconds()
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return k, err
	}
	<-victim.exited
	w.live = w.live[1:]
	if s, ok := w.standby[k.Node]; ok {
		delete(w.standby, k.Node)
		k.Replacement, k.Joined = s.node, s.joined.Sub(began).Seconds()
	} else {
		i, err := w.replacement(ctx, k.Node)
		if err != nil {
			return k, err
		}
		k.Replacement, k.Joined = i, time.Since(began).Seconds()
	}
	w.live = append(w.live, k.Replacement)
	return k, nil
}

// nodeProbe is an empty task that awaitPlaceable pins to one node.
var nodeProbe = core.Register0("benchmarks.nodeProbe", func() (int, error) { return benchNode(), nil })

// awaitPlaceable waits until the driver's view of the cluster has node i:
// until a task only node i can run is no longer infeasible.
func awaitPlaceable(ctx context.Context, i int) error {
	probe := nodeProbe.Options(core.WithResources(onNode(i, 0)))
	for {
		_, err := probe.Remote().Get(ctx)
		if !errors.Is(err, core.ErrInfeasible) {
			return err
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// nodeKiller kills and replaces worker nodes during a job, from a
// goroutine of its own.
type nodeKiller struct {
	stop     chan struct{}
	done     chan struct{}
	finished bool
	kills    []nodeKill
	err      error
}

// killAt kills and replaces a worker node (killAndReplace) at each of at
// (ascending) from began: at once if that time has passed.
func (w *workerNodes) killAt(ctx context.Context, began time.Time, at []time.Duration) *nodeKiller {
	k := &nodeKiller{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(k.done)
		for _, t := range at {
			select {
			case <-time.After(time.Until(began.Add(t))):
			case <-k.stop:
				k.err = fmt.Errorf("the job ended before the kill at %v", t)
				return
			case <-ctx.Done():
				k.err = ctx.Err()
				return
			}
			kill, err := w.killAndReplace(ctx, began)
			if err != nil {
				k.err = err
				return
			}
			k.kills = append(k.kills, kill)
		}
	}()
	return k
}

// finish stops the killer, if it has kills left, and waits for it: it
// changes the cluster's processes, which Stop reads. It returns the kills
// done, and an error if one failed or did not happen.
func (k *nodeKiller) finish() ([]nodeKill, error) {
	if !k.finished {
		k.finished = true
		close(k.stop)
		<-k.done
	}
	return k.kills, k.err
}

// recordRun appends one line for a finished run of step of item (a
// chain's link, an actor's call) to the file of this process in logDir
// (none if logDir is empty). Every process of the cluster is on this
// machine, so one directory sees them all, including the runs on a node
// that is later killed.
func recordRun(logDir string, item, step int, began time.Time) error {
	if logDir == "" {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(logDir, strconv.Itoa(os.Getpid())+".log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	// One write of a short line with O_APPEND: lines of the process's
	// concurrent tasks do not interleave.
	_, err = fmt.Fprintf(f, "%d %d %d %d %d\n", item, step, began.UnixNano(), time.Now().UnixNano(), benchNode())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// runRecord is one recorded run of a step of an item.
type runRecord struct {
	item, step, node int
	end              time.Duration // from the job's start
}

// readRunRecords reads the records in logDir, in the order the runs
// finished.
func readRunRecords(logDir string, began time.Time) ([]runRecord, error) {
	files, err := filepath.Glob(filepath.Join(logDir, "*.log"))
	if err != nil {
		return nil, err
	}
	var records []runRecord
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r runRecord
			var start, end int64
			if _, err := fmt.Sscan(sc.Text(), &r.item, &r.step, &start, &end, &r.node); err != nil {
				continue // a line cut short by a kill
			}
			r.end = time.Unix(0, end).Sub(began)
			records = append(records, r)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(records, func(a, b runRecord) int { return int(a.end - b.end) })
	return records, nil
}

// runTimeline is the runs that finished in each time bin of a job: first
// runs of a step, and runs again.
type runTimeline struct {
	BinSeconds float64 `json:"bin_s"`
	Original   []int   `json:"original_per_bin"`
	Rerun      []int   `json:"rerun_per_bin"`
}

// timelineOf bins the records (in the order they finished) of a job that
// took seconds: a step's first record counts as its first run, later ones
// as runs again. again says which records were runs again; distinct is
// the steps recorded.
func timelineOf(records []runRecord, seconds float64, bin time.Duration) (t runTimeline, again []bool, distinct int) {
	type key struct{ item, step int }
	seen := map[key]bool{}
	t.BinSeconds = bin.Seconds()
	bins := int(math.Ceil(seconds/t.BinSeconds)) + 1
	t.Original, t.Rerun = make([]int, bins), make([]int, bins)
	again = make([]bool, len(records))
	for i, r := range records {
		b := min(max(int(r.end/bin), 0), bins-1)
		k := key{r.item, r.step}
		if seen[k] {
			again[i] = true
			t.Rerun[b]++
			continue
		}
		seen[k] = true
		t.Original[b]++
	}
	return t, again, len(seen)
}

// throughput is the runs per second in each bin: first runs, runs again,
// and both.
func (t *runTimeline) throughput() (orig, rerun, all []float64) {
	for i := range t.Original {
		o, x := float64(t.Original[i])/t.BinSeconds, float64(t.Rerun[i])/t.BinSeconds
		orig, rerun, all = append(orig, o), append(rerun, x), append(all, o+x)
	}
	return orig, rerun, all
}

// binTimes are the bins' middles in seconds.
func (t *runTimeline) binTimes() []float64 {
	xs := make([]float64, len(t.Original))
	for i := range xs {
		xs[i] = (float64(i) + 0.5) * t.BinSeconds
	}
	return xs
}

// timelineSeries are a recovery timeline's curves: the failure-free
// run's throughput, and the failure run's, all runs, first runs and runs
// again apart; what is run (tasks, calls), the failure (the kill, the
// kills) and the runs again (again) name them. top is the plot's top,
// for markers.
func timelineSeries(free, fail *runTimeline, what, failure, again string) (series []plots.Series, top float64) {
	orig, rerun, all := fail.throughput()
	_, _, freeAll := free.throughput()
	xs := fail.binTimes()
	top = slices.Max(append(slices.Clone(all), freeAll...))
	return []plots.Series{
		{Label: "failure-free run, all " + what, X: free.binTimes(), Y: freeAll, Style: plots.StyleLine},
		{Label: "with " + failure + ": all " + what, X: xs, Y: all, Style: plots.StyleLine},
		{Label: "with " + failure + ": first runs", X: xs, Y: orig},
		{Label: "with " + failure + ": " + again, X: xs, Y: rerun},
	}, top
}

// firstOfPairs says, for a caption, which of reps pairs of runs a
// timeline shows.
func firstOfPairs(reps int) string {
	if reps > 1 {
		return fmt.Sprintf(" The first of %d pairs of runs.", reps)
	}
	return ""
}

// timeMarker is a vertical line at at seconds, up to top, marking an
// event (a kill, a node joining) on a timeline.
func timeMarker(label string, at, top float64) plots.Series {
	return plots.Series{Label: label, X: []float64{at, at}, Y: []float64{0, top}, Style: plots.StyleLine}
}
