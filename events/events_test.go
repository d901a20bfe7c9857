package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"

	"manta/rpc/wire"
)

// recording opens a recorder in a fresh directory for one test, with
// recording on, and closes it at the end.
func recording(t *testing.T, slots int, every time.Duration) (*Recorder, string) {
	t.Helper()
	dir := t.TempDir()
	r, err := open(dir, RoleNode, "test", slots, every)
	if err != nil {
		t.Fatal(err)
	}
	Enable(true)
	t.Cleanup(func() {
		Enable(false)
		r.Close()
	})
	return r, dir
}

// stampNanoseconds stamps events with the monotonic clock until the
// test ends, so that a test's own stamps are its events' times. Call it
// before the recorder opens.
func stampNanoseconds(t *testing.T) {
	was := useTSC
	useTSC = false
	t.Cleanup(func() { useTSC = was })
}

// Events stamped with the TSC (where the kernel's clock runs on it) are
// written in nanoseconds on the monotonic clock: each between readings
// of that clock taken just before and after it, over flushes and with
// time between events.
func TestStampsBecomeNanoseconds(t *testing.T) {
	if !useTSC {
		t.Skip("the kernel's clock is not on the TSC here: events are stamped in nanoseconds")
	}
	r, dir := recording(t, ringSlots, time.Millisecond)
	const n = 50
	var before, after [n]int64
	for i := range n {
		before[i] = nanotime()
		Record(Start, wire.TaskID{Lo: uint64(i) << 20}, 0)
		after[i] = nanotime()
		time.Sleep(time.Duration(i%5) * time.Millisecond)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	p := readOne(t, dir)
	if len(p.Events) != n {
		t.Fatalf("%d events, want %d", len(p.Events), n)
	}
	const slack = 2000 // ns: two anchors' errors, and a preemption's worth
	for i, e := range p.Events {
		if e.Time < before[i]-slack || e.Time > after[i]+slack {
			t.Errorf("event %d at %d ns, outside [%d, %d] (±%d)", i, e.Time, before[i], after[i], slack)
		}
	}
}

func readOne(t *testing.T, dir string) *Process {
	t.Helper()
	procs, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 1 {
		t.Fatalf("%d processes, want 1", len(procs))
	}
	return procs[0]
}

// Events from several goroutines all reach the file, each goroutine's in
// its order, with the names they were given.
func TestRecordFromGoroutines(t *testing.T) {
	r, dir := recording(t, ringSlots, time.Millisecond)
	const goroutines, each = 4, 20000
	id := Name([]byte("f"))
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				Record(Submit, wire.TaskID{Hi: uint64(g), Lo: uint64(i)}, id)
			}
		})
	}
	wg.Wait()
	RecordObject(ObjSeal, wire.ObjectID{Task: wire.TaskID{Hi: 9}, Index: 3}, 4096)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	p := readOne(t, dir)
	if p.PID != os.Getpid() || p.Role != RoleNode || p.Label != "test" {
		t.Errorf("header %d %d %q", p.PID, p.Role, p.Label)
	}
	if got := uint64(len(p.Events)) + p.Dropped; got != goroutines*each+1 {
		t.Fatalf("%d events and %d dropped, want %d in all", len(p.Events), p.Dropped, goroutines*each+1)
	}
	next := make([]uint64, goroutines)
	for _, e := range p.Events {
		if e.Kind == ObjSeal {
			if e.Object() != (wire.ObjectID{Task: wire.TaskID{Hi: 9}, Index: 3}) || e.Aux != 4096 {
				t.Errorf("object event %+v", e)
			}
			continue
		}
		g := e.Task.Hi
		if e.Task.Lo < next[g] {
			t.Fatalf("goroutine %d: event %d after %d", g, e.Task.Lo, next[g])
		}
		next[g] = e.Task.Lo + 1
		if p.Names[e.Aux] != "f" {
			t.Fatalf("name %q", p.Names[e.Aux])
		}
	}
}

