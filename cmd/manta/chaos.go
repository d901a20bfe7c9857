package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"manta/cluster"
	"manta/core"
	"manta/gcs"
	"manta/gcs/client"
	"manta/gcs/server"
)

// `manta chaos` is the acceptance check of fault tolerance: a local
// cluster of separate processes on loopback (a head with a chain of three
// GCS replicas, worker nodes, and this process as the driver) runs a
// large workload whose every result the driver can compute itself, while
// processes are killed with SIGKILL one at a time: a node's worker, an
// actor's process, a node manager (after its replacement joined) and a GCS
// replica. It counts what came back right, wrong, failed with a typed
// error, or never came back (a hang), and fails on anything but right
// results and the typed errors the runtime documents for such a loss.

// chaosResource is what only the worker nodes offer, so that every task
// and actor runs on a process that may be killed, never in the driver or
// the head.
const chaosResource = "chaos"

var (
	chaosTaskShape  = map[string]float64{"CPU": 1, chaosResource: 1}
	chaosActorShape = map[string]float64{chaosResource: 1}

	// chaosPlain is a task with an inline result.
	chaosPlain = core.Register1("chaos.plain", func(i int64) (uint64, error) {
		chaosRan(chaosRunPlain)
		return chaosMix(uint64(i)), nil
	}, core.WithResources(chaosTaskShape))
	// chaosFill makes a chain's first stored value; chaosStep the next
	// one, read in place; chaosDigest sums the last, so the driver checks
	// a whole chain without pulling it.
	chaosFill = core.Register2("chaos.fill", func(seed int64, size int) ([]byte, error) {
		chaosRan(chaosRunFill)
		return chaosValue(seed, 0, size), nil
	}, core.WithResources(chaosTaskShape))
	chaosStep = core.Register1("chaos.step", func(prev *core.View[byte]) ([]byte, error) {
		out := slices.Clone(prev.Data())
		for j := 8; j < len(out); j++ {
			out[j]++
		}
		chaosRan(chaosRunStep)
		return out, nil
	}, core.WithResources(chaosTaskShape))
	chaosDigest = core.Register1("chaos.digest", func(b []byte) (chaosSum, error) {
		chaosRan(chaosRunDigest)
		if len(b) < 8 {
			return chaosSum{Len: len(b)}, nil
		}
		return chaosSum{Seed: int64(binary.LittleEndian.Uint64(b)), Len: len(b), Sum: chaosHash(b[8:])}, nil
	}, core.WithResources(chaosTaskShape))

	// chaosChecker is an actor whose calls say which incarnation ran them
	// and in what order, so the driver checks their order as well as their
	// values. Its calls are retried across restarts.
	chaosChecker = core.RegisterActor1("chaos.Checker", func(id int) (*chaosActor, error) {
		return &chaosActor{id: id, incarnation: rand.Uint64() | 1}, nil
	}, core.WithActorResources(chaosActorShape), core.WithMaxTaskRetries(-1))
	chaosCall = core.RegisterMethod1(chaosChecker, "Call", func(a *chaosActor, i int64) (chaosReply, error) {
		a.seq++
		chaosRan(chaosRunCall)
		return chaosReply{Actor: a.id, Value: chaosMix(uint64(i) ^ uint64(a.id)<<48), Incarnation: a.incarnation, Seq: a.seq,
			PID: os.Getpid(), PPID: os.Getppid(), Ran: time.Now().UnixNano()}, nil
	})
)

// chaosRunsEnv names the directory where each process of the cluster
// counts the runs of chaos's tasks it finished, in a file of its own
// (rewritten at each run, so it survives a SIGKILL): beyond one run a
// task, they are runs again (lost values made again, retried calls).
const chaosRunsEnv = "MANTA_CHAOS_RUNS"

// The kinds of runs counted.
const (
	chaosRunPlain = iota
	chaosRunFill
	chaosRunStep
	chaosRunDigest
	chaosRunCall
	chaosRunKinds
)

// chaosRuns is this process's count of runs.
var chaosRuns struct {
	once sync.Once
	mu   sync.Mutex
	f    *os.File
	n    [chaosRunKinds]uint64
	buf  [8 * chaosRunKinds]byte
}

// chaosRan counts a finished run of kind, where the cluster asked for it.
func chaosRan(kind int) {
	c := &chaosRuns
	c.once.Do(func() {
		if dir := os.Getenv(chaosRunsEnv); dir != "" {
			c.f, _ = os.OpenFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), os.O_CREATE|os.O_WRONLY, 0o600)
		}
	})
	if c.f == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[kind]++
	for k, n := range c.n {
		binary.LittleEndian.PutUint64(c.buf[8*k:], n)
	}
	c.f.WriteAt(c.buf[:], 0)
}

// chaosCountRuns adds up the runs every process counted in dir.
func chaosCountRuns(dir string) (runs [chaosRunKinds]int64) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || len(b) < 8*chaosRunKinds {
			continue
		}
		for k := range runs {
			runs[k] += int64(binary.LittleEndian.Uint64(b[8*k:]))
		}
	}
	return runs
}

// chaosSum is what chaosDigest says of a chain's last value.
type chaosSum struct {
	Seed int64
	Len  int
	Sum  uint64
}

type chaosActor struct {
	id          int
	incarnation uint64 // random, new with each restart (its state is not kept)
	seq         int64
}

// chaosReply is an actor call's result: its value, and which incarnation
// of the actor ran it, as its seq-th call, in which process under which
// node manager, when (Unix nanoseconds: every process is on this machine).
type chaosReply struct {
	Actor       int
	Value       uint64
	Incarnation uint64
	Seq         int64
	PID, PPID   int
	Ran         int64
}

// chaosMix is splitmix64: the value of task i.
func chaosMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// chaosValue is a chain's value after links steps: the seed in the first 8
// bytes (so a value of another chain is told apart), then bytes that
// depend on their position, the seed and the step.
func chaosValue(seed int64, links, size int) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint64(b, uint64(seed))
	add := byte(seed) + byte(links)
	for j := 8; j < size; j++ {
		b[j] = byte(j*7+j>>8) + add
	}
	return b
}

// chaosHash hashes b a word at a time (FNV-1a's constants).
func chaosHash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * 1099511628211
		b = b[8:]
	}
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// chaosOptions are the flags of `manta chaos`.
type chaosOptions struct {
	tasks        int64
	batch        int
	nodes, cpus  int
	actors       int
	links        int
	valueBytes   int
	kills        []string
	batchTimeout time.Duration
	nodeTimeout  time.Duration
	seed         uint64
	retries      int
	asJSON       bool
	keepLogs     bool
}

// errChaosHang ends a run in which a result did not come back.
var errChaosHang = errors.New("hang")

// chaosKillKinds are what --kills may name.
var chaosKillKinds = []string{"worker", "actor", "node", "gcs"}

