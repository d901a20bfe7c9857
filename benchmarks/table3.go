package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"manta/core"
	"manta/plots"
	"manta/serve"
)

// Table 3 of the paper: embedded serving throughput, states/s, for two
// workloads, the model served by a manta actor (package serve's
// Deployment) against the same model and batching behind a REST endpoint
// (serve.Server, standing in for Clipper). Clients are actors that each
// send one request of a batch of states at a time, in a closed loop.

// table3Seed fixes the model's weights and the clients' states.
const table3Seed = 3

// table3Workload is one column of Table 3.
type table3Workload struct {
	key, label string
	stateSize  int
	cost       time.Duration
	// The paper's claims this workload's rows are compared with.
	claimActor, claimREST string
	deployment            *serve.Deployment
}

func (w table3Workload) model() (serve.Model, error) {
	return serve.NewResidual(w.stateSize, w.cost, table3Seed)
}

var table3Workloads = []table3Workload{
	{key: "small", label: "4 KB states, 10 ms model", stateSize: 1024, cost: 10 * time.Millisecond,
		claimActor: "table3.ray_small", claimREST: "table3.clipper_small"},
	{key: "large", label: "100 KB states, 5 ms model", stateSize: 25600, cost: 5 * time.Millisecond,
		claimActor: "table3.ray_large", claimREST: "table3.clipper_large"},
}

func init() {
	for i := range table3Workloads {
		w := &table3Workloads[i]
		w.deployment = serve.Register("benchmarks.table3."+w.key, w.model)
	}
}

var table3 = Experiment{
	ID:    "table3",
	Title: "Embedded serving: states/s, a manta model actor against the same model behind REST",
	Paper: "Table 3 (§5.2.2)",
	State: Reproduced,
	Setup: "The paper served a residual network (10 ms, 4 KB states) and a fully connected network (5 ms, 100 KB states) to clients sending " +
		"states in batches of 64, from a Ray actor and from Clipper over REST. Clipper is not available here: the REST baseline is a plain " +
		"net/http JSON endpoint on loopback (package serve's Server), run in an actor's process as the model actor is, with the same model " +
		"and the same batcher (max batch 64 states, max wait 5 ms) as the manta model actor (serve's Deployment: a replica actor whose " +
		"concurrent calls are gathered into batches). The model is serve.Residual: a small residual network over pooled features whose " +
		"arithmetic takes a fraction of the paper's time, held at exactly 10 ms (4 KB) or 5 ms (100 KB) per batch by spinning on the CPU. " +
		"Clients are manta actors on the same machine (2 cores shared by the clients, the model and the driver), each sending one request " +
		"of 64 states at a time in a closed loop.",
	QuickEstimate: 70 * time.Second,
	FullEstimate:  7 * time.Minute,
	Run:           runTable3,
}

// table3Params sizes the experiment.
type table3Params struct {
	Clients int           `json:"clients"`
	Batch   int           `json:"states_per_request"` // also the batcher's MaxBatch
	MaxWait time.Duration `json:"max_wait_ns"`
	// Streams is how many one-state requests each client keeps in
	// flight in the single-state rows.
	Streams int           `json:"single_state_streams"`
	Window  time.Duration `json:"window_ns"` // each client's closed loop, per measurement
	Reps    int           `json:"reps"`
}

func paramsTable3(s Scale) table3Params {
	p := table3Params{Clients: 4, Batch: 64, MaxWait: 5 * time.Millisecond, Streams: 16, Window: 2 * time.Second, Reps: 2}
	if s == Full {
		p.Window, p.Reps = 8*time.Second, 4
	}
	return p
}

// table3Shape is how clients cut their states into requests.
type table3Shape struct {
	key, label string
	perRequest func(table3Params) int // states in one request
	streams    func(table3Params) int // requests in flight per client
}

var (
	// shapePaper is the paper's: each request a batch of 64 states.
	shapePaper = table3Shape{"", "",
		func(p table3Params) int { return p.Batch }, func(table3Params) int { return 1 }}
	// shapeSingle sends one state per request, several in flight, so
	// that batches are formed by the server's batcher (Ray Serve's use).
	shapeSingle = table3Shape{"_single_state", ", one state per request",
		func(table3Params) int { return 1 }, func(p table3Params) int { return p.Streams }}
)

// table3Load is what a client is asked to send.
type table3Load struct {
	Workload   int           `cbor:"1,keyasint"`
	PerRequest int           `cbor:"2,keyasint"`
	Streams    int           `cbor:"3,keyasint"`
	Window     time.Duration `cbor:"4,keyasint"`
}