// Off, nothing is recorded; a full ring drops events and counts them
// rather than making the recording goroutine wait.
func TestOffAndFull(t *testing.T) {
	r, dir := recording(t, 8, time.Hour)
	Enable(false)
	Record(Submit, wire.TaskID{Lo: 1}, 0)
	Enable(true)
	for i := range 100 {
		Record(Start, wire.TaskID{Lo: uint64(i)}, 0)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	p := readOne(t, dir)
	// The goroutine may have moved between Ps, each with a ring of 8.
	if len(p.Events) < 8 || len(p.Events) > 8*runtime.GOMAXPROCS(0) || uint64(len(p.Events))+p.Dropped != 100 {
		t.Fatalf("%d events, %d dropped; want 8 per P used, and 100 in all", len(p.Events), p.Dropped)
	}
	for i, e := range p.Events {
		if e.Kind != Start || i > 0 && e.Task.Lo <= p.Events[i-1].Task.Lo {
			t.Fatalf("event %d out of order: %+v", i, e)
		}
	}
}

// A file that ends inside its header, empty too (its process was killed
// before it wrote one), reads as one with no events, not as garbage;
// ReadDir skips it and reads the others.
func TestReadDirSkipsFileWithoutHeader(t *testing.T) {
	b := appendHeader(nil, header{PID: 7, Role: RoleWorker, Label: "w"})
	for _, cut := range []int{0, 3, len(magic), len(b) - 1} {
		if p, err := Parse(b[:cut]); err != nil || !p.Truncated || p.PID != 0 || len(p.Events) != 0 {
			t.Errorf("a header cut at %d: %+v, %v", cut, p, err)
		}
	}
	dir := t.TempDir()
	good := appendEvents(b, Event{Time: 5, Kind: Pop, Task: wire.TaskID{Lo: 1}})
	if err := os.WriteFile(filepath.Join(dir, "7"+FileExt), good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "8"+FileExt), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := readOne(t, dir); p.PID != 7 || len(p.Events) != 1 {
		t.Fatalf("the good file read as %+v", p)
	}
}

// Open writes the header at once: a process killed before its first
// flush leaves a file that names it.
func TestOpenWritesHeader(t *testing.T) {
	_, dir := recording(t, ringSlots, time.Hour)
	b, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(os.Getpid())+FileExt))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := Parse(b); err != nil || p.PID != os.Getpid() || p.Label != "test" {
		t.Fatalf("before the first flush: %+v, %v", p, err)
	}
}

// A file cut in the middle of a record (its process is writing it) reads
// up to the cut; garbage is an error.
func TestParseTruncatedAndBad(t *testing.T) {
	b := appendHeader(nil, header{PID: 7, Role: RoleWorker, Label: "w"})
	b = appendName(b, 1, "g")
	b = appendEvents(b, Event{Time: 5, Kind: Pop, Task: wire.TaskID{Lo: 1}})
	full := len(b)
	b = appendEvents(b, Event{Time: 6, Kind: Start, Task: wire.TaskID{Lo: 1}})
	p, err := Parse(b[:full+10])
	if err != nil || !p.Truncated || len(p.Events) != 1 || p.Names[1] != "g" {
		t.Fatalf("truncated: %+v, %v", p, err)
	}
	v2 := append([]byte(magicV2), b[len(magic):full]...) // a file of the format before pairs
	if p, err := Parse(v2); err != nil || len(p.Events) != 1 || p.Label != "w" {
		t.Errorf("a version 2 file: %+v, %v", p, err)
	}
	for _, bad := range [][]byte{[]byte("NOTEVENTSFILE"), append([]byte("MANTAEV4"), b[len(magic):full]...), append(bytes.Clone(b[:full]), 'Z'),
		appendEvents(bytes.Clone(b[:full]), Event{Kind: numKinds}),
		appendEvents(bytes.Clone(b[:full]), Event{Kind: Start, then: numKinds}),
		appendEvents(bytes.Clone(b[:full]), Event{Kind: ObjCreate, then: ObjSeal})} {
		if _, err := Parse(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("Parse(%q) = %v, want ErrFormat", bad, err)
		}
	}
}

// appendEvents appends a block of evs, their Times being nanoseconds (no
// clock record precedes them).
func appendEvents(dst []byte, evs ...Event) []byte {
	dst = appendBlockHeader(dst, len(evs))
	for i := range evs {
		dst = appendEventBody(dst, &evs[i])
	}
	return dst
}

