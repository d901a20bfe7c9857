package events

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"

	"manta/rpc/wire"
)

// Tracks of a node process; a worker process has one (its worker, or
// its actor).
const (
	tidNode   = 1 // the node manager: submissions, completions
	tidSched  = 2 // the scheduler: queue waits
	tidDriver = 3 // the driver: Gets returning
	tidWorker = 1
)

// TimelineStats says what a timeline holds.
type TimelineStats struct {
	Processes int
	Tasks     int    // tasks that ran (a span on a worker track)
	Events    int    // trace events written
	Dropped   uint64 // events the processes lost to full rings
	Bytes     int64
}

// NameKind packs a Submit event's Aux: the name's ID (see Name) and the
// call's kind, so that a timeline can tell actors' tracks.
func NameKind(nameID uint64, kind wire.SubmitKind) uint64 { return nameID | uint64(kind)<<32 }

type taskLife struct {
	name string
	kind wire.SubmitKind
	flow uint64 // the flow ID of its arrows
}

// WriteTimeline writes procs' events as one Chrome trace (the JSON
// object format of the Trace Event Format, which Perfetto and
// chrome://tracing load): a process per recorded process; in a node's,
// a node-manager track (submissions, completions), a scheduler track
// (queue waits, as async spans) and a driver track (Gets returning); in
// a worker's, one track of its task runs (named for its actor if it
// hosts one). Arrows go from each submission to its run and from the
// run's end to the Get that saw it. Times are microseconds from the
// first event.
func WriteTimeline(out io.Writer, procs []*Process) (TimelineStats, error) {
	cw := &countingWriter{w: out}
	w := bufio.NewWriterSize(cw, 1<<20)
	var st TimelineStats
	t0 := int64(math.MaxInt64)
	tasks := map[wire.TaskID]*taskLife{}
	var flows uint64
	for _, p := range procs {
		st.Processes++
		st.Dropped += p.Dropped
		for _, e := range p.Events {
			t0 = min(t0, e.Time)
			if e.Kind == Submit {
				if _, ok := tasks[e.Task]; !ok {
					flows++
					tasks[e.Task] = &taskLife{name: p.Names[e.Aux&math.MaxUint32], kind: wire.SubmitKind(e.Aux >> 32), flow: flows}
				}
			}
		}
	}
	life := func(id wire.TaskID) *taskLife {
		if t := tasks[id]; t != nil {
			return t
		}
		flows++
		t := &taskLife{name: "task " + id.String(), flow: flows}
		tasks[id] = t
		return t
	}
	b := make([]byte, 0, 512)
	first := true
	emit := func(b []byte) {
		if !first {
			w.WriteByte(',')
		}
		first = false
		w.WriteByte('\n')
		w.Write(b)
		st.Events++
	}
	ts := func(b []byte, t int64) []byte {
		return strconv.AppendFloat(b, float64(t-t0)/1e3, 'f', 3, 64)
	}
	w.WriteString(`{"displayTimeUnit":"ns","traceEvents":[`)
	for _, p := range procs {
		role := "node"
		if p.Role == RoleWorker {
			role = "worker"
		}
		label := p.Label
		if label == "" {
			label = role
		}
		b = meta(b[:0], "process_name", p.PID, 0, fmt.Sprintf("%s (pid %d)", label, p.PID))
		emit(b)
		if p.Role == RoleWorker {
			name := "tasks"
			for _, e := range p.Events {
				if e.Kind == Start && life(e.Task).kind == wire.SubmitActor {
					name = "actor " + life(e.Task).name
					break
				}
			}
			emit(meta(b[:0], "thread_name", p.PID, tidWorker, name))
		} else {
			emit(meta(b[:0], "thread_name", p.PID, tidNode, "node manager"))
			emit(meta(b[:0], "thread_name", p.PID, tidSched, "scheduler queue"))
			emit(meta(b[:0], "thread_name", p.PID, tidDriver, "driver Gets"))
		}
		running := map[wire.TaskID]int64{}
		queued := map[wire.TaskID]bool{}
		for _, e := range p.Events {
			switch e.Kind {
			case Submit:
				t := life(e.Task)
				emit(span(b[:0], ts, "submit "+t.name, "submit", p.PID, tidNode, e.Time, e.Time, e.Task))
				emit(flow(b[:0], ts, 's', t.flow*2, p.PID, tidNode, e.Time))
			case Queued:
				queued[e.Task] = true
				emit(async(b[:0], ts, 'b', life(e.Task).name, life(e.Task).flow, p.PID, e.Time))
			case Dispatch:
				if queued[e.Task] {
					delete(queued, e.Task)
					emit(async(b[:0], ts, 'e', life(e.Task).name, life(e.Task).flow, p.PID, e.Time))
				}
			case Start:
				running[e.Task] = e.Time
			case End:
				start, ok := running[e.Task]
				if !ok {
					continue
				}
				delete(running, e.Task)
				t := life(e.Task)
				st.Tasks++
				emit(span(b[:0], ts, t.name, "run", p.PID, tidWorker, start, e.Time, e.Task))
				emit(flow(b[:0], ts, 'f', t.flow*2, p.PID, tidWorker, start))
				emit(flow(b[:0], ts, 's', t.flow*2+1, p.PID, tidWorker, e.Time))
			case Done:
				t := life(e.Task)
				name := "done " + t.name
				if e.Aux != 0 {
					name = "failed " + t.name
				}
				emit(span(b[:0], ts, name, "done", p.PID, tidNode, e.Time, e.Time, e.Task))
			case Got:
				t := life(e.Task)
				emit(span(b[:0], ts, "got "+t.name, "get", p.PID, tidDriver, e.Time, e.Time, e.Task))
				emit(flow(b[:0], ts, 'f', t.flow*2+1, p.PID, tidDriver, e.Time))
			default:
				if e.Kind.Object() {
					emit(instant(b[:0], ts, e.Kind.String(), p.PID, tidNode, e.Time, e.Object(), e.Aux))
				}
			}
		}
	}
	w.WriteString("\n],\"otherData\":{\"dropped_events\":")
	w.WriteString(strconv.FormatUint(st.Dropped, 10))
	w.WriteString("}}\n")
	if err := w.Flush(); err != nil {
		return st, err
	}
	st.Bytes = cw.n
	return st, cw.err
}

