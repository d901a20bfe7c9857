package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"time"

	"manta/benchmarks/micro"
	"manta/benchmarks/peers"
	"manta/core"
	"manta/plots"
)

// The microbenchmark table (`manta microbenchmark`), repeated for error
// bars and drawn against Ray's published figures.

var microExperiment = Experiment{
	ID:    "micro",
	Title: "Microbenchmark table (Ray's `ray microbenchmark` rows)",
	Paper: "not in the paper: Ray's own microbenchmark, measured here by `make bench-peers` or else as Ray 2.48 publishes it",
	State: Reproduced,
	Setup: "Not a figure of the OSDI paper: the rows of Ray's own `ray microbenchmark`, compared with Ray " + peers.RayVersion + " measured on this machine " +
		"by an earlier `make bench-peers` (`manta bench --peers`), or, until one ran, with the numbers Ray 2.48 publishes (an m5.16xlarge, 64 vCPUs). " +
		"manta is measured here on one embedded node of this machine with the multi-client rows using one client per core. " +
		"Each row also runs a same-run baseline: the same work as goroutines and channels in one process, the limit for a runtime here. " +
		"Beside Ray's rows, rows Ray does not publish: multi_node_tasks_async (empty tasks from a driver with no CPU, each placed by its " +
		"global scheduler on one of 2 node processes of a local cluster with 1 CPU each) and multi_node_get_gigabytes (a GetView on the " +
		"driver of a 100 MB object made on a node, pulled into the driver's store; 1 GB too at full scale), on loopback of this one " +
		"machine, with loopback TCP baselines (pipelined small requests; one stream). " +
		"Then the cost of recording task-life events (the aim: at most 5% lost): the task and actor rows (all seven at full scale) with " +
		"recording off and on in alternating pairs of 100 ms slices of one run: first the control (off in both slices of each pair, so its " +
		"ratios' distance from 1 is the method's own spread on this machine), then on a node recording every task's events, then one task's in 16.",
	QuickEstimate: 95 * time.Second,
	FullEstimate:  9 * time.Minute,
	Run:           runMicro,
}

type microData struct {
	Reps     int                  `json:"reps"`
	Duration string               `json:"duration_per_row"`
	Rows     map[string][]float64 `json:"manta"`
	Baseline map[string][]float64 `json:"baseline"`
	Units    map[string]string    `json:"units"`
	Queued   *micro.Result        `json:"queued,omitempty"`
	// Cluster describes where the multi-node rows ran; empty if they did
	// not.
	Cluster string `json:"cluster,omitempty"`
	// Events is the cost of recording task-life events, by row and
	// sampling period.
	Events []overheadData `json:"events_overhead,omitempty"`
}

// microOnCluster starts a local cluster and a driver with no CPU, and
// measures the multi-node rows there.
func microOnCluster(ctx context.Context, mc *microCluster, rows []micro.Row, measure func([]micro.Row) error) error {
	// An object being made and one being read, of the largest size, and
	// room.
	store := int64(256 << 20)
	if len(mc.GetBytes) > 0 {
		store += 2 * int64(slices.Max(mc.GetBytes))
	}
	res := make([]map[string]float64, microClusterNodes)
	for i := range res {
		res[i] = map[string]float64{"CPU": 1}
	}
	c, err := startLocalCluster(ctx, localClusterConfig{Manta: mc.Manta, Nodes: res, StoreBytes: store})
	if err != nil {
		return err
	}
	defer c.Stop()
	driver, err := c.Driver(core.Config{Resources: map[string]float64{"CPU": 0}, StoreBytes: store})
	if err != nil {
		return err
	}
	defer driver.Shutdown()
	if err := measure(rows); err != nil {
		return err
	}
	if err := driver.Shutdown(); err != nil {
		return err
	}
	return c.Stop()
}