// A block's stamps become nanoseconds by the clock record before it;
// where an Event's memory is laid out as a block's, the flusher writes
// it as it is.
func TestBlocksAndClocks(t *testing.T) {
	b := appendHeader(nil, header{PID: 7, Role: RoleNode})
	b = appendEvents(b, Event{Time: 3, Kind: Submit, Task: wire.TaskID{Lo: 1}})
	c := stampClock{from: anchor{stamp: 100, nanos: 5}, perStamp: 0.5}
	b = appendEvents(appendClock(b, &c), Event{Time: 120, Kind: Done, Index: 4, Task: wire.TaskID{Hi: 2, Lo: 1}, Aux: 9})
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{{Time: 3, Kind: Submit, Task: wire.TaskID{Lo: 1}}, {Time: 15, Kind: Done, Index: 4, Task: wire.TaskID{Hi: 2, Lo: 1}, Aux: 9}}
	if !slices.Equal(p.Events, want) {
		t.Fatalf("events %+v, want %+v", p.Events, want)
	}
	if nativeLayout {
		e := want[1]
		raw := bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(&e)), eventSize))
		clear(raw[10:12]) // the padding after Kind and then, which a reader skips
		if !bytes.Equal(raw, appendEventBody(nil, &e)) {
			t.Fatalf("an event's memory %x, its encoding %x", raw, appendEventBody(nil, &e))
		}
	}
	bad := appendClock(appendHeader(nil, header{PID: 7}), &stampClock{perStamp: math.NaN()})
	if _, err := Parse(bad); !errors.Is(err, ErrFormat) {
		t.Errorf("a clock of NaN: %v, want ErrFormat", err)
	}
}

func FuzzParse(f *testing.F) {
	b := appendHeader(nil, header{PID: 1, Role: RoleNode, Label: "n"})
	b = appendName(b, 1, "f")
	b = appendEvents(b, Event{Time: 1, Kind: Submit, Aux: 1})
	c := stampClock{from: anchor{stamp: 100, nanos: 5}, perStamp: 0.5}
	b = appendEvents(appendClock(b, &c), Event{Time: 120, Kind: Done}, Event{Time: 140, Kind: Got})
	b = appendEvents(b, Event{Time: 150, Kind: Dispatch, then: Push, Index: 7, Aux: 2})
	b = appendDropped(b, 3)
	f.Add(b)
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if p != nil || !errors.Is(err, ErrFormat) {
				t.Fatalf("Parse = %v, %v", p, err)
			}
			return
		}
		for _, e := range p.Events {
			if e.Kind == 0 || e.Kind >= numKinds {
				t.Fatalf("kind %d accepted", e.Kind)
			}
		}
		var out bytes.Buffer
		if _, err := WriteTimeline(&out, []*Process{p}); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(out.Bytes()) {
			t.Fatalf("timeline of a parsed file is not JSON")
		}
	})
}

// A node process and a worker process with the events of two tasks, as
// they record them.
func twoProcesses() []*Process {
	f, a := wire.TaskID{Lo: 1}, wire.TaskID{Lo: 2}
	node := &Process{PID: 100, Role: RoleNode, Label: "driver", Names: map[uint64]string{1: "f", 2: "Counter"}, Events: []Event{
		{Time: 1000, Kind: Submit, Task: f, Aux: NameKind(1, wire.SubmitTask)},
		{Time: 1100, Kind: Ready, Task: f},
		{Time: 1200, Kind: Queued, Task: f},
		{Time: 1500, Kind: Dispatch, Task: f, Aux: 1},
		{Time: 1550, Kind: Push, Task: f, Aux: 1},
		{Time: 9000, Kind: Done, Task: f},
		{Time: 9500, Kind: Got, Task: f},
		{Time: 9600, Kind: Submit, Task: a, Aux: NameKind(2, wire.SubmitActor)},
		{Time: 9700, Kind: Dispatch, Task: a, Aux: 1},
		{Time: 12000, Kind: Done, Task: a, Aux: 1},
		{Time: 12100, Kind: ObjPin, Task: f, Index: 1, Aux: 64},
	}}
	worker := &Process{PID: 101, Role: RoleWorker, Label: "worker 1", Names: map[uint64]string{}, Events: []Event{
		{Time: 2000, Kind: Pop, Task: f}, {Time: 2100, Kind: Start, Task: f}, {Time: 8000, Kind: End, Task: f},
		{Time: 10000, Kind: Pop, Task: a}, {Time: 10100, Kind: Start, Task: a}, {Time: 11000, Kind: End, Task: a},
	}}
	return []*Process{node, worker}
}