// table3Count is what one client did in its window.
type table3Count struct {
	States  int     `cbor:"1,keyasint"`
	Seconds float64 `cbor:"2,keyasint"`
}

// table3Client is a client actor: one request's states per workload.
type table3Client struct {
	requests [][]float32
}

var (
	table3ClientType = core.RegisterActor2("benchmarks.table3Client", func(seed uint64, batch int) (*table3Client, error) {
		r := rand.New(rand.NewPCG(table3Seed, seed))
		c := &table3Client{}
		for _, w := range table3Workloads {
			states := make([]float32, batch*w.stateSize)
			for i := range states {
				states[i] = 2*r.Float32() - 1
			}
			c.requests = append(c.requests, states)
		}
		return c, nil
	})
	table3ViaActor = core.RegisterMethod3(table3ClientType, "ViaActor",
		func(c *table3Client, ctx context.Context, load table3Load, replica core.Actor[serve.Replica]) (table3Count, error) {
			return c.send(ctx, load, func(ctx context.Context, states []float32) ([]float32, error) {
				return table3Workloads[load.Workload].deployment.Infer(ctx, replica, states)
			})
		})
	table3ViaREST = core.RegisterMethod3(table3ClientType, "ViaREST",
		func(c *table3Client, ctx context.Context, load table3Load, url string) (table3Count, error) {
			client := serve.HTTPClient{URL: url, StateSize: table3Workloads[load.Workload].stateSize, HTTP: &http.Client{}}
			return c.send(ctx, load, client.Infer)
		})
)

// table3Server is the REST baseline's process: an actor, as the model
// actor is, so both models run in a worker process of their own and
// differ only in how requests reach them.
type table3Server struct {
	server *serve.Server
}

var (
	table3ServerType = core.RegisterActor2("benchmarks.table3Server", func(w int, policy serve.Policy) (*table3Server, error) {
		model, err := table3Workloads[w].model()
		if err != nil {
			return nil, err
		}
		s, err := serve.NewServer(model, policy, serve.ServerConfig{})
		if err != nil {
			return nil, err
		}
		return &table3Server{server: s}, nil
	})
	table3ServerURL = core.RegisterMethod0(table3ServerType, "URL", func(s *table3Server) (string, error) { return s.server.URL(), nil })
)

// send runs the load with the client's states.
func (c *table3Client) send(ctx context.Context, load table3Load, infer func(context.Context, []float32) ([]float32, error)) (table3Count, error) {
	stateSize := table3Workloads[load.Workload].stateSize
	return table3Streams(ctx, c.requests[load.Workload][:load.PerRequest*stateSize], stateSize, load.Streams, load.Window, infer)
}

// table3Streams runs streams closed loops at once, each sending states
// again and again until window has passed, and counts the states
// answered over the longest loop's time.
func table3Streams(ctx context.Context, states []float32, stateSize, streams int, window time.Duration,
	infer func(context.Context, []float32) ([]float32, error)) (table3Count, error) {
	counts := make([]table3Count, streams)
	errs := make([]error, streams)
	var wg sync.WaitGroup
	for i := range counts {
		wg.Go(func() { counts[i], errs[i] = table3Loop(ctx, states, stateSize, window, infer) })
	}
	wg.Wait()
	total := table3Count{}
	for i, c := range counts {
		if errs[i] != nil {
			return table3Count{}, errs[i]
		}
		total.States += c.States
		total.Seconds = max(total.Seconds, c.Seconds)
	}
	return total, nil
}

func table3Loop(ctx context.Context, states []float32, stateSize int, window time.Duration,
	infer func(context.Context, []float32) ([]float32, error)) (table3Count, error) {
	n := len(states) / stateSize
	start := time.Now()
	count := table3Count{}
	for time.Since(start) < window {
		out, err := infer(ctx, states)
		if err != nil {
			return table3Count{}, err
		}
		if len(out) != n*serve.ResidualFeatures {
			return table3Count{}, fmt.Errorf("%d outputs for %d states", len(out), n)
		}
		count.States += n
	}
	count.Seconds = time.Since(start).Seconds()
	return count, nil
}

// A table3Front is one way of reaching the model.
type table3Front struct {
	key, label string
}

var (
	frontActor   = table3Front{"actor", "manta model actor"}
	frontREST    = table3Front{"rest", "REST baseline (same model and batcher, net/http + JSON)"}
	frontProcess = table3Front{"in_process", "batcher in process (no transport)"}
)