func runMicro(ctx context.Context, env *Env) (*Outcome, error) {
	manta, err := mantaBinary(env)
	if err != nil {
		return nil, err
	}
	reps, d, queued := 3, 200*time.Millisecond, 100000
	mc := &microCluster{Manta: manta, GetBytes: []int{micro.MultiNodeGetBytes}}
	ev := &eventsOverhead{Rows: []string{"single_client_tasks_sync", "single_client_tasks_async", "1_1_actor_calls_sync", "1_1_actor_calls_async"},
		D: 2 * time.Second, Samples: []int{micro.ControlSample, 1, 16}}
	if env.Scale == Full {
		reps, d, queued = 5, 2*time.Second, 1000000
		mc.GetBytes = append(mc.GetBytes, 1e9)
		ev.Rows = append(ev.Rows, "multi_client_tasks_async", "1_1_actor_calls_concurrent", "n_n_actor_calls_async")
		ev.D = 6 * time.Second
	}
	return microTable(ctx, env, micro.Rows(runtime.NumCPU()), reps, d, queued, mc, ev)
}

// eventsOverhead is what the microbenchmark table measures of recording
// task-life events: Rows, each for D with events off and D on (in
// micro.OverheadSlice pairs), once for each sampling period in Samples
// (1: every task; micro.ControlSample: none, the method's own spread).
type eventsOverhead struct {
	Rows    []string
	D       time.Duration
	Samples []int
}

// overheadData is one row's events on ÷ off, as micro.Overhead reports it.
type overheadData struct {
	Sample int `json:"sample"`
	micro.Overhead
}

// measureEventsOverhead runs ev on a node of its own for each sampling
// period, each with rows of its own.
func measureEventsOverhead(ctx context.Context, ev *eventsOverhead, report func(overheadData)) error {
	only := map[string]bool{}
	for _, name := range ev.Rows {
		only[name] = true
	}
	for _, sample := range ev.Samples {
		err := micro.MeasureEventsOverhead(ctx, micro.Rows(runtime.NumCPU()), ev.D, only, sample, func(o micro.Overhead) {
			report(overheadData{Sample: sample, Overhead: o})
		})
		if err != nil {
			return fmt.Errorf("events overhead, 1 task in %d: %w", sample, err)
		}
	}
	return nil
}

// microCluster is where the multi-node rows (micro.ClusterRows) run: a
// local cluster of microClusterNodes node processes, with the Manta
// binary; GetBytes are the sizes of the Get rows (default 100 MB).
type microCluster struct {
	Manta    string
	GetBytes []int
}

// microClusterNodes is the multi-node rows' cluster: a head and a node,
// one CPU each.
const microClusterNodes = 2

