package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"manta/internal/faulttest"
	"manta/node"
	"manta/node/host"
	"manta/rpc/wire"
	"manta/shm"
	"manta/shm/store"
)

func floats(n int, seed float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = seed + float64(i)
	}
	return out
}

var testSum = Register1("test.sum", func(xs []float64) (float64, error) {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s, nil
})

// testSumVia gets a nested reference inside a worker: a zero-copy view of
// shared memory there.
var testSumVia = Register1("test.sumvia", func(n struct{ R Ref[[]float64] }) (float64, error) {
	xs, err := n.R.Get(context.Background())
	if err != nil {
		return 0, err
	}
	return testSumLocal(xs), nil
})

var testMakeFloats = Register2("test.makefloats", func(n int, seed float64) ([]float64, error) { return floats(n, seed), nil })

func testSumLocal(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// inStore reports whether p points into one of this process's mappings of
// the object store, rather than memory of its own.
func inStore(c *Cluster, p unsafe.Pointer) bool {
	for _, seg := range []*shm.Segment{c.rt.objs.roSeg, c.rt.objs.seg} {
		m := seg.Bytes()
		start := uintptr(unsafe.Pointer(&m[0]))
		if uintptr(p) >= start && uintptr(p) < start+uintptr(len(m)) {
			return true
		}
	}
	return false
}

func ones(n int, x float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = x
	}
	return out
}

