package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/node"
	"manta/rpc/wire"
	"manta/sched"
	"manta/shm"
	"manta/shm/store"
)

// TestMain turns the test binary into a worker when a host started it as
// one: the host's tests run real processes.
func TestMain(m *testing.M) {
	if IsWorker() {
		if err := fakeWorker(); err != nil {
			fmt.Fprintln(os.Stderr, "fake worker:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeWorker serves the protocol as a worker does, for a few functions:
// echo joins its arguments; big stores 1 MiB of its argument's first byte
// through the store; die exits on its first attempt; hang returns once
// cancelled (first saying "started" in the file its argument names, if
// it has one), stuck never.
func fakeWorker() error {
	end, err := Attach()
	if err != nil {
		return err
	}
	view, err := store.NewView(end.Store)
	if err != nil {
		return err
	}
	send := func(m *wire.Msg) error { return end.Out.Push(wire.Append(nil, m), 10*time.Second) }
	var buf []byte
	var m wire.Msg
	for {
		msg, err := end.In.Pop(buf[:0], time.Second)
		if errors.Is(err, shm.ErrTimeout) {
			continue
		}
		if err != nil {
			return nil // the host closed the ring
		}
		buf = msg
		if err := wire.Decode(msg, &m); err != nil {
			return err
		}
		switch m.Kind {
		case wire.KindShutdown:
			return nil
		case wire.KindExecute:
		default:
			continue
		}
		done := wire.Msg{Kind: wire.KindDone, Task: m.Task}
		switch string(m.Name) {
		case "echo":
			for _, a := range m.Args {
				done.Data = append(done.Data, a.Data...)
			}
		case "die":
			if m.Attempt == 1 {
				os.Exit(3)
			}
			done.Data = []byte("second attempt")
		case "stuck":
			select {}
		case "hang":
			if len(m.Args) > 0 {
				if err := os.WriteFile(string(m.Args[0].Data), []byte("started\n"), 0); err != nil {
					return err
				}
			}
			// Until the host cancels it.
			for {
				msg, err := end.Control.Pop(nil, time.Second)
				if errors.Is(err, shm.ErrTimeout) {
					continue
				}
				var c wire.Msg
				if err != nil || wire.Decode(msg, &c) != nil {
					return fmt.Errorf("control ring: %v", err)
				}
				if c.Kind == wire.KindCancel && c.Task == m.Task {
					break
				}
			}
			done.Status, done.Data = wire.StatusError, textErrors{}.Encode(errors.New("cancelled"), nil, m.Task)
		case "big":
			id := wire.ReturnID(m.Task)
			if err := send(&wire.Msg{Kind: wire.KindCreate, ReqID: 1, Object: id, Slot: wire.Slot{Size: 1 << 20}}); err != nil {
				return err
			}
			reply, err := end.In.Pop(nil, 10*time.Second)
			if err != nil {
				return err
			}
			var r wire.Msg
			if err := wire.Decode(reply, &r); err != nil || r.Kind != wire.KindCreateReply || r.Status != wire.StatusOK {
				return fmt.Errorf("create reply %v %v: %v", r.Kind, r.Status, err)
			}
			dst, err := view.Writable(node.FromSlot(r.Slot))
			if err != nil {
				return err
			}
			for i := range dst {
				dst[i] = m.Args[0].Data[0]
			}
			done.Stored = true
		default:
			done.Status, done.Data = wire.StatusError, textErrors{}.Encode(fmt.Errorf("unknown function %s", m.Name), nil, m.Task)
		}
		if err := send(&done); err != nil {
			return err
		}
	}
}

// textErrors keeps errors as their text, with the sentinel they wrap.
type textErrors struct{}

var sentinels = []error{node.ErrShutdown, node.ErrWorkerDied, node.ErrCancelled, node.ErrObjectFreed}

func (textErrors) Encode(err error, _ []byte, _ wire.TaskID) []byte {
	for i, s := range sentinels {
		if errors.Is(err, s) {
			return append([]byte{byte(i)}, err.Error()...)
		}
	}
	return append([]byte{255}, err.Error()...)
}

func (textErrors) Decode(b []byte) error {
	if len(b) > 0 && int(b[0]) < len(sentinels) {
		return fmt.Errorf("%w (%s)", sentinels[b[0]], b[1:])
	}
	if len(b) == 0 {
		return errors.New("empty error")
	}
	return errors.New(string(b[1:]))
}

func newHost(t *testing.T, cpus float64, clock clockwork.Clock) *Host {
	t.Helper()
	total, err := sched.NewResources(map[string]float64{"CPU": cpus})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{
		Node:      node.Config{Errors: textErrors{}, Sched: sched.Config{Total: total, MaxWorkers: int(cpus)}},
		Store:     store.Config{Capacity: 64 << 20},
		RingBytes: 1 << 16,
		Clock:     clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Shutdown() })
	return h
}

var nextTask uint64

func call(t *testing.T, h *Host, name string, args ...string) *node.Object {
	t.Helper()
	nextTask++
	spec := &node.TaskSpec{ID: wire.TaskID{Hi: 1, Lo: nextTask}, Kind: wire.SubmitTask, Name: []byte(name)}
	for _, a := range args {
		spec.Args = append(spec.Args, wire.Arg{Data: []byte(a)})
	}
	o, err := h.Submit(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func get(t *testing.T, h *Host, o *node.Object) Read {
	t.Helper()
	out := make([]Read, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Get(ctx, []Hold{{ID: o.ID(), Obj: o}}, out); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.DoneReading(out) })
	return out[0]
}

func TestTasksRunInWorkerProcesses(t *testing.T) {
	h := newHost(t, 2, nil)
	a, b := call(t, h, "echo", "hello, ", "world"), call(t, h, "echo", "again")
	if r := get(t, h, a); r.Err != nil || string(r.Data) != "hello, world" {
		t.Fatalf("echo = %q, %v", r.Data, r.Err)
	}
	if r := get(t, h, b); r.Err != nil || string(r.Data) != "again" {
		t.Fatalf("echo = %q, %v", r.Data, r.Err)
	}
	h.Release(a)
	h.Release(b)
	if s := h.Stats(); s.Node.Objects != 0 || s.Node.Started < 1 {
		t.Fatalf("stats after release: %+v", s.Node)
	}
}

func TestWorkerDeathRetriesTheTask(t *testing.T) {
	h := newHost(t, 1, nil)
	r := get(t, h, call(t, h, "die"))
	if r.Err != nil || string(r.Data) != "second attempt" {
		t.Fatalf("die = %q, %v; want the second attempt's value", r.Data, r.Err)
	}
}

func TestStoredResultsArePinnedForTheReader(t *testing.T) {
	h := newHost(t, 1, nil)
	o := call(t, h, "big", "x")
	r := get(t, h, o)
	if r.Err != nil || !r.Stored || !r.Pinned || r.Slot.Size != 1<<20 {
		t.Fatalf("big = %+v", r)
	}
	view, err := store.NewView(h.Store().Segment())
	if err != nil {
		t.Fatal(err)
	}
	b, err := view.BytesOf(StoreID(o.ID()), r.Slot)
	if err != nil || !bytes.Equal(b, bytes.Repeat([]byte("x"), 1<<20)) {
		t.Fatalf("stored bytes wrong (%v)", err)
	}
	if s := h.Stats().Store; s.Pinned < 1<<20 {
		t.Fatalf("pinned %d bytes while read, want at least %d", s.Pinned, 1<<20)
	}
}

func TestPutStoredAndGet(t *testing.T) {
	h := newHost(t, 1, nil)
	id := wire.ObjectID{Task: wire.TaskID{Hi: 2, Lo: 1}, Index: wire.PutIndexBase}
	o, err := h.PutStored(id, 4096, func(dst []byte) error { copy(dst, "data"); return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Read, 1)
	if err := h.Get(context.Background(), []Hold{{ID: id, Obj: o}}, out); err != nil {
		t.Fatal(err)
	}
	if !out[0].Pinned || out[0].Slot.Size != 4096 {
		t.Fatalf("read %+v", out[0])
	}
	h.DoneReading(out)
	h.Release(o)
	if s := h.Stats(); s.Node.Objects != 0 || s.Store.Used != 0 {
		t.Fatalf("left after release: %d objects, %d bytes stored", s.Node.Objects, s.Store.Used)
	}
}

func TestUnknownFunctionFails(t *testing.T) {
	h := newHost(t, 1, nil)
	if r := get(t, h, call(t, h, "nosuch")); r.Err == nil || !strings.Contains(r.Err.Error(), "unknown function") {
		t.Fatalf("got %v, want the worker's error", r.Err)
	}
}

func TestWaitTimesOutOnTheHostClock(t *testing.T) {
	clock := clockwork.NewFakeClock()
	h := newHost(t, 1, clock)
	o := call(t, h, "hang")
	done := make(chan []int)
	go func() {
		ready, err := h.Wait(context.Background(), []Hold{{ID: o.ID(), Obj: o}}, 1, time.Hour)
		if err != nil {
			t.Error(err)
		}
		done <- ready
	}()
	// The host's ticker and the Wait's timer.
	if err := clock.BlockUntilContext(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if ready := <-done; len(ready) != 0 {
		t.Fatalf("ready %v, want none", ready)
	}
	if err := h.Cancel(o.ID().Task, node.ErrCancelled); err != nil { // lets the worker go
		t.Fatal(err)
	}
	if r := get(t, h, o); !errors.Is(r.Err, node.ErrCancelled) {
		t.Fatalf("got %v, want ErrCancelled", r.Err)
	}
}

func TestShutdownFailsWorkInFlightAndKillsStuckWorkers(t *testing.T) {
	h := newHost(t, 1, nil)
	get(t, h, call(t, h, "echo", "up")) // the worker is live: the next call goes straight to it
	o := call(t, h, "stuck")
	got := make(chan error, 1)
	go func() {
		out := make([]Read, 1)
		err := h.Get(context.Background(), []Hold{{ID: o.ID(), Obj: o}}, out)
		if err == nil {
			err = out[0].Err
		}
		got <- err
	}()
	if err := h.Shutdown(); err != nil { // returns only once the stuck worker was killed
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, node.ErrShutdown) {
		t.Fatalf("Get of a call in flight at Shutdown: %v, want ErrShutdown", err)
	}
	if _, err := h.Submit(&node.TaskSpec{ID: wire.TaskID{Lo: 99}, Name: []byte("echo")}, nil); !errors.Is(err, node.ErrShutdown) {
		t.Fatalf("Submit after Shutdown: %v", err)
	}
}

func TestCancelWithContext(t *testing.T) {
	h := newHost(t, 1, nil)
	ctx, cancel := context.WithCancel(context.Background())
	nextTask++
	o, err := h.Submit(&node.TaskSpec{ID: wire.TaskID{Hi: 1, Lo: nextTask}, Kind: wire.SubmitTask, Name: []byte("hang")}, ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if r := get(t, h, o); !errors.Is(r.Err, node.ErrCancelled) {
		t.Fatalf("got %v, want ErrCancelled", r.Err)
	}
}