// chaosCommand is `manta chaos`: it starts the cluster in a temporary
// state directory, runs the workload with its kills, stops the cluster,
// and prints the counts; it fails on a wrong result, a hang, an error the
// runtime does not document here, or an anomaly (see chaosRun.finish).
func chaosCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(out)
	var o chaosOptions
	fs.Int64Var(&o.tasks, "tasks", 1_000_000, "tasks to run: plain tasks, chain links and actor calls together")
	fs.IntVar(&o.batch, "batch", 10_000, "tasks per batch, submitted, then read, checked and released (the driver holds two batches at most)")
	fs.IntVar(&o.nodes, "nodes", 3, "worker nodes")
	fs.IntVar(&o.cpus, "cpus", 2, "CPUs each worker node offers")
	fs.IntVar(&o.actors, "actors", 4, "actors, each called in turn")
	fs.IntVar(&o.links, "links", 2, "steps of each chain after its first stored value")
	fs.IntVar(&o.valueBytes, "value-bytes", 104<<10, "bytes of each stored value of a chain (over the 100 KiB inline limit: stored in the node that made it)")
	kills := fs.String("kills", "worker,actor,node,gcs", "what to kill with SIGKILL, one at a time, spaced evenly over the run: "+
		"worker (a process of a worker node), actor (an actor's process), node (a worker node's manager, once its replacement joined), gcs (a GCS replica)")
	fs.DurationVar(&o.batchTimeout, "batch-timeout", 2*time.Minute, "a result not back this long after its batch was submitted is a hang")
	fs.DurationVar(&o.nodeTimeout, "node-timeout", 2*time.Second, "the head marks a node silent this long dead")
	fs.Uint64Var(&o.seed, "seed", 1, "chooses the victims")
	fs.IntVar(&o.retries, "max-retries", core.DefaultMaxRetries, "retries of each task after its worker or its result is lost (WithMaxRetries)")
	fs.BoolVar(&o.asJSON, "json", false, "print the summary as one JSON object (progress goes to stderr)")
	fs.BoolVar(&o.keepLogs, "keep-logs", false, "keep the cluster's logs when the run passes too (a failed run keeps them)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("chaos: unexpected arguments %q", fs.Args())
	}
	if *kills != "" {
		o.kills = strings.Split(*kills, ",")
	}
	for _, k := range o.kills {
		if !slices.Contains(chaosKillKinds, k) {
			return fmt.Errorf("chaos: --kills: unknown %q (one of %s)", k, strings.Join(chaosKillKinds, ", "))
		}
	}
	switch {
	case o.tasks <= 0 || o.batch <= 0 || o.cpus <= 0 || o.links < 0:
		return errors.New("chaos: --tasks, --batch and --cpus must be positive, --links not negative")
	case o.nodes < 2:
		return errors.New("chaos: --nodes must be 2 at least, so that a killed node's work has somewhere to go")
	case o.actors < 1:
		return errors.New("chaos: --actors must be 1 at least")
	case o.valueBytes < 16:
		return errors.New("chaos: --value-bytes must be 16 at least")
	case (o.tasks+int64(o.batch)-1)/int64(o.batch) <= int64(len(o.kills)):
		// Each kill comes after a batch of its own, with work still to do.
		return fmt.Errorf("chaos: %d tasks in batches of %d are too few batches for %d kills: raise --tasks or lower --batch", o.tasks, o.batch, len(o.kills))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	progress := out
	if o.asJSON {
		progress = os.Stderr
	}
	command := []string{"manta", "chaos"}
	for _, a := range args {
		command = append(command, chaosQuote(a))
	}
	r := &chaosRun{o: o, progress: progress, report: chaosReport{Command: strings.Join(command, " "),
		ByKind: map[string]*chaosTally{}, Errors: map[string]int64{}, ErrorExamples: map[string]string{}}}
	var settings []string
	fs.VisitAll(func(f *flag.Flag) { settings = append(settings, "--"+f.Name+"="+f.Value.String()) })
	r.report.Settings = strings.Join(settings, " ")
	runErr := r.run(ctx)
	r.finish(runErr)
	if r.dir != "" {
		if !r.report.Passed || o.keepLogs {
			r.keepLogs()
		}
		os.RemoveAll(r.dir)
	}
	if o.asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(&r.report); err != nil {
			return err
		}
	} else {
		r.print(out)
	}
	if !r.report.Passed {
		return fmt.Errorf("chaos: %s", r.report.Verdict)
	}
	return nil
}