// The timeline follows the Trace Event Format: every event has the
// fields its phase needs, spans have non-negative durations, async and
// flow events pair up, and the tracks are named.
func TestTimelineFormat(t *testing.T) {
	var out bytes.Buffer
	st, err := WriteTimeline(&out, twoProcesses())
	if err != nil {
		t.Fatal(err)
	}
	if st.Tasks != 2 || st.Processes != 2 || st.Bytes != int64(out.Len()) {
		t.Errorf("stats %+v (file %d bytes)", st, out.Len())
	}
	checkTrace(t, out.Bytes())
	for _, want := range []string{`"name":"f"`, `"name":"Counter"`, `"actor Counter"`, `"queued f"`, `"got f"`, `"failed Counter"`, `"obj_pin"`} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("timeline lacks %s", want)
		}
	}
}

// checkTrace validates a Chrome trace in the JSON object format.
func checkTrace(t *testing.T, b []byte) {
	t.Helper()
	var trace struct {
		TraceEvents []map[string]any `json:"traceEvents"`
	}
	if err := json.Unmarshal(b, &trace); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if len(trace.TraceEvents) == 0 {
		t.Fatal("no traceEvents")
	}
	open := map[string]int{}
	named := map[[2]float64]bool{}
	for i, e := range trace.TraceEvents {
		ph, _ := e["ph"].(string)
		need := []string{"name", "pid", "tid"}
		switch ph {
		case "M":
			need = append(need, "args")
			if e["name"] == "thread_name" {
				named[[2]float64{e["pid"].(float64), e["tid"].(float64)}] = true
			}
		case "X":
			need = append(need, "ts", "dur")
		case "i":
			need = append(need, "ts", "s")
		case "b", "e", "s", "f":
			need = append(need, "ts", "id", "cat")
		default:
			t.Fatalf("event %d: phase %q", i, ph)
		}
		for _, k := range need {
			if _, ok := e[k]; !ok {
				t.Fatalf("event %d (%s) lacks %q: %v", i, ph, k, e)
			}
		}
		if ph == "X" && e["dur"].(float64) < 0 {
			t.Fatalf("event %d: negative duration", i)
		}
		if ts, ok := e["ts"].(float64); ok && ts < 0 {
			t.Fatalf("event %d: negative time", i)
		}
		switch ph {
		case "b", "s":
			open[ph+e["cat"].(string)+string(rune(int(e["id"].(float64))))]++
		case "e":
			open["b"+e["cat"].(string)+string(rune(int(e["id"].(float64))))]--
		case "f":
			open["s"+e["cat"].(string)+string(rune(int(e["id"].(float64))))]--
		}
	}
	for k, n := range open {
		if n != 0 {
			t.Errorf("unpaired %q: %d", k, n)
		}
	}
	for _, e := range trace.TraceEvents {
		if ph := e["ph"]; ph == "X" || ph == "i" {
			if !named[[2]float64{e["pid"].(float64), e["tid"].(float64)}] {
				t.Fatalf("track %v/%v has no thread_name", e["pid"], e["tid"])
			}
		}
	}
}

// The recorder's file is what ReadDir reads back, whatever the other
// files in the directory.
func TestReadDirNeedsFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadDir(dir); err == nil {
		t.Fatal("no error for an empty directory")
	}
	if err := os.WriteFile(filepath.Join(dir, "1"+FileExt), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDir(dir); !errors.Is(err, ErrFormat) {
		t.Fatalf("junk file: %v", err)
	}
}

