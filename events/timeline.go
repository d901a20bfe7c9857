package events

import (
	"bufio"
	"encoding/json"
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
	// submitted is set when its Submit was recorded (where its first
	// arrow starts).
	submitted bool
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
	// Arrows are drawn only where both ends are recorded: submit to run
	// for the tasks that ran, run to Get for those a Get saw.
	started, ended, got := map[wire.TaskID]bool{}, map[wire.TaskID]bool{}, map[wire.TaskID]bool{}
	var flows uint64
	for _, p := range procs {
		st.Processes++
		st.Dropped += p.Dropped
		for _, e := range p.Events {
			t0 = min(t0, e.Time)
			switch e.Kind {
			case Start:
				started[e.Task] = true
			case End:
				ended[e.Task] = true
			case Got:
				got[e.Task] = true
			}
			if e.Kind == Submit {
				if _, ok := tasks[e.Task]; !ok {
					flows++
					tasks[e.Task] = &taskLife{name: p.Names[e.Aux&math.MaxUint32], kind: wire.SubmitKind(e.Aux >> 32), flow: flows, submitted: true}
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
	quoted := map[string][]byte{}
	quote := func(s string) []byte {
		q, ok := quoted[s]
		if !ok {
			q, _ = json.Marshal(s) // a string always marshals
			quoted[s] = q
		}
		return q
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
		b = meta(b[:0], "process_name", p.PID, 0, quote(fmt.Sprintf("%s (pid %d)", label, p.PID)))
		emit(b)
		if p.Role == RoleWorker {
			name := "tasks"
			for _, e := range p.Events {
				if e.Kind == Start && life(e.Task).kind == wire.SubmitActor {
					name = "actor " + life(e.Task).name
					break
				}
			}
			emit(meta(b[:0], "thread_name", p.PID, tidWorker, quote(name)))
		} else {
			emit(meta(b[:0], "thread_name", p.PID, tidNode, quote("node manager")))
			emit(meta(b[:0], "thread_name", p.PID, tidSched, quote("scheduler queue")))
			emit(meta(b[:0], "thread_name", p.PID, tidDriver, quote("driver Gets")))
		}
		running := map[wire.TaskID]int64{}
		queued := map[wire.TaskID]bool{}
		for _, e := range p.Events {
			switch e.Kind {
			case Submit:
				t := life(e.Task)
				emit(span(b[:0], ts, quote("submit "+t.name), "submit", p.PID, tidNode, e.Time, e.Time, e.Task))
				if started[e.Task] {
					emit(flow(b[:0], ts, 's', t.flow*2, p.PID, tidNode, e.Time))
				}
			case Queued:
				queued[e.Task] = true
				emit(async(b[:0], ts, 'b', quote("queued "+life(e.Task).name), life(e.Task).flow, p.PID, e.Time))
			case Dispatch:
				if queued[e.Task] {
					delete(queued, e.Task)
					emit(async(b[:0], ts, 'e', quote("queued "+life(e.Task).name), life(e.Task).flow, p.PID, e.Time))
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
				emit(span(b[:0], ts, quote(t.name), "run", p.PID, tidWorker, start, e.Time, e.Task))
				if t.submitted {
					emit(flow(b[:0], ts, 'f', t.flow*2, p.PID, tidWorker, start))
				}
				if got[e.Task] {
					emit(flow(b[:0], ts, 's', t.flow*2+1, p.PID, tidWorker, e.Time))
				}
			case Done:
				t := life(e.Task)
				name := "done " + t.name
				if e.Aux != 0 {
					name = "failed " + t.name
				}
				emit(span(b[:0], ts, quote(name), "done", p.PID, tidNode, e.Time, e.Time, e.Task))
			case Got:
				t := life(e.Task)
				emit(span(b[:0], ts, quote("got "+t.name), "get", p.PID, tidDriver, e.Time, e.Time, e.Task))
				if ended[e.Task] {
					emit(flow(b[:0], ts, 'f', t.flow*2+1, p.PID, tidDriver, e.Time))
				}
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

func meta(b []byte, what string, pid, tid int, name []byte) []byte {
	b = append(b, `{"ph":"M","name":"`...)
	b = append(b, what...)
	b = append(b, `","pid":`...)
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, int64(tid), 10)
	b = append(b, `,"args":{"name":`...)
	b = append(b, name...)
	return append(b, "}}"...)
}

func span(b []byte, ts func([]byte, int64) []byte, name []byte, cat string, pid, tid int, from, to int64, task wire.TaskID) []byte {
	b = append(b, `{"ph":"X","name":`...)
	b = append(b, name...)
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
func async(b []byte, ts func([]byte, int64) []byte, ph byte, name []byte, id uint64, pid int, at int64) []byte {
	b = append(b, `{"ph":"`...)
	b = append(b, ph)
	b = append(b, `","name":`...)
	b = append(b, name...)
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