// chaosQuote quotes a for a shell where it needs it, so that the command
// line printed can be run again as it is.
func chaosQuote(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._=/:+-") == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

// chaosTally counts the tasks of one kind by how they ended.
type chaosTally struct {
	Submitted int64 `json:"submitted"`
	Correct   int64 `json:"correct"`
	Wrong     int64 `json:"wrong"`
	Failed    int64 `json:"failed"`
	Hung      int64 `json:"hung"`
	// NotChecked were submitted but not read back: the run stopped first
	// (a hang elsewhere, an interrupt).
	NotChecked int64 `json:"not_checked"`
}

// chaosKill is one kill: what, when, and what followed.
type chaosKill struct {
	Kind   string `json:"kind"`
	Target string `json:"target"`
	PID    int    `json:"pid"`
	// At is the time from the workload's start; Submitted and Checked the
	// tasks submitted and read back by then.
	AtSeconds float64 `json:"at_s"`
	Submitted int64   `json:"tasks_submitted"`
	Checked   int64   `json:"tasks_checked"`
	// After is what the cluster did about it (a node marked dead, a
	// replica restarted); Anomaly what it failed to do.
	After   string `json:"after,omitempty"`
	Anomaly string `json:"anomaly,omitempty"`
}

// chaosNode is a node of the cluster.
type chaosNode struct {
	Name   string `json:"name"`
	PID    int    `json:"pid"`
	ID     string `json:"id"`
	Addr   string `json:"addr"`
	State  string `json:"state"`
	Killed bool   `json:"killed,omitempty"`
}

// chaosReport is the run's result, printed or encoded as JSON.
type chaosReport struct {
	Command string `json:"command"`
	// Settings are every flag's value, defaults included.
	Settings string `json:"settings"`
	Passed   bool   `json:"passed"`
	Verdict  string `json:"verdict"`
	Cluster  string `json:"cluster"`
	// Tasks are all kinds together; a chain's tasks count as its digest,
	// which checks the whole chain, came back.
	Tasks  chaosTally             `json:"tasks"`
	ByKind map[string]*chaosTally `json:"by_kind"`
	// StoredReads are the chains' last values the driver read itself
	// (pulled from the node that made them, or made again).
	StoredReads chaosTally `json:"stored_reads"`
	// Errors counts the failed tasks by the sentinel their error wraps
	// ("untyped" for none); Unexpected those the runtime does not document
	// for this workload.
	Errors        map[string]int64  `json:"errors"`
	Unexpected    int64             `json:"unexpected_errors"`
	ErrorExamples map[string]string `json:"error_examples,omitempty"`
	WrongExamples []string          `json:"wrong_examples,omitempty"`
	Hangs         []string          `json:"hangs,omitempty"`
	// Runs are the runs of the workload's tasks that the cluster's
	// processes finished, by function; RanAgain, at least, those beyond
	// one a task (lost values made again, calls retried): of each
	// function, its runs beyond its tasks.
	Runs     map[string]int64 `json:"runs"`
	RanAgain int64            `json:"ran_again"`
	// InterleavedAnswers counts actor calls answered by an incarnation
	// after a newer one had answered an earlier call (allowed: see
	// checkCall); Interleaved describes the first few.
	InterleavedAnswers int64 `json:"interleaved_actor_answers"`
	// Overlaps are actors seen with two incarnations running calls at
	// once (wrong: an actor is one instance at a time).
	Overlaps    []string     `json:"overlapping_incarnations,omitempty"`
	Interleaved []string     `json:"interleaved,omitempty"`
	Kills       []*chaosKill `json:"kills"`
	Anomalies   []string     `json:"anomalies,omitempty"`
	// Nodes are the cluster's nodes, the driver's included, with the
	// addresses their peers reach them at (errors name them).
	Nodes       []chaosNode `json:"nodes,omitempty"`
	WallSeconds float64     `json:"wall_s"`
	TasksPerSec float64     `json:"tasks_per_s"`
	Logs        string      `json:"logs,omitempty"`
	Error       string      `json:"error,omitempty"`
}

// chaosErrorKinds are the sentinels a failed task is counted by, most
// specific first, and whether the runtime documents them for this
// workload: every task has retries, every actor restarts more often than
// it can be killed and retries its calls, lineage is far below its cap,
// and some node can always run everything.
var chaosErrorKinds = []struct {
	name       string
	err        error
	documented bool
}{
	{"ErrObjectLost+ErrRetriesExhausted", core.ErrRetriesExhausted, true},
	{"ErrObjectLost+ErrLineageEvicted", core.ErrLineageEvicted, true},
	{"ErrObjectLost", core.ErrObjectLost, false},
	{"ErrWorkerDied", core.ErrWorkerDied, true},
	{"ErrActorDied", core.ErrActorDied, false},
	{"ErrInfeasible", core.ErrInfeasible, false},
	{"ErrStoreFull", core.ErrStoreFull, false},
	{"ErrObjectFreed", core.ErrObjectFreed, false},
	{"ErrBinaryUnavailable", core.ErrBinaryUnavailable, false},
	{"ErrCancelled", core.ErrCancelled, false},
	{"ErrShutdown", core.ErrShutdown, false},
	{"ErrDecode", core.ErrDecode, false},
	{"ErrBadArguments", core.ErrBadArguments, false},
	{"ErrUnknownFunction", core.ErrUnknownFunction, false},
	{"ErrTaskFailed", core.ErrTaskFailed, false},
}

// chaosErrorKind names err's sentinel, and says whether it is documented
// here.
func chaosErrorKind(err error) (string, bool) {
	for _, k := range chaosErrorKinds {
		if errors.Is(err, k.err) {
			return k.name, k.documented
		}
	}
	return "untyped", false
}

// chaosProc is one `manta start` process of the cluster.
type chaosProc struct {
	name     string
	cmd      *exec.Cmd
	nodeID   string
	joined   chan string // its node's ID, once it printed it
	address  chan string // a head's GCS monitor
	exited   chan struct{}
	killed   bool
	resource string // the --resources it was started with
}

// chaosRun is one run of the command.
type chaosRun struct {
	o        chaosOptions
	progress io.Writer
	began    time.Time // the workload's start

	dir, logDir string
	runsDir     string
	ended       time.Time            // the workload's end
	runsBefore  [chaosRunKinds]int64 // the warm-up's runs
	exe         string
	env         []string // of the cluster's processes
	address     string
	token       []byte
	head        *chaosProc
	nodes       []*chaosProc // worker nodes, replacements included
	nodeSeq     int
	api         *client.Client
	rng         *rand.Rand

	// The workload's functions, with --max-retries.
	plain  *core.Func1[int64, uint64]
	fill   *core.Func2[int64, int, []byte]
	step   *core.Func1[*core.View[byte], []byte]
	digest *core.Func1[[]byte, chaosSum]

	actors []core.Actor[chaosActor]
	// Where each actor was last seen, from its replies; and its order
	// check's state.
	actorAt  []chaosReply
	actorSeq []chaosOrder
	sums     map[byte]uint64 // expected chaosHash of a value's body, by seed+links

	// mu guards report for the watchdog; observers are the goroutines that
	// watch what follows a kill.
	mu        sync.Mutex
	report    chaosReport
	observers sync.WaitGroup
	lastMove  atomic.Int64 // unix nanoseconds of the driver's last progress
	stopped   atomic.Bool
}

// chaosOrder is the order check of one actor's calls, taken in the
// order they were made.
type chaosOrder struct {
	// ordinal is the next call's number among the actor's calls (the
	// warm-up's is 0), whatever their outcome.
	ordinal int64
	// seen is each incarnation's last answer; newest the incarnation that
	// answered most recently for the first time.
	seen   map[uint64]chaosSeen
	newest uint64
	// lives are the incarnations' spans of calls; overlapping those
	// reported.
	lives       map[uint64]*chaosLife
	overlapping map[[2]uint64]bool
	// recent are the last answers, and note the index in the report's
	// Interleaved of a description still taking the answers after it.
	recent   []string
	note     int
	noteLeft int
}

// chaosSeen is an incarnation's answer: its seq for the call of ordinal.
type chaosSeen struct{ seq, ordinal int64 }

// chaosLife is when an incarnation was seen running calls, first and
// last, and under which node manager.
type chaosLife struct {
	first, last int64
	ppid        int
}

// run starts the cluster, runs the workload with its kills, and stops the
// cluster; the report says what happened.
func (r *chaosRun) run(ctx context.Context) (err error) {
	o := r.o
	r.rng = rand.New(rand.NewPCG(o.seed, 0x63686173))
	r.report.Cluster = fmt.Sprintf("head (GCS: 1 shard × 3 replica processes) + %d worker nodes × %d CPUs, the driver in this process; "+
		"%d actors; chains of 1+%d stored values of %d bytes; tasks retried %d times", o.nodes, o.cpus, o.actors, o.links, o.valueBytes, o.retries)
	if r.exe, err = os.Executable(); err != nil {
		return err
	}
	if r.dir, err = os.MkdirTemp("", "manta-chaos-"); err != nil {
		return err
	}
	r.logDir, r.runsDir = filepath.Join(r.dir, "logs"), filepath.Join(r.dir, "runs")
	for _, d := range []string{r.logDir, r.runsDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	defer r.cleanup()
	r.token = server.NewToken()
	restore := r.setEnv()
	defer restore()
	if err := r.startCluster(ctx); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(r.logDir, "driver.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	driver, err := core.Init(core.Config{Address: r.address, Heartbeat: 100 * time.Millisecond, Resources: map[string]float64{"CPU": 0},
		StoreBytes: 256 << 20, Logger: slog.New(slog.NewTextHandler(logFile, nil))})
	if err != nil {
		return fmt.Errorf("chaos: the driver cannot join: %w", err)
	}
	defer r.shutdown(driver)
	if err := r.warmUp(ctx); err != nil {
		return err
	}
	r.runsBefore = chaosCountRuns(r.runsDir)
	go r.watchdog()
	err = r.workload(ctx)
	if r.ended.IsZero() {
		r.ended = time.Now()
	}
	r.listNodes(driver)
	r.countRuns()
	return err
}

// listNodes records the cluster's nodes as the GCS lists them.
func (r *chaosRun) listNodes(driver *core.Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listed, err := cluster.List(ctx, r.api)
	if err != nil {
		r.anomaly(fmt.Sprintf("listing the nodes at the end: %v", err))
		return
	}
	procs := map[string]*chaosProc{}
	for _, p := range append(slices.Clone(r.nodes), r.head) {
		if p.nodeID == "" { // a replacement not waited for yet
			select {
			case p.nodeID = <-p.joined:
			default:
			}
		}
		procs[p.nodeID] = p
	}
	var nodes []chaosNode
	for _, n := range listed {
		c := chaosNode{ID: string(n.ID), Addr: n.Addr, State: fmt.Sprint(n.State)}
		if p := procs[c.ID]; p != nil {
			c.Name, c.PID, c.Killed = p.name, p.cmd.Process.Pid, p.killed
		} else if c.ID == driver.NodeID() {
			c.Name, c.PID = "driver", os.Getpid()
		}
		nodes = append(nodes, c)
	}
	r.mu.Lock()
	r.report.Nodes = nodes
	r.mu.Unlock()
}

// countRuns records the runs of the workload's tasks.
func (r *chaosRun) countRuns() {
	after := chaosCountRuns(r.runsDir)
	names := [chaosRunKinds]string{"plain", "fill", "step", "digest", "actor call"}
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &r.report
	chains := rep.ByKind["chain"].Submitted / int64(r.o.links+2)
	tasks := [chaosRunKinds]int64{rep.ByKind["plain"].Submitted, chains, chains * int64(r.o.links), chains, rep.ByKind["actor"].Submitted}
	rep.Runs = map[string]int64{}
	rep.RanAgain = 0
	for k, name := range names {
		rep.Runs[name] = after[k] - r.runsBefore[k]
		rep.RanAgain += max(0, rep.Runs[name]-tasks[k])
	}
}

// chaosClearedEnv are the variables that would configure the cluster's
// processes, or the driver, otherwise than chaos does: they are removed
// from its processes' environment and, while it runs, from its own.
var chaosClearedEnv = []string{"MANTA_ADDRESS", "MANTA_BIND", "MANTA_RESOURCES", "MANTA_HEARTBEAT", "MANTA_METRICS_ADDR",
	"MANTA_DIR", server.EnvToken, "MANTA_SPILL_DIR", "MANTA_STORE_BYTES", "MANTA_INLINE_BYTES", "MANTA_WAIT_FOR_NODES",
	"MANTA_SPILL_QUEUE", "MANTA_MAX_WORKERS", "MANTA_LINEAGE_BYTES", "MANTA_EVENTS_DIR", "MANTA_EVENTS_SAMPLE"}

// setEnv gives this process the cluster's state directory and token, for
// the driver's core.Init and the state API's listings, and returns what
// puts the environment back.
func (r *chaosRun) setEnv() func() {
	saved := map[string]*string{}
	for _, name := range chaosClearedEnv {
		if v, ok := os.LookupEnv(name); ok {
			saved[name] = &v
		} else {
			saved[name] = nil
		}
		os.Unsetenv(name)
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, cleared := saved[name]; !cleared {
			r.env = append(r.env, kv)
		}
	}
	token := hex.EncodeToString(r.token)
	// Each node's store holds its share of two batches' values, and what
	// is made again.
	r.env = append(r.env, "MANTA_DIR="+r.dir, server.EnvToken+"="+token, "MANTA_STORE_BYTES="+strconv.Itoa(512<<20),
		chaosRunsEnv+"="+r.runsDir)
	os.Setenv("MANTA_DIR", r.dir)
	os.Setenv(server.EnvToken, token)
	return func() {
		for name, v := range saved {
			if v == nil {
				os.Unsetenv(name)
			} else {
				os.Setenv(name, *v)
			}
		}
	}
}

// startCluster starts the head and the worker nodes, and waits until
// each joined.
func (r *chaosRun) startCluster(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	head, err := r.start("head", "start", "--head", "--gcs-replicas", "3", "--node-timeout", r.o.nodeTimeout.String(),
		"--heartbeat", "100ms", "--resources", "CPU=1")
	if err != nil {
		return err
	}
	r.head = head
	select {
	case r.address = <-head.address:
	case <-head.exited:
		return fmt.Errorf("chaos: the head exited before it printed its address (see %s)", r.logDir)
	case <-ctx.Done():
		return fmt.Errorf("chaos: the head did not print its address: %w", ctx.Err())
	}
	if err := r.awaitJoined(ctx, head); err != nil {
		return err
	}
	r.api, err = cluster.Dial(ctx, r.address, r.token, 30*time.Second)
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	for range r.o.nodes {
		if _, err := r.startNode(); err != nil {
			return err
		}
	}
	for _, n := range r.nodes {
		if err := r.awaitJoined(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// startNode starts a worker node (it joins in the background).
func (r *chaosRun) startNode() (*chaosProc, error) {
	r.nodeSeq++
	res := fmt.Sprintf("CPU=%d,%s=1000", r.o.cpus, chaosResource)
	p, err := r.start(fmt.Sprintf("node-%d", r.nodeSeq), "start", "--address", r.address, "--heartbeat", "100ms", "--resources", res)
	if err != nil {
		return nil, err
	}
	p.resource = res
	r.nodes = append(r.nodes, p)
	return p, nil
}

// start runs `manta args…` with the cluster's environment, its output in
// a log file of its own.
func (r *chaosRun) start(name string, args ...string) (*chaosProc, error) {
	logFile, err := os.Create(filepath.Join(r.logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(r.exe, args...)
	cmd.Env = r.env
	cmd.Stderr = logFile
	// The kernel kills it should this process die, so that none outlives
	// a run killed from outside.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("chaos: starting %s: %w", name, err)
	}
	p := &chaosProc{name: name, cmd: cmd, joined: make(chan string, 1), address: make(chan string, 1), exited: make(chan struct{})}
	go func() {
		defer logFile.Close()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if _, rest, ok := strings.Cut(line, ": node "); ok && strings.Contains(rest, " joined with ") {
				id, _, _ := strings.Cut(rest, " ")
				select {
				case p.joined <- id:
				default:
				}
			}
			if _, addr, ok := strings.Cut(line, "nodes join with: manta start --address "); ok {
				select {
				case p.address <- strings.TrimSpace(addr):
				default:
				}
			}
		}
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (r *chaosRun) awaitJoined(ctx context.Context, p *chaosProc) error {
	if p.nodeID != "" {
		return nil
	}
	select {
	case p.nodeID = <-p.joined:
		return nil
	case <-p.exited:
		return fmt.Errorf("chaos: %s exited before joining (see %s)", p.name, filepath.Join(r.logDir, p.name+".log"))
	case <-ctx.Done():
		return fmt.Errorf("chaos: %s did not join: %w", p.name, ctx.Err())
	}
}

// warmUp creates the actors and runs a few tasks on every node before
// the clock starts: until the driver's view of the cluster (refreshed each
// heartbeat) has the nodes, their resources are infeasible.
func (r *chaosRun) warmUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	r.plain, r.fill, r.step, r.digest = chaosPlain, chaosFill, chaosStep, chaosDigest
	if n := r.o.retries; n != core.DefaultMaxRetries {
		retries := core.WithMaxRetries(n)
		r.plain, r.fill, r.step, r.digest = chaosPlain.Options(retries), chaosFill.Options(retries), chaosStep.Options(retries), chaosDigest.Options(retries)
	}
	for {
		_, err := r.plain.Remote(int64(-1)).Get(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, core.ErrInfeasible) || ctx.Err() != nil {
			return fmt.Errorf("chaos: warming up: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	refs := make([]core.Ref[uint64], 4*r.o.nodes*r.o.cpus)
	for i := range refs {
		refs[i] = r.plain.Remote(int64(-i))
	}
	_, err := core.GetAll(ctx, refs)
	core.ReleaseAll(refs)
	if err != nil {
		return fmt.Errorf("chaos: warming up: %w", err)
	}
	// More restarts than there are kills: none may exhaust them.
	checker := chaosChecker.Options(core.WithMaxRestarts(len(r.o.kills) + 1))
	for a := range r.o.actors {
		r.actors = append(r.actors, checker.Remote(a))
	}
	r.actorAt = make([]chaosReply, r.o.actors)
	r.actorSeq = make([]chaosOrder, r.o.actors)
	for a, h := range r.actors {
		rep, err := chaosCall.Remote(h, int64(-1)).Get(ctx)
		if err != nil {
			return fmt.Errorf("chaos: warming up actor %d: %w", a, err)
		}
		r.actorAt[a] = rep
		r.actorSeq[a] = chaosOrder{ordinal: 1, seen: map[uint64]chaosSeen{rep.Incarnation: {rep.Seq, 0}}, newest: rep.Incarnation}
	}
	r.sums = map[byte]uint64{}
	return nil
}

// chaosBatch is one batch's references, with what each must hold.
type chaosBatch struct {
	submitted time.Time
	plain     []core.Ref[uint64]
	plainIdx  []int64
	digests   []core.Ref[chaosSum]
	seeds     []int64
	reads     []core.Ref[[]byte] // chains' last values the driver reads
	readSeeds []int64
	calls     []core.Ref[chaosReply]
	callIdx   []int64
	callActor []int
}

// release gives up every reference left in b.
func (b *chaosBatch) release() {
	core.ReleaseAll(b.plain)
	core.ReleaseAll(b.digests)
	core.ReleaseAll(b.reads)
	core.ReleaseAll(b.calls)
}

// chaosReadEvery is how many chains go by for each whose last value the
// driver reads itself.
const chaosReadEvery = 8

// workload runs the batches, two in flight (one submitted while the
// other is read), with the kills after the batches that cross their
// marks.
func (r *chaosRun) workload(ctx context.Context) error {
	o := r.o
	r.began = time.Now()
	r.moved()
	kinds := []string{"plain", "chain", "actor"}
	r.mu.Lock()
	for _, k := range kinds {
		r.report.ByKind[k] = &chaosTally{}
	}
	r.mu.Unlock()
	var next int64 // the next task's index
	killed := 0
	var replacement *chaosProc
	var prev *chaosBatch
	if len(o.kills) > 0 && o.kills[0] == "node" {
		var err error
		if replacement, err = r.startNode(); err != nil {
			return err
		}
	}
	reported := int64(0)
	for next < o.tasks || prev != nil {
		var cur *chaosBatch
		if next < o.tasks && ctx.Err() == nil {
			cur = r.submit(&next)
			// Kill once a batch crossed the next mark, one kill a batch.
			if killed < len(o.kills) && next >= o.tasks*int64(killed+1)/int64(len(o.kills)+1) {
				if r.kill(ctx, o.kills[killed], &replacement) {
					killed++
					if killed < len(o.kills) && o.kills[killed] == "node" && replacement == nil {
						var err error
						if replacement, err = r.startNode(); err != nil {
							return err
						}
					}
				}
			}
		}
		if prev != nil {
			hung := r.collect(ctx, prev)
			prev.release()
			if hung || ctx.Err() != nil {
				if cur != nil {
					r.abandon(cur)
					cur.release()
				}
				r.abandonRest(o.tasks - next)
				if hung {
					r.stopped.Store(true) // the watchdog's work is done here
					r.ended = time.Now()
					fmt.Fprintf(r.progress, "chaos: results not back %v after their batch was submitted: collecting evidence\n", o.batchTimeout)
					r.evidence()
					return errChaosHang
				}
				return ctx.Err()
			}
		}
		prev = cur
		if checked := r.checked(); checked-reported >= o.tasks/10 || (prev == nil && next >= o.tasks) {
			reported = checked
			fmt.Fprintf(r.progress, "chaos: %d of %d tasks checked, %.1f s\n", checked, o.tasks, time.Since(r.began).Seconds())
		}
	}
	for ; killed < len(o.kills); killed++ {
		r.anomaly(fmt.Sprintf("kill %d (%s) was not done before the workload ended", killed+1, o.kills[killed]))
	}
	return nil
}

// checked is how many tasks have been read back, whatever their outcome.
func (r *chaosRun) checked() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.report.Tasks
	return t.Correct + t.Wrong + t.Failed + t.Hung
}

// submit submits the next batch: groups of a chain, an actor call and as
// many plain tasks as the chain has, then plain tasks to fill the batch.
func (r *chaosRun) submit(next *int64) *chaosBatch {
	o := r.o
	b := &chaosBatch{submitted: time.Now()}
	chainLen := int64(o.links + 2)
	group := 2*chainLen + 1
	end := min(*next+int64(o.batch), o.tasks)
	var plain, chain, actor, reads int64
	for *next < end {
		i := *next
		if end-i >= group {
			// A chain whose links the driver lets go as soon as the next
			// task holds them, so that only lineage can make them again.
			v := r.fill.Remote(i, o.valueBytes)
			for range o.links {
				w := r.step.Remote(v)
				v.Release()
				v = w
			}
			b.digests = append(b.digests, r.digest.Remote(v))
			b.seeds = append(b.seeds, i)
			if (i/group)%chaosReadEvery == 0 {
				reads++
				b.reads = append(b.reads, v)
				b.readSeeds = append(b.readSeeds, i)
			} else {
				v.Release()
			}
			a := int((i / group) % int64(len(r.actors)))
			b.calls = append(b.calls, chaosCall.Remote(r.actors[a], i+chainLen))
			b.callIdx = append(b.callIdx, i+chainLen)
			b.callActor = append(b.callActor, a)
			for k := i + chainLen + 1; k < i+group; k++ {
				b.plain = append(b.plain, r.plain.Remote(k))
				b.plainIdx = append(b.plainIdx, k)
			}
			chain += chainLen
			actor++
			plain += chainLen
			*next += group
		} else {
			b.plain = append(b.plain, r.plain.Remote(i))
			b.plainIdx = append(b.plainIdx, i)
			plain++
			*next++
		}
		r.moved()
	}
	r.mu.Lock()
	r.report.ByKind["plain"].Submitted += plain
	r.report.ByKind["chain"].Submitted += chain
	r.report.ByKind["actor"].Submitted += actor
	r.report.Tasks.Submitted += plain + chain + actor
	r.report.StoredReads.Submitted += reads
	r.mu.Unlock()
	return b
}

// chaosOutcome is how one checked result ended.
type chaosOutcome int

const (
	chaosCorrect chaosOutcome = iota
	chaosWrong
	chaosFailed
	chaosHung
	chaosNotChecked
)

// collect reads back and checks every result of b, within b's deadline;
// it says whether any did not come back in time.
func (r *chaosRun) collect(ctx context.Context, b *chaosBatch) (hung bool) {
	o := r.o
	deadline, cancel := context.WithDeadline(ctx, b.submitted.Add(o.batchTimeout))
	defer cancel()
	chainLen := int64(o.links + 2)
	// outcome is a result's outcome: late (after an interrupt, not
	// checked), failed, right or wrong (wrong says how).
	outcome := func(err error, late, right bool, wrong func() string) chaosOutcome {
		switch {
		case late && ctx.Err() != nil:
			return chaosNotChecked
		case late:
			hung = true
			return chaosHung
		case err != nil:
			return chaosFailed
		case right:
			return chaosCorrect
		}
		r.mu.Lock()
		if len(r.report.WrongExamples) < 10 {
			r.report.WrongExamples = append(r.report.WrongExamples, wrong())
		}
		r.mu.Unlock()
		return chaosWrong
	}
	collectRefs(deadline, b.plain, r.moved, func(j int, v uint64, err error, late bool) {
		i := b.plainIdx[j]
		r.count("plain", 1, outcome(err, late, v == chaosMix(uint64(i)), func() string {
			return fmt.Sprintf("plain task %d returned %d, want %d", i, v, chaosMix(uint64(i)))
		}), err, b.plain[j].ID())
	})
	collectRefs(deadline, b.digests, r.moved, func(j int, s chaosSum, err error, late bool) {
		seed := b.seeds[j]
		want := chaosSum{Seed: seed, Len: o.valueBytes, Sum: r.sum(seed)}
		r.count("chain", chainLen, outcome(err, late, s == want, func() string {
			return fmt.Sprintf("chain %d: its last value's digest is %+v, want %+v", seed, s, want)
		}), err, b.digests[j].ID())
	})
	collectRefs(deadline, b.reads, r.moved, func(j int, v []byte, err error, late bool) {
		seed := b.readSeeds[j]
		right := len(v) == o.valueBytes && int64(binary.LittleEndian.Uint64(v)) == seed && chaosHash(v[8:]) == r.sum(seed)
		r.count("read", 1, outcome(err, late, right, func() string {
			return fmt.Sprintf("chain %d: the driver read its last value as %d bytes beginning %x, want %d bytes of seed %d",
				seed, len(v), v[:min(len(v), 16)], o.valueBytes, seed)
		}), err, b.reads[j].ID())
	})
	collectRefs(deadline, b.calls, r.moved, func(j int, rep chaosReply, err error, late bool) {
		i, a := b.callIdx[j], b.callActor[j]
		problem := ""
		if err == nil && !late {
			if problem = r.checkCall(a, i, rep); problem == "" {
				r.actorAt[a] = rep
			}
		}
		r.actorSeq[a].ordinal++
		r.count("actor", 1, outcome(err, late, problem == "", func() string {
			return fmt.Sprintf("actor %d, call %d: %s", a, i, problem)
		}), err, b.calls[j].ID())
	})
	return hung
}

// collectRefs Gets each of refs within ctx and hands it to check; once
// ctx has ended, those not ready within a moment are late, handed over
// with late set and no value.
func collectRefs[T any](ctx context.Context, refs []core.Ref[T], moved func(), check func(j int, v T, err error, late bool)) {
	for j, ref := range refs {
		if ctx.Err() == nil {
			v, err := ref.Get(ctx)
			// Get may see the deadline pass a moment before ctx does.
			if err == nil || ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
				check(j, v, err, false)
				moved()
				continue
			}
		}
		// The deadline passed: one short wait for all the rest, so that
		// a hang of many costs a moment, not a moment each.
		rest := refs[j:]
		short, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ready, _, err := core.Wait(short, rest, len(rest), 100*time.Millisecond)
		isReady := map[any]bool{} // by object ID
		if err == nil {
			for _, rr := range ready {
				isReady[rr.ID()] = true
			}
		}
		for k, rr := range rest {
			var v T
			err := context.DeadlineExceeded
			if isReady[rr.ID()] {
				// Ready, its bytes may still have to be pulled.
				v, err = rr.Get(short)
			}
			late := err != nil && (short.Err() != nil || errors.Is(err, context.DeadlineExceeded))
			check(j+k, v, err, late)
		}
		return
	}
}

// count adds one result, covering n tasks of kind ("read" for a stored
// value the driver read, which is no task of its own).
func (r *chaosRun) count(kind string, n int64, out chaosOutcome, err error, id fmt.Stringer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tallies := []*chaosTally{&r.report.StoredReads}
	if kind != "read" {
		tallies = []*chaosTally{r.report.ByKind[kind], &r.report.Tasks}
	}
	for _, t := range tallies {
		switch out {
		case chaosCorrect:
			t.Correct += n
		case chaosWrong:
			t.Wrong += n
		case chaosFailed:
			t.Failed += n
		case chaosHung:
			t.Hung += n
		case chaosNotChecked:
			t.NotChecked += n
		}
	}
	switch out {
	case chaosFailed:
		name, documented := chaosErrorKind(err)
		r.report.Errors[name] += n
		if !documented {
			r.report.Unexpected += n
		}
		if _, ok := r.report.ErrorExamples[name]; !ok {
			r.report.ErrorExamples[name] = fmt.Sprintf("%s (%s), read at %.1f s: %v", kind, id, time.Since(r.began).Seconds(), err)
		}
	case chaosHung:
		if len(r.report.Hangs) < 20 {
			r.report.Hangs = append(r.report.Hangs, fmt.Sprintf("%s %s", kind, id))
		}
	}
}

// abandon counts b's tasks as submitted but not checked.
func (r *chaosRun) abandon(b *chaosBatch) {
	chainLen := int64(r.o.links + 2)
	r.mu.Lock()
	defer r.mu.Unlock()
	for kind, n := range map[string]int64{"plain": int64(len(b.plain)), "chain": chainLen * int64(len(b.digests)), "actor": int64(len(b.calls))} {
		r.report.ByKind[kind].NotChecked += n
		r.report.Tasks.NotChecked += n
	}
	r.report.StoredReads.NotChecked += int64(len(b.reads))
}

// abandonRest notes the tasks never submitted because the run stopped.
func (r *chaosRun) abandonRest(n int64) {
	if n > 0 {
		r.anomaly(fmt.Sprintf("%d tasks were never submitted: the run stopped first", n))
	}
}

// sum is the expected hash of a chain's last value's body.
func (r *chaosRun) sum(seed int64) uint64 {
	key := byte(seed) + byte(r.o.links)
	s, ok := r.sums[key]
	if !ok {
		s = chaosHash(chaosValue(seed, r.o.links, r.o.valueBytes)[8:])
		r.sums[key] = s
	}
	return s
}

// checkCall checks actor a's answer to call i: its value, and that each
// incarnation of the actor ran its calls one at a time in the order they
// were made, each once. A restarted actor counts from the start again
// (its state is not kept). A call sent again to the new incarnation (at
// least once) may have run on the old one too, its answer lost: so an
// incarnation may skip calls, as many as others answered in between, but
// never run one twice or out of order. An old incarnation's answer after
// a newer one's (a call answered by the old one after an earlier call's
// answer was lost and that call sent again) is allowed, and noted.
func (r *chaosRun) checkCall(a int, i int64, rep chaosReply) string {
	want := chaosMix(uint64(i) ^ uint64(a)<<48)
	if rep.Actor != a || rep.Value != want {
		return fmt.Sprintf("reply %+v, want actor %d's value %d", rep, a, want)
	}
	s := &r.actorSeq[a]
	o := s.ordinal
	last, known := s.seen[rep.Incarnation]
	problem := ""
	switch {
	case !known && (rep.Seq < 1 || rep.Seq > o+1):
		problem = fmt.Sprintf("call %d ran as the first answered call of incarnation %x, its call %d, but the actor has had only %d calls",
			i, rep.Incarnation, rep.Seq, o+1)
	case known && rep.Seq <= last.seq:
		problem = fmt.Sprintf("call %d ran as incarnation %x's call %d, after its call %d answered the actor's call #%d: out of order, or twice",
			i, rep.Incarnation, rep.Seq, last.seq, last.ordinal)
	case known && rep.Seq-last.seq-1 > o-last.ordinal-1:
		problem = fmt.Sprintf("incarnation %x ran %d calls between the actor's calls #%d and #%d (call %d), but %d were made in between: a call ran twice on it",
			rep.Incarnation, rep.Seq-last.seq-1, last.ordinal, o, i, o-last.ordinal-1)
	}
	s.seen[rep.Incarnation] = chaosSeen{rep.Seq, o}
	r.checkLives(a, rep)
	answer := fmt.Sprintf("call %d: %04x#%d@%d %.3fs", i, rep.Incarnation>>48, rep.Seq, rep.PPID, time.Unix(0, rep.Ran).Sub(r.began).Seconds())
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.noteLeft > 0 {
		r.report.Interleaved[s.note] += " " + answer + ";"
		s.noteLeft--
	}
	switch {
	case !known:
		s.newest = rep.Incarnation
	case rep.Incarnation != s.newest:
		r.report.InterleavedAnswers++
		if len(r.report.Interleaved) < 5 && s.noteLeft == 0 {
			s.note, s.noteLeft = len(r.report.Interleaved), 8
			r.report.Interleaved = append(r.report.Interleaved, fmt.Sprintf(
				"actor %d: call %d answered by incarnation %04x (its call %d) after incarnation %04x had answered earlier calls; answers (call: incarnation#seq@node manager pid, when it ran) before: %s; this: %s; after:",
				a, i, rep.Incarnation>>48, rep.Seq, s.newest>>48, strings.Join(s.recent, "; "), answer))
		}
	}
	s.recent = append(s.recent, answer)
	if len(s.recent) > 10 {
		s.recent = s.recent[1:]
	}
	return problem
}

// checkLives checks that no two incarnations of actor a ran calls at the
// same time: a restart comes after its predecessor died, so each
// incarnation's calls all ran before the next one's first.
func (r *chaosRun) checkLives(a int, rep chaosReply) {
	s := &r.actorSeq[a]
	if s.lives == nil {
		s.lives, s.overlapping = map[uint64]*chaosLife{}, map[[2]uint64]bool{}
	}
	l := s.lives[rep.Incarnation]
	if l == nil {
		l = &chaosLife{first: rep.Ran, last: rep.Ran, ppid: rep.PPID}
		s.lives[rep.Incarnation] = l
	}
	l.first, l.last = min(l.first, rep.Ran), max(l.last, rep.Ran)
	for inc, other := range s.lives {
		pair := [2]uint64{min(inc, rep.Incarnation), max(inc, rep.Incarnation)}
		if inc == rep.Incarnation || s.overlapping[pair] || max(l.first, other.first) > min(l.last, other.last) {
			continue
		}
		s.overlapping[pair] = true
		at := func(t int64) float64 { return time.Unix(0, t).Sub(r.began).Seconds() }
		r.mu.Lock()
		r.report.Overlaps = append(r.report.Overlaps, fmt.Sprintf(
			"actor %d had two live incarnations: %04x (under node manager pid %d) ran calls from %.3f s to %.3f s, %04x (under pid %d) from %.3f s to %.3f s",
			a, rep.Incarnation>>48, l.ppid, at(l.first), at(l.last), inc>>48, other.ppid, at(other.first), at(other.last)))
		r.mu.Unlock()
	}
}

// moved notes progress, for the watchdog.
func (r *chaosRun) moved() { r.lastMove.Store(time.Now().UnixNano()) }

// anomaly records something that went wrong beside the results.
func (r *chaosRun) anomaly(s string) {
	r.mu.Lock()
	r.report.Anomalies = append(r.report.Anomalies, s)
	r.mu.Unlock()
	fmt.Fprintln(r.progress, "chaos: anomaly:", s)
}

// kill carries out a kill of kind, and says whether it was done (a
// worker kill finds no worker while the nodes have none).
func (r *chaosRun) kill(ctx context.Context, kind string, replacement **chaosProc) bool {
	k := &chaosKill{Kind: kind, AtSeconds: time.Since(r.began).Seconds(), Checked: r.checked()}
	r.mu.Lock()
	k.Submitted = r.report.Tasks.Submitted
	r.mu.Unlock()
	switch kind {
	case "worker":
		if !r.killWorker(k) {
			return false
		}
	case "actor":
		if !r.killActor(k) {
			return false
		}
	case "node":
		r.killNode(ctx, k, *replacement)
		*replacement = nil
	case "gcs":
		if !r.killReplica(k) {
			return false
		}
	}
	r.mu.Lock()
	r.report.Kills = append(r.report.Kills, k)
	r.mu.Unlock()
	fmt.Fprintf(r.progress, "chaos: at %.1f s (%d tasks submitted, %d checked): SIGKILL %s\n", k.AtSeconds, k.Submitted, k.Checked, k.Target)
	return true
}

// liveNodes are the worker nodes not killed, in a random order.
func (r *chaosRun) liveNodes() []*chaosProc {
	var live []*chaosProc
	for _, n := range r.nodes {
		if !n.killed && n.nodeID != "" {
			live = append(live, n)
		}
	}
	r.rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
	return live
}

// killWorker kills a worker process of a live worker node.
func (r *chaosRun) killWorker(k *chaosKill) bool {
	for _, n := range r.liveNodes() {
		var workers []int
		for _, pid := range chaosChildren(n.cmd.Process.Pid) {
			if chaosIsWorker(pid) {
				workers = append(workers, pid)
			}
		}
		if len(workers) == 0 {
			continue
		}
		pid := workers[r.rng.IntN(len(workers))]
		what := "a task worker"
		for a, at := range r.actorAt {
			if at.PID == pid {
				what = fmt.Sprintf("actor %d's process", a)
			}
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			continue
		}
		k.PID = pid
		k.Target = fmt.Sprintf("%s, pid %d, of %s (pid %d, one of its %d workers)", what, pid, n.name, n.cmd.Process.Pid, len(workers))
		return true
	}
	return false
}

// killActor kills the process of an actor, as its last reply named it.
func (r *chaosRun) killActor(k *chaosKill) bool {
	for _, a := range r.rng.Perm(len(r.actorAt)) {
		at := r.actorAt[a]
		if at.PID == 0 || chaosParent(at.PID) != at.PPID {
			continue // gone already, or its pid taken by another process
		}
		node := fmt.Sprintf("pid %d", at.PPID)
		for _, n := range r.nodes {
			if n.cmd.Process.Pid == at.PPID {
				node = fmt.Sprintf("%s (pid %d)", n.name, at.PPID)
			}
		}
		if err := syscall.Kill(at.PID, syscall.SIGKILL); err != nil {
			continue
		}
		k.PID = at.PID
		k.Target = fmt.Sprintf("actor %d's process, pid %d, of %s", a, at.PID, node)
		return true
	}
	return false
}

// killNode kills the manager of the live worker node that hosts the most
// actors (so that they are created again elsewhere), once replacement,
// started earlier with the same resources, joined; then watches the head
// mark it dead.
func (r *chaosRun) killNode(ctx context.Context, k *chaosKill, replacement *chaosProc) {
	joined := ""
	if replacement != nil {
		wait, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := r.awaitJoined(wait, replacement); err != nil {
			r.anomaly(fmt.Sprintf("the replacement node %s did not join: %v", replacement.name, err))
		} else {
			joined = fmt.Sprintf("; %s (pid %d) had joined in its place", replacement.name, replacement.cmd.Process.Pid)
		}
		cancel()
	}
	var victim *chaosProc
	most := -1
	for _, n := range r.liveNodes() {
		if n == replacement {
			continue
		}
		actors := 0
		for _, at := range r.actorAt {
			if at.PPID == n.cmd.Process.Pid {
				actors++
			}
		}
		if actors > most {
			victim, most = n, actors
		}
	}
	victim.killed = true
	victim.cmd.Process.Signal(syscall.SIGKILL)
	k.PID = victim.cmd.Process.Pid
	k.Target = fmt.Sprintf("node manager %s, pid %d, node %s, with %d of the actors and its workers%s", victim.name, k.PID, victim.nodeID, most, joined)
	killedAt := time.Now()
	r.observers.Go(func() {
		deadline := killedAt.Add(30 * time.Second)
		for time.Now().Before(deadline) {
			ask, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			nodes, err := cluster.List(ask, r.api)
			cancel()
			if err == nil {
				for _, n := range nodes {
					if string(n.ID) == victim.nodeID && n.State == gcs.NodeDead {
						r.note(k, fmt.Sprintf("the head marked it dead %.1f s after the kill", time.Since(killedAt).Seconds()), "")
						return
					}
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		r.note(k, "", fmt.Sprintf("the head had not marked node %s dead 30 s after the kill (node timeout %v)", victim.nodeID, r.o.nodeTimeout))
	})
}

// killReplica kills a GCS replica process (a child of the head running
// `manta gcs`), then watches the head start another.
func (r *chaosRun) killReplica(k *chaosKill) bool {
	before := r.replicas()
	if len(before) == 0 {
		return false
	}
	pid := before[r.rng.IntN(len(before))]
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return false
	}
	k.PID = pid
	k.Target = fmt.Sprintf("GCS replica pid %d (replicas %v), a child of the head (pid %d)", pid, before, r.head.cmd.Process.Pid)
	killedAt := time.Now()
	r.observers.Go(func() {
		for time.Since(killedAt) < 30*time.Second {
			for _, p := range r.replicas() {
				if !slices.Contains(before, p) {
					r.note(k, fmt.Sprintf("the head started replica pid %d %.1f s after the kill", p, time.Since(killedAt).Seconds()), "")
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		r.note(k, "", "the head had not started another GCS replica 30 s after the kill")
	})
	return true
}

// note records what followed kill k (after), or what did not (anomaly).
func (r *chaosRun) note(k *chaosKill, after, anomaly string) {
	r.mu.Lock()
	k.After, k.Anomaly = after, anomaly
	r.mu.Unlock()
	if anomaly != "" {
		r.anomaly(fmt.Sprintf("after SIGKILL %s: %s", k.Target, anomaly))
	}
}

// replicas are the head's GCS replica processes now.
func (r *chaosRun) replicas() []int {
	var pids []int
	for _, pid := range chaosChildren(r.head.cmd.Process.Pid) {
		args, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if fields := strings.Split(string(args), "\x00"); len(fields) > 1 && fields[1] == "gcs" {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids
}

// chaosChildren lists pid's child processes (Linux: each thread's
// children in /proc).
func chaosChildren(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(s); err == nil && !slices.Contains(pids, c) {
				pids = append(pids, c)
			}
		}
	}
	slices.Sort(pids)
	return pids
}

// chaosParent is pid's parent process, 0 if it is gone.
func chaosParent(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// After the command's name, in parentheses that it may contain too.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// chaosIsWorker says whether pid is a worker process: a node started it
// with MANTA_WORKER_ID set.
func chaosIsWorker(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if strings.HasPrefix(kv, "MANTA_WORKER_ID=") {
			return true
		}
	}
	return false
}

// watchdog ends the run should the driver itself stop making progress (a
// call that ignores its context): a Get past its batch's deadline is
// counted as a hang where it returns, so this only fires where nothing
// returns at all. It records what it can, then exits.
func (r *chaosRun) watchdog() {
	limit := r.o.batchTimeout + time.Minute
	for !r.stopped.Load() {
		time.Sleep(time.Second)
		still := time.Since(time.Unix(0, r.lastMove.Load()))
		if still < limit || r.stopped.Load() {
			continue
		}
		r.anomaly(fmt.Sprintf("the driver made no progress for %v: a call that does not return (a hang)", still.Round(time.Second)))
		r.mu.Lock()
		r.report.Hangs = append(r.report.Hangs, "the driver itself: see driver-goroutines.txt")
		r.mu.Unlock()
		r.evidence()
		r.finish(errChaosHang)
		if r.o.asJSON {
			r.mu.Lock()
			json.NewEncoder(os.Stdout).Encode(&r.report)
			r.mu.Unlock()
		} else {
			r.print(os.Stdout)
		}
		r.killAll()
		r.keepLogs()
		os.RemoveAll(r.dir)
		fmt.Fprintf(os.Stderr, "manta: chaos: %s\n", r.report.Verdict)
		os.Exit(1)
	}
}

// evidence records, for a hang, the driver's goroutines, the cluster's
// unfinished tasks, actors and workers, and then every node's and
// worker's goroutines (SIGQUIT: they print them to their logs and exit).
func (r *chaosRun) evidence() {
	if f, err := os.Create(filepath.Join(r.logDir, "driver-goroutines.txt")); err == nil {
		pprof.Lookup("goroutine").WriteTo(f, 2)
		f.Close()
	}
	r.mu.Lock()
	hangs := slices.Clone(r.report.Hangs)
	r.mu.Unlock()
	listings := []struct {
		file string
		args []string
	}{
		{"hung.txt", nil},
		{"tasks-unfinished.txt", []string{"list", "tasks", "--filter", "state!=FINISHED", "--limit", "0", "--timeout", "5s"}},
		{"tasks-summary.txt", []string{"summary", "tasks", "--timeout", "5s"}},
		{"actors.txt", []string{"list", "actors", "--limit", "0", "--timeout", "5s"}},
		{"workers.txt", []string{"list", "workers", "--limit", "0", "--timeout", "5s"}},
		{"status.txt", []string{"status", "--timeout", "5s"}},
	}
	for _, l := range listings {
		f, err := os.Create(filepath.Join(r.logDir, l.file))
		if err != nil {
			continue
		}
		if l.args == nil {
			fmt.Fprintln(f, "results not back by their batch's deadline (kind, object):")
			for _, h := range hangs {
				fmt.Fprintln(f, h)
			}
		} else {
			done := make(chan struct{})
			go func() {
				if err := run(l.args, f); err != nil {
					fmt.Fprintln(f, "error:", err)
				}
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				fmt.Fprintln(f, "no answer in 15 s")
			}
		}
		f.Close()
	}
	var procs []int
	for _, n := range append([]*chaosProc{r.head}, r.nodes...) {
		if n != nil && !n.killed {
			procs = append(procs, chaosChildren(n.cmd.Process.Pid)...)
			procs = append(procs, n.cmd.Process.Pid)
		}
	}
	for _, pid := range procs {
		syscall.Kill(pid, syscall.SIGQUIT)
	}
	time.Sleep(2 * time.Second) // for them to write their stacks
}

// shutdown stops the driver, within a minute.
func (r *chaosRun) shutdown(driver *core.Cluster) {
	r.stopped.Store(true)
	for _, a := range r.actors {
		a.Release()
	}
	done := make(chan error, 1)
	go func() { done <- driver.Shutdown() }()
	select {
	case err := <-done:
		if err != nil {
			r.anomaly(fmt.Sprintf("the driver's Shutdown: %v", err))
		}
	case <-time.After(time.Minute):
		r.anomaly("the driver's Shutdown did not return in a minute")
	}
}

// cleanup waits for the kills' observers and stops the cluster's
// processes: the nodes, then the head (whose GCS they write to), each
// killed if it has not stopped within 10 s of SIGTERM.
func (r *chaosRun) cleanup() {
	r.stopped.Store(true)
	r.observers.Wait()
	if r.api != nil {
		r.api.Close()
	}
	stop := func(procs []*chaosProc) {
		for _, p := range procs {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
		deadline := time.Now().Add(10 * time.Second)
		for _, p := range procs {
			select {
			case <-p.exited:
				continue
			case <-time.After(time.Until(deadline)):
			}
			if !p.killed {
				r.anomaly(fmt.Sprintf("%s (pid %d) did not stop within 10 s of SIGTERM; killed", p.name, p.cmd.Process.Pid))
			}
			p.cmd.Process.Kill()
			<-p.exited
		}
	}
	stop(r.nodes)
	if r.head != nil {
		stop([]*chaosProc{r.head})
	}
}

// killAll kills every process of the cluster at once.
func (r *chaosRun) killAll() {
	for _, p := range append(slices.Clone(r.nodes), r.head) {
		if p != nil {
			p.cmd.Process.Kill()
		}
	}
}

// keepLogs moves the logs out of the state directory, which is removed,
// and records where.
func (r *chaosRun) keepLogs() {
	kept, err := os.MkdirTemp("", "manta-chaos-logs-")
	if err == nil {
		os.Remove(kept)
		err = os.Rename(r.logDir, kept)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.report.Logs = fmt.Sprintf("(could not keep the logs: %v)", err)
		return
	}
	r.report.Logs = kept
}

// finish sets the verdict, keeps the logs of a failed run, and removes
// the state directory.
func (r *chaosRun) finish(runErr error) {
	r.mu.Lock()
	rep := &r.report
	if !r.began.IsZero() {
		end := r.ended
		if end.IsZero() {
			end = time.Now()
		}
		rep.WallSeconds = end.Sub(r.began).Seconds()
		if rep.WallSeconds > 0 {
			rep.TasksPerSec = float64(rep.Tasks.Correct+rep.Tasks.Wrong+rep.Tasks.Failed) / rep.WallSeconds
		}
	}
	var why []string
	if n := rep.Tasks.Wrong + rep.StoredReads.Wrong; n > 0 {
		why = append(why, fmt.Sprintf("%d wrong results", n))
	}
	if n := rep.Tasks.Hung + rep.StoredReads.Hung; n > 0 || errors.Is(runErr, errChaosHang) {
		why = append(why, fmt.Sprintf("%d hangs", n))
	}
	if len(rep.Overlaps) > 0 {
		why = append(why, fmt.Sprintf("%d actors with two live incarnations at once", len(rep.Overlaps)))
	}
	if rep.Unexpected > 0 {
		why = append(why, fmt.Sprintf("%d tasks failed with errors the runtime does not document for this workload", rep.Unexpected))
	}
	if len(rep.Anomalies) > 0 {
		why = append(why, fmt.Sprintf("%d anomalies", len(rep.Anomalies)))
	}
	if runErr != nil && !errors.Is(runErr, errChaosHang) {
		rep.Error = runErr.Error()
		if errors.Is(runErr, context.Canceled) {
			rep.Error = "interrupted"
		}
		why = append(why, rep.Error)
	}
	rep.Passed = len(why) == 0
	if rep.Passed {
		rep.Verdict = fmt.Sprintf("passed: 0 wrong results and 0 hangs in %d tasks across %d kills", rep.Tasks.Submitted, len(rep.Kills))
	} else {
		rep.Verdict = "FAILED: " + strings.Join(why, ", ")
	}
	r.mu.Unlock()
}

// print writes the summary for people.
func (r *chaosRun) print(out io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &r.report
	fmt.Fprintf(out, "manta chaos: %s\n", rep.Verdict)
	fmt.Fprintf(out, "command: %s\n", rep.Command)
	fmt.Fprintf(out, "settings: %s\n", rep.Settings)
	fmt.Fprintf(out, "cluster: %s\n", rep.Cluster)
	fmt.Fprintf(out, "wall time: %.1f s (%.0f tasks/s checked)\n", rep.WallSeconds, rep.TasksPerSec)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tasks\tsubmitted\tcorrect\twrong\tfailed\thung\tnot checked\t")
	row := func(name string, t *chaosTally) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", name, t.Submitted, t.Correct, t.Wrong, t.Failed, t.Hung, t.NotChecked)
	}
	for _, k := range []string{"plain", "chain", "actor"} {
		if t := rep.ByKind[k]; t != nil {
			row(k, t)
		}
	}
	row("all", &rep.Tasks)
	row("stored reads", &rep.StoredReads)
	tw.Flush()
	fmt.Fprintln(out, "(a chain's tasks count as its digest, which checks the whole chain, came back; stored reads are chains' last values the driver read itself)")
	if rep.Runs != nil {
		fmt.Fprintf(out, "runs finished: plain %d, fill %d, step %d, digest %d, actor call %d: at least %d beyond one a task (lost values made again, calls retried)\n",
			rep.Runs["plain"], rep.Runs["fill"], rep.Runs["step"], rep.Runs["digest"], rep.Runs["actor call"], rep.RanAgain)
	}
	if len(rep.Errors) == 0 {
		fmt.Fprintln(out, "errors: none")
	} else {
		fmt.Fprintln(out, "errors (tasks, by sentinel):")
		for _, name := range slices.Sorted(maps.Keys(rep.Errors)) {
			documented := false
			for _, k := range chaosErrorKinds {
				if k.name == name {
					documented = k.documented
				}
			}
			note := "NOT documented for this workload"
			if documented {
				note = "documented: a loss the runtime could not recover"
			}
			fmt.Fprintf(out, "  %s: %d (%s); e.g. %s\n", name, rep.Errors[name], note, rep.ErrorExamples[name])
		}
	}
	fmt.Fprintln(out, "kills (SIGKILL, one at a time):")
	for _, k := range rep.Kills {
		fmt.Fprintf(out, "  at %.1f s (%d tasks submitted, %d checked): %s: %s", k.AtSeconds, k.Submitted, k.Checked, k.Kind, k.Target)
		if k.After != "" {
			fmt.Fprintf(out, "; %s", k.After)
		}
		if k.Anomaly != "" {
			fmt.Fprintf(out, "; ANOMALY: %s", k.Anomaly)
		}
		fmt.Fprintln(out)
	}
	if rep.InterleavedAnswers > 0 {
		fmt.Fprintf(out, "actor calls answered by an incarnation after a newer one answered an earlier call: %d (allowed: that call's answer was lost and it ran again)\n", rep.InterleavedAnswers)
		for _, n := range rep.Interleaved {
			fmt.Fprintln(out, "  "+n)
		}
	}
	for _, o := range rep.Overlaps {
		fmt.Fprintln(out, "wrong:", o)
	}
	for _, w := range rep.WrongExamples {
		fmt.Fprintln(out, "wrong:", w)
	}
	for _, h := range rep.Hangs {
		fmt.Fprintln(out, "hung:", h)
	}
	for _, a := range rep.Anomalies {
		fmt.Fprintln(out, "anomaly:", a)
	}
	if rep.Error != "" {
		fmt.Fprintln(out, "error:", rep.Error)
	}
	if rep.Logs != "" {
		fmt.Fprintln(out, "logs:", rep.Logs)
	}
	if len(rep.Nodes) > 0 {
		fmt.Fprint(out, "nodes:")
		for _, n := range rep.Nodes {
			fmt.Fprintf(out, " %s (pid %d, %s at %s, %s);", n.Name, n.PID, n.ID, n.Addr, n.State)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "go: %s, %d CPUs\n", runtime.Version(), runtime.NumCPU())
}