// A task that recorded its whole life splits into phases that add up to
// submit → got; one that did not (the actor's creation) is left out.
func TestBreakdown(t *testing.T) {
	ph := Breakdown(twoProcesses())
	want := map[string]int64{"node: submit to queued": 200, "scheduler queue": 300, "ring push (with the worker's wake-up call)": 50,
		"worker: woken, pops it": 450, "worker: pop to start": 100, "run": 5900, "reply to the node manager": 1000,
		"driver: woken, Get returns": 500, "submit to Get returning": 8500}
	sum := int64(0)
	for i, p := range ph {
		if len(p.Nanos) != 1 || p.Quantile(0.5) != want[p.Name] {
			t.Errorf("%s: %v, want [%d]", p.Name, p.Nanos, want[p.Name])
		}
		if i < len(ph)-1 {
			sum += p.Quantile(0.5)
		}
	}
	if sum != ph[len(ph)-1].Quantile(0.5) {
		t.Errorf("phases add up to %d, the whole to %d", sum, ph[len(ph)-1].Quantile(0.5))
	}
}

// The node process's phases are counted as its events are written, in
// whatever order they come: two sampled tasks' five local phases, one
// task's in order and the other's backwards; a task out of the sample is
// not counted.
func TestPhaseHistograms(t *testing.T) {
	stampNanoseconds(t)
	r, _ := recording(t, ringSlots, time.Hour)
	kinds := []Kind{Submit, Queued, Dispatch, Push, Done, Got}
	for i, k := range kinds {
		r.add(Event{Kind: k, Task: wire.TaskID{Lo: PhaseSample}}, Stamp(1000+i*i*1000))
		r.add(Event{Kind: k, Task: wire.TaskID{Lo: PhaseSample + 1}}, Stamp(1000+i*i*1000)) // not in the sample
	}
	for i := len(kinds) - 1; i >= 0; i-- {
		r.add(Event{Kind: kinds[i], Task: wire.TaskID{Hi: 1, Lo: PhaseSample}}, Stamp(1000+i*i*1000))
	}
	r.add(Event{Kind: Done, Task: wire.TaskID{Lo: 2 * PhaseSample}}, 99) // never submitted here: no phase ends at Done
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	hs := PhaseHistograms()
	want := []time.Duration{1000, 3000, 5000, 7000, 9000}
	for i, h := range hs {
		if h.Count != 2 || h.Sum != 2*want[i] {
			t.Errorf("%s: count %d sum %v, want 2 and %v", LocalPhases[i].Name, h.Count, h.Sum, 2*want[i])
		}
	}
}