// table3Data is the raw result: states/s of every repetition.
type table3Data struct {
	Params table3Params                    `json:"params"`
	Rates  map[string]map[string][]float64 `json:"states_per_s"` // front -> workload -> per repetition
	// Arithmetic is the model's own work on a full batch, before it
	// spins to the paper's time (the fastest of a few runs), by workload.
	Arithmetic map[string]time.Duration `json:"arithmetic_per_batch_ns"`
}

func runTable3(ctx context.Context, env *Env) (*Outcome, error) {
	return table3Run(ctx, env, paramsTable3(env.Scale))
}

func table3Run(ctx context.Context, env *Env, p table3Params) (*Outcome, error) {
	data := table3Data{Params: p, Rates: map[string]map[string][]float64{}, Arithmetic: map[string]time.Duration{}}
	fronts := []table3Front{frontActor, frontREST, frontProcess}
	shapes := []table3Shape{shapePaper, shapeSingle}
	for _, sh := range shapes {
		for _, f := range fronts {
			data.Rates[f.key+sh.key] = map[string][]float64{}
		}
	}
	for _, w := range table3Workloads {
		d, err := table3Arithmetic(w, p.Batch)
		if err != nil {
			return nil, err
		}
		data.Arithmetic[w.key] = d
	}
	c, err := core.Init(core.Config{})
	if err != nil {
		return nil, err
	}
	defer c.Shutdown()
	clients := make([]core.Actor[table3Client], p.Clients)
	for i := range clients {
		clients[i] = table3ClientType.Remote(uint64(i), p.Batch)
	}
	for _, cl := range clients {
		if err := cl.Ready(ctx); err != nil {
			return nil, err
		}
	}
	policy := serve.Policy{MaxBatch: p.Batch, MaxWait: p.MaxWait}
	units, done := float64(len(table3Workloads)*p.Reps*len(shapes)*len(fronts)), 0.0
	for wi, w := range table3Workloads {
		measure, stop, err := table3Fronts(ctx, wi, w, policy, p, clients)
		if err != nil {
			return nil, err
		}
		for _, sh := range shapes {
			// One short untimed window each first: connections, pages
			// and the replica's goroutines warm.
			for _, f := range fronts {
				if _, err := measure(f, sh, p.Window/10); err != nil {
					stop()
					return nil, err
				}
			}
			for rep := range p.Reps {
				order := slices.Clone(fronts)
				if rep%2 == 1 {
					slices.Reverse(order)
				}
				for _, f := range order {
					rate, err := measure(f, sh, p.Window)
					if err != nil {
						stop()
						return nil, fmt.Errorf("%s%s, %s: %w", f.key, sh.key, w.key, err)
					}
					data.Rates[f.key+sh.key][w.key] = append(data.Rates[f.key+sh.key][w.key], rate)
					done++
					env.Progress(done/units, "%s, %s%s: %.0f states/s", w.key, f.key, sh.key, rate)
				}
			}
		}
		stop()
	}
	return table3Outcome(data), nil
}

// table3Fronts starts workload w's three front ends (a batcher in the
// driver, the model actor, the REST server's actor) and returns what
// measures one's states/s over a window, and what stops them all.
func table3Fronts(ctx context.Context, wi int, w table3Workload, policy serve.Policy, p table3Params,
	clients []core.Actor[table3Client]) (measure func(table3Front, table3Shape, time.Duration) (float64, error), stop func(), err error) {
	local, err := w.model()
	if err != nil {
		return nil, nil, err
	}
	batcher, err := serve.NewBatcher(local, policy, nil)
	if err != nil {
		return nil, nil, err
	}
	replica, err := w.deployment.Deploy(ctx, policy)
	if err != nil {
		batcher.Close()
		return nil, nil, err
	}
	server := table3ServerType.Remote(wi, policy)
	url, err := table3ServerURL.Remote(server).Get(ctx)
	if err != nil {
		batcher.Close()
		replica.Kill()
		server.Kill()
		return nil, nil, err
	}
	stop = func() {
		batcher.Close()
		server.Kill()
		replica.Kill()
	}
	measure = func(f table3Front, sh table3Shape, window time.Duration) (float64, error) {
		load := table3Load{Workload: wi, PerRequest: sh.perRequest(p), Streams: sh.streams(p), Window: window}
		var counts []table3Count
		var err error
		switch f {
		case frontProcess:
			var count table3Count
			count, err = table3Goroutines(ctx, p, w, load, batcher)
			counts = []table3Count{count}
		default:
			refs := make([]core.Ref[table3Count], len(clients))
			for i, cl := range clients {
				if f == frontActor {
					refs[i] = table3ViaActor.Remote(cl, ctx, load, replica)
				} else {
					refs[i] = table3ViaREST.Remote(cl, ctx, load, url)
				}
			}
			counts, err = core.GetAll(ctx, refs)
		}
		if err != nil {
			return 0, err
		}
		states, longest := 0, 0.0
		for _, c := range counts {
			states += c.States
			longest = max(longest, c.Seconds)
		}
		return float64(states) / longest, nil
	}
	return measure, stop, nil
}

