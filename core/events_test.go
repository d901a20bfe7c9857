package core

import (
	"bytes"
	"encoding/json"
	"testing"

	"manta/events"
	"manta/rpc/wire"
)

// With Config.EventsDir, a task's life is recorded in the driver's and
// the worker's files, stage by stage and in the order it happened (the
// processes share the machine's clock); RecordEvents(false) stops it;
// the files make a timeline.
func TestEventsOfATaskLife(t *testing.T) {
	dir := t.TempDir()
	c, err := Init(Config{Resources: map[string]float64{"CPU": 2}, EventsDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	a := testAdd.Remote(1, 2)
	b := testAdd.Remote(a, 10)
	if v, err := b.Get(ctx); err != nil || v != 13 {
		t.Fatalf("b = %d, %v", v, err)
	}
	h := testCounter.Remote(5)
	if v, err := testIncr.Remote(h, 1).Get(ctx); err != nil || v != 6 {
		t.Fatalf("Incr = %d, %v", v, err)
	}
	c.RecordEvents(false)
	quiet := testAdd.Remote(0, 0)
	if _, err := quiet.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}

	procs, err := events.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	stages := map[wire.TaskID]map[events.Kind]int64{}
	roles := map[events.Role]int{}
	for _, p := range procs {
		roles[p.Role]++
		if p.Dropped > 0 {
			t.Errorf("pid %d dropped %d events", p.PID, p.Dropped)
		}
		for _, e := range p.Events {
			if e.Kind.Object() {
				continue
			}
			if stages[e.Task] == nil {
				stages[e.Task] = map[events.Kind]int64{}
			}
			stages[e.Task][e.Kind] = e.Time
		}
	}
	t.Logf("%d processes, %v; task b: %v", len(procs), roles, stages[b.ID().Task])
	if roles[events.RoleNode] != 1 || roles[events.RoleWorker] < 1 {
		t.Fatalf("processes by role: %v", roles)
	}
	life := []events.Kind{events.Submit, events.Ready, events.Queued, events.Dispatch, events.Push, events.Pop, events.Start, events.End, events.Done, events.Got}
	got := stages[b.ID().Task]
	for i, k := range life {
		if _, ok := got[k]; !ok {
			t.Fatalf("task b has no %v event: %v", k, got)
		}
		prev := life[max(i-1, 0)]
		if k == events.Pop {
			// Push is stamped after the wake-up call returns; a spinning
			// worker may pop first.
			prev = events.Dispatch
		}
		if got[k] < got[prev] {
			t.Errorf("task b: %v at %d, before %v at %d", k, got[k], prev, got[prev])
		}
	}
	call := stages[h.ID()]
	for _, k := range []events.Kind{events.Submit, events.Dispatch, events.Start, events.End, events.Done} {
		if _, ok := call[k]; !ok {
			t.Errorf("the actor's creation has no %v event", k)
		}
	}
	if q := stages[quiet.ID().Task]; len(q) != 0 {
		t.Errorf("a task run with recording off has events: %v", q)
	}

	var out bytes.Buffer
	st, err := events.WriteTimeline(&out, procs)
	if err != nil {
		t.Fatal(err)
	}
	if st.Tasks < 4 || !json.Valid(out.Bytes()) {
		t.Fatalf("timeline: %+v, valid JSON %v", st, json.Valid(out.Bytes()))
	}
	for _, want := range []string{`"name":"test.add"`, `"actor test.Counter"`, `"got test.add"`} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("timeline lacks %s", want)
		}
	}
}