func meta(b []byte, what string, pid, tid int, name string) []byte {
	b = append(b, `{"ph":"M","name":"`...)
	b = append(b, what...)
	b = append(b, `","pid":`...)
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, int64(tid), 10)
	b = append(b, `,"args":{"name":`...)
	b = strconv.AppendQuote(b, name)
	return append(b, "}}"...)
}

func span(b []byte, ts func([]byte, int64) []byte, name, cat string, pid, tid int, from, to int64, task wire.TaskID) []byte {
	b = append(b, `{"ph":"X","name":`...)
	b = strconv.AppendQuote(b, name)
	b = append(b, `,"cat":"`...)
	b = append(b, cat...)
	b = append(b, `","pid":`...)
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, int64(tid), 10)
	b = append(b, `,"ts":`...)
	b = ts(b, from)
	b = append(b, `,"dur":`...)
	b = strconv.AppendFloat(b, float64(to-from)/1e3, 'f', 3, 64)
	b = append(b, `,"args":{"task":"`...)
	b = append(b, task.String()...)
	return append(b, `"}}`...)
}

// flow is one end of an arrow: 's' starts it inside the enclosing slice,
// 'f' ends it at the slice enclosing ts (binding point "e").
func flow(b []byte, ts func([]byte, int64) []byte, ph byte, id uint64, pid, tid int, at int64) []byte {
	b = append(b, `{"ph":"`...)
	b = append(b, ph)
	b = append(b, `","name":"task","cat":"flow","id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, int64(tid), 10)
	b = append(b, `,"ts":`...)
	b = ts(b, at)
	if ph == 'f' {
		b = append(b, `,"bp":"e"`...)
	}
	return append(b, '}')
}

// async begins ('b') or ends ('e') a task's wait in the scheduler's
// queue: async spans may overlap, as queued tasks do.
func async(b []byte, ts func([]byte, int64) []byte, ph byte, name string, id uint64, pid int, at int64) []byte {
	b = append(b, `{"ph":"`...)
	b = append(b, ph)
	b = append(b, `","name":`...)
	b = strconv.AppendQuote(b, "queued "+name)
	b = append(b, `,"cat":"queue","id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, tidSched, 10)
	b = append(b, `,"ts":`...)
	b = ts(b, at)
	return append(b, '}')
}

func instant(b []byte, ts func([]byte, int64) []byte, name string, pid, tid int, at int64, obj wire.ObjectID, aux uint64) []byte {
	b = append(b, `{"ph":"i","s":"t","name":"`...)
	b = append(b, name...)
	b = append(b, `","cat":"object","pid":`...)
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, int64(tid), 10)
	b = append(b, `,"ts":`...)
	b = ts(b, at)
	b = append(b, `,"args":{"object":"`...)
	b = append(b, obj.String()...)
	b = append(b, `","bytes":`...)
	b = strconv.AppendUint(b, aux, 10)
	return append(b, "}}"...)
}

type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