// table3Arithmetic times the model's arithmetic alone (no spinning) on a
// full batch: the fastest of five runs, since other load only adds.
func table3Arithmetic(w table3Workload, batch int) (time.Duration, error) {
	m, err := serve.NewResidual(w.stateSize, 0, table3Seed)
	if err != nil {
		return 0, err
	}
	in, out := make([]float32, batch*w.stateSize), make([]float32, batch*m.OutputSize())
	fastest := time.Duration(1<<63 - 1)
	for range 5 {
		start := time.Now()
		if err := m.Infer(in, out); err != nil {
			return 0, err
		}
		fastest = min(fastest, time.Since(start))
	}
	return fastest, nil
}

// table3Goroutines runs every client's loops as goroutines of the
// driver calling the batcher directly: the limit without any transport.
func table3Goroutines(ctx context.Context, p table3Params, w table3Workload, load table3Load, b *serve.Batcher) (table3Count, error) {
	states := make([]float32, load.PerRequest*w.stateSize)
	r := rand.New(rand.NewPCG(table3Seed, 0))
	for i := range states {
		states[i] = 2*r.Float32() - 1
	}
	return table3Streams(ctx, states, w.stateSize, p.Clients*load.Streams, load.Window, b.Do)
}

// table3Outcome turns the rates into metrics and a figure.
func table3Outcome(d table3Data) *Outcome {
	paper := Paper()
	claim := func(id string) float64 { c, _ := paper.Claim(id); return c.Value }
	var metrics []Metric
	var categories []string
	bars := map[string]*plots.Series{}
	fronts := []table3Front{frontActor, frontREST, frontProcess}
	for _, f := range fronts {
		bars[f.key] = &plots.Series{Label: f.label}
	}
	paperRay := plots.Series{Label: "paper: Ray actor", Paper: true}
	paperClipper := plots.Series{Label: "paper: Clipper (REST)", Paper: true}
	for _, w := range table3Workloads {
		categories = append(categories, w.label)
		for _, f := range fronts {
			mean, std := meanStd(d.Rates[f.key][w.key])
			bars[f.key].Y, bars[f.key].Err = append(bars[f.key].Y, mean), append(bars[f.key].Err, std)
			m := Metric{Name: fmt.Sprintf("%s, %s", f.label, w.label), Value: mean, Err: std, N: len(d.Rates[f.key][w.key]), Unit: "states/s"}
			switch f {
			case frontActor:
				m.Claim, m.Headline = w.claimActor, true
			case frontREST:
				m.Claim, m.Headline = w.claimREST, true
				m.Note = "Clipper is not available here; this is the REST baseline standing in for it"
			case frontProcess:
				m.Note = "the clients as goroutines calling the batcher: no process boundary, no encoding"
			}
			metrics = append(metrics, m)
		}
		ratios := make([]float64, 0, d.Params.Reps)
		for i, a := range d.Rates[frontActor.key][w.key] {
			if i < len(d.Rates[frontREST.key][w.key]) {
				ratios = append(ratios, a/d.Rates[frontREST.key][w.key][i])
			}
		}
		rm, rs := meanStd(ratios)
		paperRatio := claim(w.claimActor) / claim(w.claimREST)
		metrics = append(metrics, Metric{Name: fmt.Sprintf("actor / REST, %s", w.label), Value: rm, Err: rs, N: len(ratios), Unit: "x",
			Paper: &paperRatio, Source: fmt.Sprintf("Table 3: Ray %.0f / Clipper %.0f (derived)", claim(w.claimActor), claim(w.claimREST)),
			Note: "paired by repetition", Headline: true})
		for _, f := range fronts {
			key := f.key + shapeSingle.key
			mean, std := meanStd(d.Rates[key][w.key])
			metrics = append(metrics, Metric{Name: fmt.Sprintf("%s, %s%s", f.label, w.label, shapeSingle.label), Value: mean, Err: std,
				N: len(d.Rates[key][w.key]), Unit: "states/s",
				Note: fmt.Sprintf("%d requests in flight per client; the batcher forms the batches", d.Params.Streams)})
		}
		metrics = append(metrics, Metric{Name: fmt.Sprintf("model arithmetic per batch of %d, %s", d.Params.Batch, w.label),
			Value: float64(d.Arithmetic[w.key]) / float64(time.Millisecond), Unit: "ms",
			Note: "the residual network's own work, fastest of 5; the model spins for the rest of the batch's time"})
		ceiling := float64(d.Params.Batch) / w.cost.Seconds()
		metrics = append(metrics, Metric{Name: fmt.Sprintf("model limit, %s", w.label), Value: ceiling, Unit: "states/s",
			Note: fmt.Sprintf("computed: %d states per batch / %v per batch, one batch at a time", d.Params.Batch, w.cost)})
		paperRay.Y = append(paperRay.Y, claim(w.claimActor))
		paperClipper.Y = append(paperClipper.Y, claim(w.claimREST))
	}
	fig := plots.Figure{
		Name: "table3", Kind: plots.KindBars, LogY: true, Legend: "bottom-left",
		Title: "Table 3: embedded serving throughput", YLabel: "states/s", Categories: categories,
		Series: []plots.Series{*bars[frontActor.key], *bars[frontREST.key], *bars[frontProcess.key], paperRay, paperClipper},
		Caption: fmt.Sprintf("Mean ± one standard deviation over %d repetitions of %v windows, %d clients each sending %d states per request. "+
			"Clipper is not available here: the REST bars are the same model and batcher behind net/http with JSON bodies.",
			d.Params.Reps, d.Params.Window, d.Params.Clients, d.Params.Batch),
	}
	notes := []string{
		fmt.Sprintf("Workload: %d client actors, each with one fixed request of %d random states (uniform in [-1, 1]) per workload, send it, wait "+
			"for the %d outputs, and send it again until a window of %v has passed; states/s is the states answered by all clients over the longest "+
			"client's time, first request to last answer. Each repetition measures the three front ends in turn (the order alternates), after one "+
			"untimed tenth-length window each.", d.Params.Clients, d.Params.Batch, d.Params.Batch, d.Params.Window),
		fmt.Sprintf("Batching is the same code for every front end (serve.Batcher): at most %d states per model call, a request waiting at most %v "+
			"for its batch to fill, one batch evaluated at a time. Each request here is a full batch (the paper's clients send batches of 64), so "+
			"every model call evaluates one request and the model's limit is %d states per batch time.", d.Params.Batch, d.Params.MaxWait, d.Params.Batch),
		fmt.Sprintf("The single-state rows are not in the paper: each client keeps %d requests of one state in flight (%d in all), so the "+
			"batches are gathered by the server's batcher from many callers, as Ray Serve's @serve.batch does; a batch fills as answered "+
			"callers send again, or goes after %v.", d.Params.Streams, d.Params.Streams*d.Params.Clients, d.Params.MaxWait),
		"The model (serve.Residual) pools each state into 64 features and applies a residual block (64 + W₂·relu(W₁·p + b₁)); it then spins " +
			"until the batch has taken the paper's time, so it holds a core for 10 ms or 5 ms per batch. The paper's networks (a residual network " +
			"and a fully connected one) are not reproduced layer by layer: their time per batch is, which is what Table 3 measures.",
		"Actor path: the client actor's call carries its 64 states as one []float32 argument (256 KB or 6.4 MB, through the object store's shared memory), " +
			"the replica's concurrent calls wait in its batcher, the 64 outputs come back as the call's result. REST path: the same states as JSON " +
			"(about 0.7 MB or 17 MB a request), encoded by the client actor, decoded by the server (in an actor's process, as the model actor) with encoding/json, over loopback TCP. " +
			"The in-process row runs the clients as goroutines of the driver calling a batcher there, beside the driver's node manager.",
	}
	for _, w := range table3Workloads {
		if a := d.Arithmetic[w.key]; a >= w.cost {
			notes = append(notes, fmt.Sprintf("In this run the model's arithmetic on a batch (%v, %s) took longer than the paper's %v "+
				"(the machine was busy): its batches took that long, not the paper's time, and its limit was lower than the one computed.", a, w.key, w.cost))
		}
	}
	return &Outcome{Metrics: metrics, Figures: []plots.Figure{fig}, Notes: notes, Data: d}
}
