package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"manta/benchmarks/micro"
	"manta/benchmarks/peers"
	"manta/internal/atomicfile"
	"manta/plots"
)

// Options configure Run.
type Options struct {
	// Only selects experiments by id (all when empty).
	Only []string
	// Scale is Quick (default) or Full.
	Scale Scale
	// Out is the output directory (default "results"); it is created, and
	// must be writable before anything runs.
	Out string
	// Experiments replaces the registry (tests); nil means All().
	Experiments []Experiment
	// Progress receives progress output (nil: none). Terminal makes it one
	// updating line; otherwise plain lines (see IsTerminal).
	Progress io.Writer
	Terminal bool
	// Timeout bounds each experiment (default 20 minutes quick, 2 hours full).
	Timeout time.Duration
	// Command is recorded in REPORT.md as the command that made it.
	Command string
	// Manta is the manta binary the multi-node experiments run their node
	// processes with (`manta start`); default this program, which must
	// then be manta (a test binary must say).
	Manta string
	// Peers first installs and runs the peers (package peers: Ray's
	// microbenchmark, about 11 minutes on 2 cores) into Out/peers, which
	// the experiments compare with, this run and later ones.
	Peers bool
	// Seeds, when positive, caps the seeds a point of the experiments
	// that repeat over seeds (fig14a, fig14b) runs, to fit a time budget;
	// their outcomes say how many ran.
	Seeds int
}

// Summary is what Run did.
type Summary struct {
	Results []Result
	Report  string   // path of REPORT.md
	Failed  []string // ids of failed experiments
	Elapsed time.Duration
}

// ErrFailed is returned (wrapped) by Run when any experiment failed; the
// others still ran and REPORT.md was written.
var ErrFailed = errors.New("experiments failed")

// Run runs the selected experiments one after another, writes
// Out/<id>.json and the figures of each, then Out/REPORT.md. Bad options
// (an unknown id, an unknown scale, an output directory that cannot be
// written) fail before anything runs. An experiment that fails or panics
// is recorded with its error and the rest still run; Run then returns an
// error wrapping ErrFailed.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Scale == "" {
		o.Scale = Quick
	}
	if _, err := ParseScale(string(o.Scale)); err != nil {
		return nil, err
	}
	if o.Out == "" {
		o.Out = "results"
	}
	exps := o.Experiments
	if exps == nil {
		exps = All()
	}
	selected, err := Select(exps, o.Only)
	if err != nil {
		return nil, err
	}
	if err := checkWritable(o.Out); err != nil {
		return nil, err
	}
	paper, err := loadPaper()
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Minute
		if o.Scale == Full {
			o.Timeout = 2 * time.Hour
		}
	}
	if o.Peers {
		if err := runPeers(ctx, o); err != nil {
			return nil, err
		}
	}
	machine := ThisMachine()
	prog := newProgress(o.Progress, o.Terminal, len(selected))
	start := time.Now()
	sum := &Summary{}
	for i := range selected {
		e := &selected[i]
		var after time.Duration
		for _, later := range selected[i+1:] {
			after += later.Estimate(o.Scale)
		}
		prog.begin(i+1, e, o.Scale, after)
		r := runOne(ctx, e, o, paper, machine, prog)
		if err := writeJSON(filepath.Join(o.Out, e.ID+".json"), r); err != nil && r.Status != StatusFailed {
			r.Status, r.Error = StatusFailed, "cannot write result: "+err.Error()
		}
		if r.Status == StatusFailed {
			sum.Failed = append(sum.Failed, e.ID)
		}
		prog.end(&r)
		sum.Results = append(sum.Results, r)
	}
	sum.Elapsed = time.Since(start)
	sum.Report = filepath.Join(o.Out, "REPORT.md")
	report := Report(sum.Results, ReportInfo{Scale: o.Scale, Machine: machine, Elapsed: sum.Elapsed, Command: o.Command, Paper: paper})
	if err := atomicfile.Write(sum.Report, []byte(report)); err != nil {
		return sum, fmt.Errorf("cannot write report: %w", err)
	}
	if len(sum.Failed) > 0 {
		return sum, fmt.Errorf("%w: %d of %d (%s); see %s", ErrFailed, len(sum.Failed), len(selected), strings.Join(sum.Failed, ", "), sum.Report)
	}
	return sum, nil
}

// checkWritable creates dir if needed and proves a file can be made in it.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot write to output directory %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("cannot write to output directory %s: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// runOne runs one experiment (unless it is not built), renders its
// figures and returns its result.
func runOne(ctx context.Context, e *Experiment, o Options, paper *PaperData, m Machine, prog *progress) Result {
	r := Result{
		ID: e.ID, Title: e.Title, Paper: e.Paper, State: e.State, Scale: o.Scale,
		Started: time.Now().UTC().Truncate(time.Second), Machine: m, Setup: e.Setup,
		Claims: paper.ClaimsOf(e.ID),
	}
	if e.Run == nil || e.State == NotBuilt {
		r.Status = StatusNotBuilt
		return r
	}
	begin := time.Now()
	out, err := call(ctx, e, o, prog)
	r.Duration = time.Since(begin)
	r.Seconds = r.Duration.Seconds()
	if err == nil && out == nil {
		err = errors.New("experiment returned no outcome")
	}
	if err == nil {
		err = resolve(out.Metrics, paper)
	}
	if out != nil {
		r.Metrics, r.Figures, r.Notes, r.Data = out.Metrics, out.Figures, out.Notes, out.Data
	}
	if err == nil {
		for _, f := range r.Figures {
			paths, rerr := plots.Render(f, o.Out)
			if rerr != nil {
				err = fmt.Errorf("cannot draw figure %s: %w", f.Name, rerr)
				break
			}
			for _, p := range paths {
				r.Files = append(r.Files, filepath.Base(p))
			}
		}
	}
	if err != nil {
		r.Status, r.Error = StatusFailed, err.Error()
	} else {
		r.Status = StatusOK
	}
	return r
}

// call runs e under its timeout and turns a panic into an error.
func call(ctx context.Context, e *Experiment, o Options, prog *progress) (out *Outcome, err error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("not run: %w", err)
	}
	env := &Env{Scale: o.Scale, Manta: o.Manta, Out: o.Out, Seeds: o.Seeds, progress: prog.update}
	return e.Run(ctx, env)
}

// peerRayPath is where a `--peers` run keeps Ray's microbenchmark.
func peerRayPath(out string) string { return filepath.Join(out, "peers", "ray.json") }

// runPeers installs and runs the peers, saving their results under
// o.Out; the experiments that compare with them then read them.
func runPeers(ctx context.Context, o Options) error {
	log := o.Progress
	if log == nil {
		log = io.Discard
	}
	var names []string
	for _, r := range micro.Rows(runtime.NumCPU()) {
		names = append(names, r.Name)
	}
	r, err := peers.RunRay(ctx, peers.RayOptions{Log: log, Rows: names})
	if err != nil {
		return err
	}
	path := peerRayPath(o.Out)
	if err := r.Save(path); err != nil {
		return fmt.Errorf("peers: %w", err)
	}
	fmt.Fprintf(log, "peers: Ray %s's microbenchmark (%d rows manta has) in %s\n", r.Version, len(r.Rows), path)
	return nil
}