// A value returned by Get is the caller's: it must not change when its
// object is released and the store reuses the memory (it used to show the
// next object's bytes).
func TestGetValueSurvivesReleaseAndReuse(t *testing.T) {
	startCluster(t, Config{StoreBytes: 64 << 20})
	ctx := ctxT(t)
	got := func() []float64 {
		r, err := Put(ones(1<<20, 1)) // 8 MiB
		if err != nil {
			t.Fatal(err)
		}
		xs, err := r.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return xs // the Ref goes out of scope here
	}()
	runtimeGC()
	for i := range 4 {
		if _, err := Put(ones(1<<20, 100+float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i, x := range got {
		if x != 1 {
			t.Fatalf("element %d of a value Get returned changed to %v after its object was freed", i, x)
		}
	}
}

// A large result is as writable as a small one.
func TestLargeResultIsWritable(t *testing.T) {
	c := startCluster(t, Config{})
	ctx := ctxT(t)
	small, err := testMakeFloats.Remote(10, 2.0).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	big, err := testMakeFloats.Remote(1<<20, 2.0).Get(ctx) // an 8 MiB result
	if err != nil || len(big) != 1<<20 || big[100] != 102 {
		t.Fatalf("stored result: %d values, %v", len(big), err)
	}
	if inStore(c, unsafe.Pointer(&big[0])) {
		t.Fatal("Get returned store memory instead of the caller's own")
	}
	small[0], big[0] = 1, 1 // used to be a fatal fault for the large one
	if small[0] != 1 || big[0] != 1 {
		t.Fatal("writes did not stick")
	}
}

func TestViewIsZeroCopyPrivateAndRevokedOnRelease(t *testing.T) {
	c := startCluster(t, Config{StoreBytes: 64 << 20})
	ctx := ctxT(t)
	want := floats(1<<17, 0.5) // 1 MiB
	p, err := Put(want)
	if err != nil {
		t.Fatal(err)
	}
	v, err := GetView(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	data := v.Data()
	if len(data) != len(want) || data[12345] != want[12345] {
		t.Fatalf("view: %d values", len(data))
	}
	if inStore(c, unsafe.Pointer(&data[0])) {
		t.Fatal("the view is the store's shared mapping, which others' objects reuse")
	}
	data[0] = 42 // private to the view
	if again, err := p.Get(ctx); err != nil || again[0] != want[0] {
		t.Fatalf("a write to a view changed the stored object: %v, %v", again[0], err)
	}
	// The view holds its object: releasing the Ref does not free it.
	p.Release()
	runtimeGC()
	if data[1] != want[1] {
		t.Fatal("view lost its data when the Ref was released")
	}
	if err := v.Release(); err != nil {
		t.Fatal(err)
	}
	if err := v.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	mustFault(t, func() { sink += data[1] })
	if st := c.Stats(); st.Objects != 0 || st.Store.Pinned != 0 || st.Store.Used != 0 {
		t.Fatalf("a released view left its object behind: %+v", st)
	}

	// A small (inline) value follows the same rules.
	q, err := Put([]byte("small"))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := GetView(ctx, q)
	if err != nil || string(sv.Data()) != "small" {
		t.Fatalf("small view: %q, %v", sv.Data(), err)
	}
	b := sv.Data()
	sv.Release()
	mustFault(t, func() { sink += float64(b[0]) })
}

var sink float64

func mustFault(t *testing.T, f func()) {
	t.Helper()
	if !faulttest.Faults(f) {
		t.Error("access to released memory did not fault")
	}
}

func TestStoredValuesInWorkers(t *testing.T) {
	startCluster(t, Config{StoreBytes: 64 << 20})
	ctx := ctxT(t)
	want := floats(1<<17, 0.5) // 1 MiB
	p, err := Put(want)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := testSum.Remote(p).Get(ctx); err != nil || s != testSumLocal(want) {
		t.Fatalf("stored argument: %v, %v", s, err)
	}
	if s, err := testSumVia.Remote(struct{ R Ref[[]float64] }{p}).Get(ctx); err != nil || s != testSumLocal(want) {
		t.Fatalf("Get in a worker: %v, %v", s, err)
	}
}

func TestStoreSpillsAndRestoresThreeTimesItsCapacity(t *testing.T) {
	const capacity, size = 8 << 20, 1 << 20
	c, err := Init(Config{StoreBytes: capacity})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	refs := make([]Ref[[]byte], 3*capacity/size)
	for i := range refs {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(i + j)
		}
		if refs[i], err = Put(b); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	dir := c.spill.path
	if files, err := os.ReadDir(dir); err != nil || len(files) == 0 {
		t.Fatalf("the default spill directory %s holds %d files: %v", dir, len(files), err)
	}
	for i, r := range refs {
		b, err := r.Get(ctx)
		if err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
		if len(b) != size || b[0] != byte(i) || b[size-1] != byte(i+size-1) {
			t.Fatalf("object %d came back wrong", i)
		}
		r.Release() // so the store can make room for the next
	}
	st := c.Stats().Store
	if st.SpillWrites == 0 || st.Restores == 0 {
		t.Fatalf("no spilling happened: %+v", st)
	}
	t.Logf("spill writes %d (%d MB), restores %d (%d MB)", st.SpillWrites, st.SpillWriteBytes>>20, st.Restores, st.RestoreBytes>>20)
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Shutdown left the spill directory %s: %v", dir, err)
	}
}

func TestStoreTooLargeAndFullOfPinnedObjects(t *testing.T) {
	const capacity = 4 << 20
	startCluster(t, Config{StoreBytes: capacity, StoreWait: 200 * time.Millisecond})
	ctx := ctxT(t)
	if _, err := Put(make([]byte, 2*capacity)); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("object larger than the store: %v", err)
	}
	// View (and so pin) objects until the store is full.
	var held []Ref[[]byte]
	var err error
	for i := 0; i < 8 && err == nil; i++ {
		var r Ref[[]byte]
		if r, err = Put(make([]byte, 1<<20)); err == nil {
			held = append(held, r)
			var v *View[byte]
			if v, err = GetView(ctx, r); err == nil {
				defer v.Release()
			}
		}
	}
	if !errors.Is(err, ErrStoreFull) || !errors.Is(err, store.ErrFull) {
		t.Fatalf("put into a store full of pinned objects: %v", err)
	}
	for i, r := range held {
		if b, err := r.Get(ctx); err != nil || len(b) != 1<<20 {
			t.Fatalf("object %d lost after a failed put: %v", i, err)
		}
	}
}

var testHoldThenSum = Register2("test.holdsum", func(xs []float64, wait int64) (float64, error) {
	time.Sleep(time.Duration(wait))
	return testSumLocal(xs), nil
})

func TestStoredArgumentsStayPinnedWhileTheTaskRuns(t *testing.T) {
	const capacity = 8 << 20
	startCluster(t, Config{StoreBytes: capacity, SpillDir: t.TempDir()})
	ctx := ctxT(t)
	arg := floats(1<<17, 3) // 1 MiB
	running := testHoldThenSum.Remote(arg, int64(200*time.Millisecond))
	// Churn the store while the task holds its argument.
	for i := range 3 * capacity / (1 << 20) {
		r, err := Put(make([]byte, 1<<20))
		if err != nil {
			t.Fatalf("churn put %d: %v", i, err)
		}
		_ = r
	}
	if s, err := running.Get(ctx); err != nil || s != testSumLocal(arg) {
		t.Fatalf("sum of a pinned argument: %v, %v", s, err)
	}
}

// envRogueWorker makes the test binary's workers misbehave: each asks the
// node for a store object, writes half of it and dies without sealing.
const envRogueWorker = "MANTA_TEST_ROGUE_WORKER"

func rogueWorker() {
	w, err := attachWorker()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rogue worker:", err)
		os.Exit(2)
	}
	go func() { // deliver replies; run nothing
		var buf []byte
		var m wire.Msg
		for {
			msg, err := w.in.Pop(buf[:0], 0)
			if err != nil {
				os.Exit(4)
			}
			buf = msg
			if wire.Decode(msg, &m) == nil && m.Kind == wire.KindCreateReply {
				w.deliver(&m)
			}
		}
	}()
	id := wire.ObjectID{Task: randomTaskID(), Index: wire.PutIndexBase}
	req, ch := w.request(&wire.Msg{Kind: wire.KindCreate, Object: id, Slot: wire.Slot{Size: 1 << 20}})
	if rep, err := w.await(context.Background(), req, ch, false); err == nil && rep.results[0].Status == wire.StatusOK {
		buf, _ := w.objs.write.Writable(node.FromSlot(rep.results[0].Slot))
		copy(buf[:len(buf)/2], make([]byte, len(buf)/2))
	}
	os.Exit(3)
}

func TestWriterThatDiesBeforeSealingLosesNothing(t *testing.T) {
	t.Setenv(envRogueWorker, "1")
	c := startCluster(t, Config{StoreBytes: 16 << 20})
	_, err := testAdd.Remote(1, 2).Get(ctxT(t))
	if !errors.Is(err, ErrWorkerDied) {
		t.Fatalf("a task on rogue workers: %v", err)
	}
	st := c.Stats().Store
	if st.Unsealed != 0 || st.Used != 0 || st.Objects != 0 {
		t.Fatalf("the dead writers' objects were not reclaimed: %+v", st)
	}
}

func TestCorruptSpillFileIsALostObjectNotGarbage(t *testing.T) {
	const capacity, size = 8 << 20, 1 << 20
	dir := t.TempDir()
	startCluster(t, Config{StoreBytes: capacity, SpillDir: dir})
	first, err := Put(make([]byte, size))
	if err != nil {
		t.Fatal(err)
	}
	// Push the first object out to disk: holding every reference, the
	// store cannot free anything and must spill, least recently used first.
	held := make([]Ref[[]byte], 2*capacity/size)
	for i := range held {
		if held[i], err = Put(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, host.StoreID(first.ID()).String())
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the first object was not spilled: %v", err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := first.Get(ctxT(t)); !errors.Is(err, ErrObjectLost) {
		t.Fatalf("Get of a corrupted spilled object: %d bytes, %v", len(b), err)
	}
	runtime.KeepAlive(held)
}
