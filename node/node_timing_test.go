package node

import (
	"testing"
	"time"

	"manta/rpc/wire"
	"manta/sched"
)

// benchHost is a Host that keeps only what the benchmark must answer: the
// node's own cost per task, with no processes or rings.
type benchHost struct {
	starts []ProcID
	execs  []wire.TaskID
}

func (h *benchHost) Send(p ProcID, m *wire.Msg) {
	if m.Kind == wire.KindExecute {
		h.execs = append(h.execs, m.Task)
	}
}
func (h *benchHost) SendControl(ProcID, *wire.Msg)      {}
func (h *benchHost) StartProc(p ProcID)                 { h.starts = append(h.starts, p) }
func (h *benchHost) KillProc(ProcID)                    {}
func (h *benchHost) Pin(wire.ObjectID, PinToken)        {}
func (h *benchHost) Unpin(wire.ObjectID)                {}
func (h *benchHost) Free(wire.ObjectID)                 {}
func (h *benchHost) Wake(*Waiter)                       {}
func (h *benchHost) SetTimer(TimerToken, time.Duration) {}
func (h *benchHost) CancelTimer(TimerToken)             {}
func (h *benchHost) Finished(wire.TaskID)               {}
func (h *benchHost) Spill(*TaskSpec)                    {}
func (h *benchHost) CancelSpilled(wire.TaskID)          {}

// pathBench runs batches of tasks through a node: Submit, the scheduler's
// dispatch, the Execute, the worker's Done, the result's Release.
type pathBench struct {
	n     *Node
	h     *benchHost
	proc  ProcID
	next  uint64
	objs  []*Object
	spec  TaskSpec
	done  wire.Msg
	value [2]byte
}

func newPathBench(tb testing.TB) *pathBench {
	total, err := sched.NewResources(map[string]float64{"CPU": 1})
	if err != nil {
		tb.Fatal(err)
	}
	h := &benchHost{}
	n, err := New(Config{Errors: testCodec{}, Sched: sched.Config{Total: total, MaxWorkers: 1, PipelineDepth: 16}}, h)
	if err != nil {
		tb.Fatal(err)
	}
	b := &pathBench{n: n, h: h, objs: make([]*Object, 16)}
	b.spec = TaskSpec{Kind: wire.SubmitTask, Name: []byte("noop"), Options: &Options{MaxRetries: -1, Key: "noop"}, Fresh: true}
	b.value = [2]byte{0, 0}
	// The first task starts the worker process.
	b.batch(tb)
	return b
}

// batch submits 16 tasks, has the worker answer them, and releases them.
func (b *pathBench) batch(tb testing.TB) {
	for i := range b.objs {
		b.next++
		b.spec.ID = wire.TaskID{Lo: b.next}
		b.objs[i] = b.n.Submit(&b.spec)
	}
	for len(b.h.starts) > 0 {
		b.proc = b.h.starts[0]
		b.h.starts = b.h.starts[1:]
		b.n.ProcStarted(b.proc)
	}
	for i := 0; i < len(b.h.execs); i++ {
		// Each Done dispatches the next task, which appends to execs.
		task := b.h.execs[i]
		b.done = wire.Msg{Kind: wire.KindDone, Task: task, Data: b.value[:]}
		if err := b.n.Worker(b.proc, &b.done); err != nil {
			tb.Fatal(err)
		}
	}
	for i, o := range b.objs {
		if r := b.n.Result(o); r.Err != nil {
			tb.Fatal(r.Err)
		}
		b.n.Release(o)
		b.objs[i] = nil
	}
	b.h.execs = b.h.execs[:0]
}

// BenchmarkSubmitDispatchDone is the node's share of a task's path: what
// the state machine costs per task, without rings, processes or locks.
func BenchmarkSubmitDispatchDone(b *testing.B) {
	pb := newPathBench(b)
	b.ReportAllocs()
	for b.Loop() {
		pb.batch(b)
	}
	b.ReportMetric(float64(b.N*len(pb.objs))/b.Elapsed().Seconds(), "tasks/s")
}

// TestSubmitDispatchDoneAllocs guards the allocations of the node's task
// path: a task's record, and the copy of its result's bytes out of the
// worker's message, which outlives the ring buffer it came in.
func TestSubmitDispatchDoneAllocs(t *testing.T) {
	pb := newPathBench(t)
	for range 100 {
		pb.batch(t) // the tables reach their steady size
	}
	perTask := testing.AllocsPerRun(200, func() { pb.batch(t) }) / float64(len(pb.objs))
	const want = 2
	if perTask > want {
		t.Errorf("%.2f allocations per task, want at most %d", perTask, want)
	}
}

// TestLineageForgetsFreedTasks: tasks whose results were all released
// leave the lineage's bookkeeping too, so a long run of tasks that stay
// well under the cap holds no record of the finished ones.
func TestLineageForgetsFreedTasks(t *testing.T) {
	pb := newPathBench(t)
	for range 1000 {
		pb.batch(t)
	}
	l := &pb.n.lineage
	if l.kept != 0 || l.bytes != 0 {
		t.Fatalf("lineage kept %d tasks (%d bytes) after every result was released", l.kept, l.bytes)
	}
	if len(l.order)-l.head > 2*64 || cap(l.order) > 1024 {
		t.Fatalf("the lineage still lists %d tasks (capacity %d) after 16,000 came and went", len(l.order)-l.head, cap(l.order))
	}
}
