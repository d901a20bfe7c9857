// Command manta is manta's command-line tool: `manta bench` reproduces the
// paper's figures, `manta microbenchmark` measures the task and actor paths
// against in-process baselines and Ray's published numbers, `manta start`,
// `status` and `stop` run a cluster's head and nodes, `manta rl` trains,
// `manta version` prints the version.
//
// The binary is also its own worker: the node re-executes it in worker
// mode, which is why main calls core.WorkerMain before anything else.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"manta/benchmarks/micro"
	"manta/core"
)

// version is the release this tree will become.
const version = "0.1.0-dev"

func main() {
	core.WorkerMain()
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "manta:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New(`usage: manta <command> [flags]

commands:
  bench            reproduce the paper's evaluation into results/ (see -h)
  chaos            run tasks and actors on a local cluster while killing its processes with
                   SIGKILL, and count wrong results and hangs: manta chaos --tasks 100000
  gcs              run one GCS shard replica (see -h)
  microbenchmark   measure tasks and actor calls (see -h)
  rl               train with PPO, ES or A2C: manta rl ppo --env CartPole-v1 --workers 2 --seed 1
  start --head     start a head: the GCS (a monitor, --gcs-shards × --gcs-replicas replica
                   processes), the node watcher and this machine's node
  start --address  start a node that joins the head at HOST:PORT (token from the head's file)
  status           list the cluster's nodes, alive or dead, with their resources
  list             list a running cluster's tasks, actors, objects or workers:
                   manta list tasks --filter state=RUNNING --limit 0
  summary tasks    count a running cluster's tasks by function and state
  dashboard        print the URL (with the token) of the dashboard the head here serves
  timeline         write the task-life events a program recorded (run it with
                   MANTA_EVENTS_DIR=DIR) as a Chrome trace: manta timeline --dir DIR
  stop             stop the heads and nodes this machine started
  probe            eBPF: where a driver's sync round trips spend their time: manta probe --pid PID
  version          print the version`)

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "version":
		fmt.Fprintf(out, "manta %s (%s %s/%s%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, revision())
		return nil
	case "gcs":
		return gcsCommand(args[1:], out)
	case "start":
		return startCommand(args[1:], out)
	case "status":
		return statusCommand(args[1:], out)
	case "list":
		return listCommand(args[1:], out)
	case "timeline":
		return timelineCommand(args[1:], out)
	case "dashboard":
		return dashboardCommand(args[1:], out)
	case "summary":
		return summaryCommand(args[1:], out)
	case "stop":
		return stopCommand(args[1:], out)
	case "microbenchmark":
		return microbenchmark(args[1:], out)
	case "bench":
		return bench(args[1:], out)
	case "chaos":
		return chaosCommand(args[1:], out)
	case "rl":
		return rlCommand(args[1:], out)
	case "probe":
		return probeCommand(args[1:], out)
	case "-h", "--help", "help":
		fmt.Fprintln(out, errUsage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%v", args[0], errUsage)
}

// eventsOverheadRun is `manta microbenchmark --events-overhead`.
func eventsOverheadRun(rows []micro.Row, d time.Duration, selected map[string]bool, sample int, asJSON bool, out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	if !asJSON {
		what := fmt.Sprintf("task-life events (of 1 task in %d) off and on", sample)
		if sample == micro.ControlSample {
			what = "the control: task-life events off in both" // the columns' "on" is then off too
		}
		fmt.Fprintf(out, "manta %s microbenchmark on %d CPUs, %v per row, %s in alternating slices of %v\n", version, runtime.NumCPU(), d, what, micro.OverheadSlice)
		fmt.Fprintln(tw, "row\tevents off\tevents on\ton/off\t95% interval\tpairs\tunit\t")
	}
	enc := json.NewEncoder(out)
	err := micro.MeasureEventsOverhead(context.Background(), rows, d, selected, sample, func(o micro.Overhead) {
		if asJSON {
			_ = enc.Encode(o)
			return
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.3f–%.3f\t%d\t%s\t\n", o.Name, number(o.Off), number(o.On), o.Ratio, o.Low, o.High, o.Pairs, o.Unit)
	})
	tw.Flush()
	return err
}

// number prints a measurement with three significant digits, without an
// exponent for the magnitudes the table has.
func number(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return ", commit " + s.Value[:12]
			}
		}
	}
	return ""
}

func microbenchmark(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("microbenchmark", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object per row")
	duration := fs.Duration("duration", 2*time.Second, "time to measure each row (and again its baseline)")
	only := fs.String("only", "", "comma-separated row names to run (default: all)")
	queued := fs.Int("queued", 1000000, "tasks to queue for the memory row (0 skips it)")
	cpuProfile := fs.String("cpuprofile", "", "write the driver's CPU profile (go tool pprof) to this file")
	eventsOverhead := fs.Bool("events-overhead", false, "measure each row with task-life events off and on, in alternating slices (recorded to a temporary directory, removed after)")
	eventsSample := fs.Int("events-sample", 1, "with --events-overhead: record the events of one task in this many (a power of two); 0 is an A/A control, recording off in both slices, that shows the method's own spread")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rows := micro.Rows(runtime.NumCPU())
	selected := map[string]bool{}
	if *only != "" {
		known := map[string]bool{}
		for _, r := range rows {
			known[r.Name] = true
		}
		known[micro.QueuedRow] = true
		for _, name := range strings.Split(*only, ",") {
			if !known[name] {
				return fmt.Errorf("unknown row %q", name)
			}
			selected[name] = true
		}
	}
	if *eventsOverhead {
		return eventsOverheadRun(rows, *duration, selected, *eventsSample, *asJSON, out)
	}
	cluster, err := core.Init(core.Config{})
	if err != nil {
		return err
	}
	defer cluster.Shutdown()

	var tw *tabwriter.Writer
	if !*asJSON {
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(out, "manta %s microbenchmark on %d CPUs, %v per row; baseline = same work as goroutines+channels in this process\n", version, runtime.NumCPU(), *duration)
		fmt.Fprintln(tw, "row\tmanta\tbaseline\tmanta/baseline\tRay 2.48\tmanta/Ray\tunit\t")
	}
	enc := json.NewEncoder(out)
	report := func(r micro.Result) {
		if *asJSON {
			_ = enc.Encode(r)
			return
		}
		ray, vsRay := "-", "-"
		if r.Ray != nil {
			ray, vsRay = fmt.Sprintf("%.2f", *r.Ray), fmt.Sprintf("%.1fx", r.Value / *r.Ray)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%s\t%s\t%s\t\n", r.Name, number(r.Value), number(r.Baseline), r.Value/r.Baseline, ray, vsRay, r.Unit)
	}
	ctx := context.Background()
	err = micro.Run(ctx, rows, *duration, selected, report)
	if err == nil && *queued > 0 && (len(selected) == 0 || selected[micro.QueuedRow]) {
		err = micro.RunQueued(ctx, *queued, report)
	}
	if tw != nil {
		tw.Flush()
		fmt.Fprintln(out, "node:", cluster.Stats())
	}
	return err
}