// A pair (RecordPair) takes one slot of the ring and reads as its two
// events, the second stamped when it was recorded, with Dispatch's Aux
// on Push; a pair whose first stamp is 2^32 stamps old or more takes two
// slots. The node's phase histograms count pairs' events as any others.
func TestPairs(t *testing.T) {
	stampNanoseconds(t)
	r, dir := recording(t, ringSlots, time.Hour)
	task := wire.TaskID{Hi: 3, Lo: PhaseSample}
	submitted := Now()
	RecordPair(Submit, Queued, task, NameKind(Name([]byte("f")), wire.SubmitTask), submitted)
	queued := Now()
	dispatched := Now()
	RecordPair(Dispatch, Push, task, 5, dispatched)
	pushed := Now()
	RecordPair(Start, End, task, 0, Now()-math.MaxUint32-1)
	RecordPair(Submit, Queued, wire.TaskID{Lo: 1}, 0, Now())
	Sample(2) // task 1 is out of the sample: nothing
	RecordPair(Submit, Queued, wire.TaskID{Lo: 1}, 0, Now())
	Enable(true)
	slots := 0
	for _, s := range *r.shards.Load() {
		if s != nil {
			slots += int(s.head)
		}
	}
	if slots != 5 {
		t.Errorf("%d slots taken, want 5: one a pair, two for the pair too far apart", slots)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	hs := PhaseHistograms()
	if hs[0].Count != 1 || hs[0].Sum > time.Duration(queued-submitted) || hs[2].Count != 1 || hs[2].Sum > time.Duration(pushed-dispatched) {
		t.Errorf("phases from pairs: submit to queued %d in %v (at most %v), ring push %d in %v (at most %v)",
			hs[0].Count, hs[0].Sum, time.Duration(queued-submitted), hs[2].Count, hs[2].Sum, time.Duration(pushed-dispatched))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	p := readOne(t, dir)
	var kinds []Kind
	for _, e := range p.Events {
		if e.Task != task {
			continue
		}
		kinds = append(kinds, e.Kind)
		switch e.Kind {
		case Submit:
			if e.Time != int64(submitted) || p.Names[e.Aux&math.MaxUint32] != "f" {
				t.Errorf("submit %+v, at %d", e, submitted)
			}
		case Queued:
			if e.Time < int64(submitted) || e.Time > int64(queued) || e.Aux != 0 || e.Index != 0 {
				t.Errorf("queued %+v, not in [%d, %d] or with an Aux or Index", e, submitted, queued)
			}
		case Dispatch, Push:
			if e.Aux != 5 || e.Time < int64(dispatched) || e.Time > int64(pushed) {
				t.Errorf("%v %+v, want Aux 5 in [%d, %d]", e.Kind, e, dispatched, pushed)
			}
		case End:
			if e.Time < int64(pushed) {
				t.Errorf("end %+v, before %d", e, pushed)
			}
		}
	}
	if want := []Kind{Start, Submit, Queued, Dispatch, Push, End}; !slices.Equal(kinds, want) {
		t.Errorf("task's events %v, want %v", kinds, want)
	}
	if len(p.Events) != 8 {
		t.Errorf("%d events, want 8", len(p.Events))
	}
}

// A reader gets a process's events in time order, though its recorder
// writes each P's ring apart.
func TestParseSortsByTime(t *testing.T) {
	b := appendHeader(nil, header{PID: 7, Role: RoleNode})
	for _, at := range []int64{30, 40, 10, 20, 35} {
		b = appendEvents(b, Event{Time: at, Kind: Start, Task: wire.TaskID{Lo: uint64(at)}})
	}
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{10, 20, 30, 35, 40} {
		if p.Events[i].Time != want || p.Events[i].Task.Lo != uint64(want) {
			t.Fatalf("event %d: %+v, want time %d", i, p.Events[i], want)
		}
	}
}

// Sampling records one task in every 4, by ID, every event of each.
func TestSample(t *testing.T) {
	r, dir := recording(t, ringSlots, time.Hour)
	Sample(3) // rounds up to 4
	for i := range 100 {
		Record(Start, wire.TaskID{Lo: uint64(i)}, 0)
		Record(End, wire.TaskID{Lo: uint64(i)}, 0)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	p := readOne(t, dir)
	if len(p.Events) != 50 {
		t.Fatalf("%d events, want 25 tasks' 2", len(p.Events))
	}
	for _, e := range p.Events {
		if e.Task.Lo%4 != 0 {
			t.Fatalf("task %d recorded", e.Task.Lo)
		}
	}
}

// A worker that pops a task before the host's push has returned (it was
// spinning) gets a push phase that ends at its pop, never a negative one.
func TestBreakdownPopBeforePush(t *testing.T) {
	procs := twoProcesses()
	for i, e := range procs[0].Events {
		if e.Kind == Push {
			procs[0].Events[i].Time = 2050 // after the worker's Pop at 2000
		}
	}
	for _, p := range Breakdown(procs) {
		if len(p.Nanos) > 0 && p.Nanos[0] < 0 {
			t.Errorf("%s: %v", p.Name, p.Nanos)
		}
		if p.Name == "worker: woken, pops it" && p.Quantile(0.5) != 0 {
			t.Errorf("pop before push: %v", p.Nanos)
		}
	}
}

// Closing a recorder turns recording off in its process only: a switch
// shared with other processes (here, a word standing for one) keeps its
// value.
func TestCloseLeavesSharedSwitch(t *testing.T) {
	shared := new(uint32)
	Attach(shared)
	r, err := open(t.TempDir(), RoleWorker, "w", 8, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	Enable(true)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if On() {
		t.Error("recording still on in this process after Close")
	}
	if *shared != 1 {
		t.Errorf("the shared switch is %d after Close, want 1", *shared)
	}
}
