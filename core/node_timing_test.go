package core

import (
	"context"
	"testing"

	"manta/rpc/wire"
	"manta/sched"
	"manta/shm"
	"manta/shm/store"
)

// fakeWorker is a worker slot the node knows whose rings the benchmark
// plays the worker's side of, in the same goroutine: the node's own cost
// per task, without processes or scheduling noise.
type fakeWorker struct {
	c   *workerConn
	buf []byte
	m   wire.Msg
	out []byte
}

func newFakeWorker(b *testing.B, n *node, id sched.WorkerID) *fakeWorker {
	const ring = 1 << 20
	seg, err := shm.NewSegment("bench-worker", workerSegmentSize(ring))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { seg.Close() })
	l := workerRings(seg.Bytes(), ring)
	out, err := shm.NewRing(l.toWorker, ring, shm.NewDoorbell(l.bell))
	if err != nil {
		b.Fatal(err)
	}
	in, err := shm.NewRing(l.toNode, ring, shm.NewDoorbell(l.controlBell))
	if err != nil {
		b.Fatal(err)
	}
	ctl, err := shm.NewRing(l.control, controlRingBytes, shm.NewDoorbell(l.controlBell))
	if err != nil {
		b.Fatal(err)
	}
	c := &workerConn{id: id, n: n, seg: seg, in: in, out: out, ctl: ctl, exited: make(chan struct{}),
		borrows: map[wire.ObjectID]int32{}, pins: map[wire.ObjectID]int32{}, creating: map[wire.ObjectID]store.Slot{}}
	n.mu.Lock()
	n.pool.conns[id] = c // not published: the inbound loop leaves it to the benchmark
	n.sched.WorkerStarted(id)
	n.processActions()
	n.mu.Unlock()
	return &fakeWorker{c: c}
}

// serve answers every Execute waiting for the worker with a Done carrying
// the integer 0, then has the node handle the replies.
func (f *fakeWorker) serve(b *testing.B) {
	for {
		msg, ok, err := f.c.out.TryPop(f.buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		if !ok {
			break
		}
		f.buf = msg
		if err := wire.Decode(msg, &f.m); err != nil || f.m.Kind != wire.KindExecute {
			b.Fatalf("fake worker got %v, %v", f.m.Kind, err)
		}
		f.out = wire.Append(f.out[:0], &wire.Msg{Kind: wire.KindDone, Task: f.m.Task, Data: []byte{fmtInt, 0}})
		if !f.c.in.TryPush(f.out) {
			b.Fatal("fake worker's ring is full")
		}
	}
	n := f.c.n
	n.mu.Lock()
	n.pool.drain(f.c)
	n.mu.Unlock()
}

// BenchmarkNodeSubmitDispatchDone is the driver's task path through its
// node with the worker's side played in process: Remote, the node's
// submit, the scheduler, the Execute message, its Done and Get; the refs
// are left to the collector, as most programs leave them.
func BenchmarkNodeSubmitDispatchDone(b *testing.B) {
	c, err := Init(Config{Resources: map[string]float64{"CPU": 1}, MaxWorkers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Shutdown()
	fw := newFakeWorker(b, c.n, 1<<30)
	ctx := context.Background()
	const batch = 16
	refs := make([]Ref[int], batch)
	b.ReportAllocs()
	for b.Loop() {
		for i := range refs {
			refs[i] = benchNoop.Remote()
		}
		fw.serve(b)
		if _, err := GetAll(ctx, refs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "tasks/s")
}