// microTable runs the rows reps times for d each (and again d for each
// baseline), then the memory row with queued tasks, on an embedded
// node; then, if ev is set, the cost of recording events; then, if
// cluster is set, the multi-node rows on a local cluster.
func microTable(ctx context.Context, env *Env, rows []micro.Row, reps int, d time.Duration, queued int, cluster *microCluster, ev *eventsOverhead) (*Outcome, error) {
	data := microData{Reps: reps, Duration: d.String(), Rows: map[string][]float64{}, Baseline: map[string][]float64{}, Units: map[string]string{}}
	ray := map[string]float64{}
	var clusterRows []micro.Row
	if cluster != nil {
		clusterRows = micro.ClusterRows(microClusterNodes, cluster.GetBytes...)
	}
	total, done := float64(reps*(len(rows)+len(clusterRows))+1), 0.0
	measure := func(rows []micro.Row) error {
		for rep := range reps {
			err := micro.Run(ctx, rows, d, nil, func(r micro.Result) {
				data.Rows[r.Name] = append(data.Rows[r.Name], r.Value)
				data.Baseline[r.Name] = append(data.Baseline[r.Name], r.Baseline)
				data.Units[r.Name] = r.Unit
				if r.Ray != nil {
					ray[r.Name] = *r.Ray
				}
				done++
				env.Progress(done/total, "rep %d/%d %s", rep+1, reps, r.Name)
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	err := func() error {
		c, err := core.Init(core.Config{})
		if err != nil {
			return err
		}
		defer c.Shutdown()
		if err := measure(rows); err != nil {
			return err
		}
		if err := micro.RunQueued(ctx, queued, func(r micro.Result) { data.Queued = &r }); err != nil {
			return err
		}
		return c.Shutdown()
	}()
	if err != nil {
		return nil, err
	}
	if ev != nil {
		env.Progress(done/total, "task-life events off and on")
		err := measureEventsOverhead(ctx, ev, func(o overheadData) { data.Events = append(data.Events, o) })
		if err != nil {
			return nil, err
		}
	}
	// A failure of the multi-node rows fails the experiment but keeps the
	// rows measured so far in its result.
	var clusterErr error
	if cluster != nil {
		env.Progress(done/total, "multi-node rows: starting a local cluster")
		data.Cluster = fmt.Sprintf("%d node processes with 1 CPU each and a driver with none, on this machine's loopback", microClusterNodes)
		if clusterErr = microOnCluster(ctx, cluster, clusterRows, measure); clusterErr != nil {
			clusterErr = fmt.Errorf("the multi-node rows: %w", clusterErr)
		}
		for _, r := range clusterRows {
			if len(data.Rows[r.Name]) > 0 {
				rows = append(rows, r)
			}
		}
	}
	env.Progress(1, "done")

	peer, peerErr := loadRayPeer(env, ray)
	var notes []string
	if peerErr != nil {
		notes = append(notes, peerErr.Error())
	}
	var metrics []Metric
	fig := plots.Figure{
		Name: "micro", Kind: plots.KindBars, LogY: true,
		Title:   fmt.Sprintf("Microbenchmark on %d cores: manta, goroutine baseline, %s", runtime.NumCPU(), peer.title),
		YLabel:  "operations/s (row's unit)",
		Caption: fmt.Sprintf("Mean ± one standard deviation over %d runs of %v per row. %s", reps, d, peer.caption),
	}
	mantaS := plots.Series{Label: "manta"}
	baseS := plots.Series{Label: "baseline, same run: goroutines + channels (multi-node rows: loopback TCP)"}
	rayS := plots.Series{Label: peer.label, Paper: true}
	for _, r := range rows {
		m, s := meanStd(data.Rows[r.Name])
		bm, bs := meanStd(data.Baseline[r.Name])
		var paper *float64
		source := ""
		if v, ok := peer.rows[r.Name]; ok {
			paper, source = &v, peer.source
		} else if v, ok := ray[r.Name]; ok && peer.measured {
			paper, source = &v, "Ray 2.48 microbenchmark (published; the run of --peers lacks this row)"
		}
		metrics = append(metrics, Metric{
			Name: r.Name, Value: m, Err: s, N: len(data.Rows[r.Name]), Unit: r.Unit,
			Paper: paper, Source: source,
			Headline: r.Name == "single_client_tasks_async" || r.Name == "1_1_actor_calls_async",
			Note:     fmt.Sprintf("goroutine baseline %s (manta at %.0f%% of it)", num(bm), 100*m/bm),
		})
		if r.Baseline != "" {
			where := ""
			if slices.ContainsFunc(clusterRows, func(c micro.Row) bool { return c.Name == r.Name }) {
				where = "on " + data.Cluster + "; "
			}
			metrics[len(metrics)-1].Note = fmt.Sprintf("%sbaseline (%s) %s, manta at %.0f%% of it", where, r.Baseline, num(bm), 100*m/bm)
		}
		if v, ok := ray[r.Name]; ok && peer.measured {
			metrics[len(metrics)-1].Note += fmt.Sprintf("; Ray 2.48 publishes %s", num(v))
		}
		fig.Categories = append(fig.Categories, r.Name)
		mantaS.Y, mantaS.Err = append(mantaS.Y, m), append(mantaS.Err, s)
		baseS.Y, baseS.Err = append(baseS.Y, bm), append(baseS.Err, bs)
		if v, ok := peer.rows[r.Name]; ok {
			rayS.Y = append(rayS.Y, v)
		} else {
			rayS.Y = append(rayS.Y, 0) // no figure, no bar
		}
	}
	if q := data.Queued; q != nil {
		metrics = append(metrics, Metric{Name: q.Name, Value: q.Value, Unit: q.Unit,
			Note: fmt.Sprintf("a Go channel of the same calls takes %.1f MiB; Ray documents 1M+ queued tasks without a memory figure", q.Baseline)})
	}
	for _, o := range data.Events {
		name, slices := fmt.Sprintf("events on ÷ off (1 task in %d recorded): %s", o.Sample, o.Name), "events off then on (or on then off)"
		if o.Sample == micro.ControlSample {
			name, slices = "events off ÷ off (the control: nothing recorded, the method's own spread): "+o.Name, "events off in both"
		}
		metrics = append(metrics, Metric{Name: name, Value: o.Ratio, N: o.Pairs, Unit: "x",
			Note: fmt.Sprintf("median over %d pairs of adjacent %v slices, %s, in one run; 95%% interval %.3f–%.3f; %s in the slices off, %s in the slices on (or, in the control, the other half)",
				o.Pairs, micro.OverheadSlice, slices, o.Low, o.High, num(o.Off), num(o.On))})
	}
	fig.Series = []plots.Series{mantaS, baseS, rayS}
	return &Outcome{Metrics: metrics, Figures: []plots.Figure{fig}, Data: data, Notes: notes}, clusterErr
}

// rayPeer is what the microbenchmark table compares with: Ray measured
// on this machine by an earlier `manta bench --peers`, or else Ray
// 2.48's published figures.
type rayPeer struct {
	measured              bool
	rows                  map[string]float64
	title, label, caption string
	source                string
}

// loadRayPeer reads the peer run under env.Out, falling back to the
// published figures, by row (and saying why, when a run is there but
// unreadable).
func loadRayPeer(env *Env, publishedRows map[string]float64) (rayPeer, error) {
	published := rayPeer{
		rows:    publishedRows,
		title:   "Ray 2.48 (published)",
		label:   "Ray 2.48 (published)",
		caption: "Ray 2.48's numbers are its published ones on a 64-vCPU machine, not measured here (`make bench-peers` measures Ray here).",
		source:  "Ray 2.48 microbenchmark (published, an m5.16xlarge)",
	}
	if env.Out == "" {
		return published, nil
	}
	path := peerRayPath(env.Out)
	p, err := peers.LoadRay(path)
	if errors.Is(err, fs.ErrNotExist) {
		return published, nil
	}
	if err != nil {
		return published, fmt.Errorf("the run of `manta bench --peers` cannot be read, so the table shows Ray's published figures: %w", err)
	}
	when := p.Measured.Format("2006-01-02 15:04 UTC")
	measured := rayPeer{
		measured: true,
		rows:     map[string]float64{},
		title:    fmt.Sprintf("Ray %s (measured here)", p.Version),
		label:    fmt.Sprintf("Ray %s, measured here %s", p.Version, p.Measured.Format("2006-01-02")),
		caption: fmt.Sprintf("Ray %s was measured on %s at %s by `manta bench --peers` (its own `ray microbenchmark`, Ray Client rows skipped), "+
			"not in the same minutes as manta's rows; %s.", p.Version, p.Machine, when, path),
		source: fmt.Sprintf("Ray %s measured on %s, %s (`manta bench --peers`)", p.Version, p.Machine, when),
	}
	for name, v := range p.Rows {
		measured.rows[name] = v[0]
	}
	return measured, nil
}
