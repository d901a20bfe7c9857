package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testWhere = Register0("test.where", func() (bool, error) { return IsWorker(), nil })

func TestIsWorker(t *testing.T) {
	startCluster(t, Config{})
	if IsWorker() {
		t.Fatal("the driver says it is a worker")
	}
	if w, err := testWhere.Remote().Get(ctxT(t)); err != nil || !w {
		t.Fatalf("a task says IsWorker() = %v, %v", w, err)
	}
}

// testPerCall asks, from a worker, for a call with other options than
// testGPU was registered with.
var testPerCall = Register0("test.percall", func() (int, error) {
	return testGPU.Options(WithResources(map[string]float64{"CPU": 1})).Remote().Get(context.Background())
})

func TestPerCallOptions(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	cpu := testGPU.Options(WithResources(map[string]float64{"CPU": 1}))
	if v, err := cpu.Remote().Get(ctx); err != nil || v != 1 {
		t.Fatalf("a GPU function called with CPU options: %d, %v", v, err)
	}
	if _, err := testGPU.Remote().Get(ctx); !errors.Is(err, ErrInfeasible) {
		t.Fatalf("the registered options changed: %v", err)
	}
	if v, err := testPerCall.Remote().Get(ctx); err != nil || v != 1 {
		t.Fatalf("per-call options from a worker: %d, %v", v, err)
	}
	_, err := testDieAlways.Options(WithMaxRetries(0)).Remote().Get(ctx)
	if !errors.Is(err, ErrWorkerDied) || !strings.Contains(err.Error(), "after 1 attempts") {
		t.Fatalf("a call with no retries: %v", err)
	}
}

// testGetCounter finds a named actor from inside a task and calls it.
var testGetCounter = Register1("test.getcounter", func(name string) (int, error) {
	h, err := GetActor[counter](context.Background(), name)
	if err != nil {
		return 0, err
	}
	return testIncr.Remote(h, 10).Get(context.Background())
})

func TestNamedActors(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	h := testCounter.Options(WithName("c1")).Remote(5)
	if err := h.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	found, err := GetActor[counter](ctx, "c1")
	if err != nil || found.ID() != h.ID() {
		t.Fatalf("GetActor: %v, %v", found.ID(), err)
	}
	if v, err := testIncr.Remote(found, 1).Get(ctx); err != nil || v != 6 {
		t.Fatalf("call through the found handle: %d, %v", v, err)
	}
	if v, err := testGetCounter.Remote("c1").Get(ctx); err != nil || v != 16 {
		t.Fatalf("call from a task through GetActor: %d, %v", v, err)
	}
	dup := testCounter.Options(WithName("c1")).Remote(0)
	if err := dup.Ready(ctx); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("a second actor of the same name: %v", err)
	}
	if _, err := testIncr.Remote(dup, 1).Get(ctx); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("a call on it: %v", err)
	}
	if _, err := GetActor[counter](ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetActor of an unknown name: %v", err)
	}
	if _, err := GetActor[restartable](ctx, "c1"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("GetActor of the wrong type: %v", err)
	}
	if err := h.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := GetActor[counter](ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetActor after Kill: %v", err)
	}
	again := testCounter.Options(WithName("c1")).Remote(0)
	if err := again.Ready(ctx); err != nil {
		t.Fatalf("reusing the name of a dead actor: %v", err)
	}
}

func TestActorLivesAsLongAsItsHandles(t *testing.T) {
	c := startCluster(t, Config{})
	ctx := ctxT(t)
	h := testCounter.Remote(1)
	call := testIncr.Remote(h, 1)
	h.Release() // the pending call still holds the actor
	if v, err := call.Get(ctx); err != nil || v != 2 {
		t.Fatalf("a call submitted before its handle was released: %d, %v", v, err)
	}
	if s := c.Stats(); s.Actors != 0 {
		t.Fatalf("an actor without handles or calls is alive: %+v", s)
	}
	if _, err := testIncr.Remote(h, 1).Get(ctx); err == nil {
		t.Fatal("a released handle still calls its actor")
	}

	d := testCounter.Options(WithDetached(), WithName("kept")).Remote(7)
	if err := d.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	d.Release()
	if s := c.Stats(); s.Actors != 1 {
		t.Fatalf("a detached actor died with its handle: %+v", s)
	}
	kept, err := GetActor[counter](ctx, "kept")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := testIncr.Remote(kept, 1).Get(ctx); err != nil || v != 8 {
		t.Fatalf("the detached actor: %d, %v", v, err)
	}
	kept.Kill()
	if s := c.Stats(); s.Actors != 0 {
		t.Fatalf("a killed actor is alive: %+v", s)
	}
}

type halves = Pair[[]float64, int]

// testSplit returns the upper half of xs (large: it goes through the
// store) and the length of the lower half, as two objects.
var testSplit = Register1("test.split", func(xs []float64) (halves, error) {
	return halves{First: xs[len(xs)/2:], Second: len(xs) / 2}, nil
})

var testTriple = Register0("test.triple", func() (Triple[int, string, bool], error) {
	return Triple[int, string, bool]{1, "two", true}, nil
})

var testSplitFails = Register0("test.splitfails", func() (Pair[int, int], error) {
	return Pair[int, int]{}, errors.New("no halves today")
})

// testSplitInTask splits in a worker and passes one part on.
var testSplitInTask = Register1("test.splitintask", func(xs []float64) (float64, error) {
	upper, _ := Split(testSplit.Remote(xs))
	return testSum.Remote(upper).Get(context.Background())
})

func TestSeveralReturnsAreSeparateObjects(t *testing.T) {
	c := startCluster(t, Config{})
	ctx := ctxT(t)
	xs := floats(1<<16, 1) // 512 KiB: the upper half is stored
	r := testSplit.Remote(xs)
	upper, n := Split(r)
	r.Release() // the parts are holds of their own
	if v, err := n.Get(ctx); err != nil || v != len(xs)/2 {
		t.Fatalf("second part: %d, %v", v, err)
	}
	sum := testSum.Remote(upper)
	if s, err := sum.Get(ctx); err != nil || s != testSumLocal(xs[len(xs)/2:]) {
		t.Fatalf("first part as an argument: %v, %v", s, err)
	}
	wr := testSplit.Remote(xs)
	whole, err := wr.Get(ctx)
	if err != nil || len(whole.First) != len(xs)/2 || whole.Second != len(xs)/2 {
		t.Fatalf("Get of the pair: %d values, %d, %v", len(whole.First), whole.Second, err)
	}
	upper.Release()
	n.Release()
	wr.Release()
	sum.Release() // its lineage names upper, and upper's the call's stored argument
	if st := c.Stats(); st.Store.Objects != 0 {
		t.Fatalf("a part outlived its last hold: %+v", st.Store)
	}
	a, b, cc := Split3(testTriple.Remote())
	if v, err := b.Get(ctx); err != nil || v != "two" {
		t.Fatalf("triple's second: %q, %v", v, err)
	}
	if got, err := testTriple.Remote().Get(ctx); err != nil || got != (Triple[int, string, bool]{1, "two", true}) {
		t.Fatalf("triple: %+v, %v", got, err)
	}
	_, _ = a, cc
	f1, f2 := Split(testSplitFails.Remote())
	if _, err := f2.Get(ctx); !errors.Is(err, ErrTaskFailed) || !strings.Contains(err.Error(), "no halves") {
		t.Fatalf("a part of a failed call: %v", err)
	}
	f1.Release()
	if s, err := testSplitInTask.Remote(xs).Get(ctx); err != nil || s != testSumLocal(xs[len(xs)/2:]) {
		t.Fatalf("Split in a task: %v, %v", s, err)
	}
	if _, err := Call[int]("test.split", xs).Get(ctx); !errors.Is(err, ErrBadArguments) {
		t.Fatalf("a two-value function called for one value: %v", err)
	}
	a.Release()
	cc.Release()
}

var testSix = Register6("test.six", func(ctx context.Context, a int, b string, c float64, d bool, e []int) (string, error) {
	info, _ := TaskFromContext(ctx)
	return fmt.Sprintf("%s %d %s %v %v %v", info.Name, a, b, c, d, e), nil
})

var testMethod5 = RegisterMethod5(testCounter, "Add5", func(c *counter, ctx context.Context, a, b, d, e int) (int, error) {
	c.n += a + b + d + e
	return c.n, ctx.Err()
})

type (
	celsius float64
	vec     []float64
)

var testKinds = Register6("test.kinds", func(d time.Duration, i int32, u uint16, c celsius, f float32, v vec) (string, error) {
	return fmt.Sprint(d, " ", i, " ", u, " ", float64(c), " ", f, " ", []float64(v)), nil
})

func TestFiveArgumentsAndAContext(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	if got, err := testSix.Remote(ctx, 1, "b", 2.5, true, []int{3}).Get(ctx); err != nil || got != "test.six 1 b 2.5 true [3]" {
		t.Fatalf("six parameters: %q, %v", got, err)
	}
	if got, err := Call[string]("test.six", ctx, 1, "b", 2.5, true, []int{3}).Get(ctx); err != nil || got != "test.six 1 b 2.5 true [3]" {
		t.Fatalf("by name: %q, %v", got, err)
	}
	if _, err := Call[string]("test.six", ctx, 1).Get(ctx); !errors.Is(err, ErrBadArguments) {
		t.Fatalf("too few arguments: %v", err)
	}
	// By name as typed, the types whose typed codecs take the fast formats
	// by kind.
	for what, r := range map[string]Ref[string]{
		"typed":   testKinds.Remote(time.Millisecond, int32(-3), uint16(7), celsius(21.5), float32(0.25), vec{1, 2}),
		"by name": Call[string]("test.kinds", time.Millisecond, int32(-3), uint16(7), celsius(21.5), float32(0.25), vec{1, 2}),
	} {
		if got, err := r.Get(ctx); err != nil || got != "1ms -3 7 21.5 0.25 [1 2]" {
			t.Fatalf("%s, named and sized types: %q, %v", what, got, err)
		}
	}
	h := testCounter.Remote(0)
	if v, err := testMethod5.Remote(h, ctx, 1, 2, 3, 4).Get(ctx); err != nil || v != 10 {
		t.Fatalf("five-parameter method: %d, %v", v, err)
	}
}

// rssAnon is this process's private resident memory, in bytes.
func rssAnon() int {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb << 10
		}
	}
	return -1
}

// testPartSum sums xs[lo:hi] in place and reports the worker's private
// memory while it has its argument.
var testPartSum = Register3("test.partsum", func(v *View[float64], lo, hi int) (Pair[float64, int], error) {
	s := 0.0
	for _, x := range v.Data()[lo:hi] {
		s += x
	}
	return Pair[float64, int]{s, rssAnon()}, nil
})

// testPartSumCopy is testPartSum taking a plain slice, which is copied.
var testPartSumCopy = Register3("test.partsumcopy", func(xs []float64, lo, hi int) (Pair[float64, int], error) {
	s := 0.0
	for _, x := range xs[lo:hi] {
		s += x
	}
	return Pair[float64, int]{s, rssAnon()}, nil
})

var testRSS = Register0("test.rss", func() (int, error) {
	debug.FreeOSMemory()
	return rssAnon(), nil
})

var kept []float64

var testKeepView = Register1("test.keepview", func(v *View[float64]) (int, error) {
	kept = v.Data()
	return len(kept), nil
})

var testTouchKept = Register0("test.touchkept", func() (out string, err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if recover() != nil {
			out = "faulted"
		}
	}()
	return fmt.Sprint(kept[0]), nil
})

func TestViewArgumentIsNotCopiedIntoTheWorker(t *testing.T) {
	startCluster(t, Config{Resources: map[string]float64{"CPU": 1}})
	ctx := ctxT(t)
	const n = 8 << 20 // 64 MiB
	xs := ones(n, 1)
	ref, err := Put(xs)
	if err != nil {
		t.Fatal(err)
	}
	// One worker (one CPU) runs everything; its private memory before,
	// and while each call has the 64 MiB argument.
	base, err := testRSS.Remote().Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const parts = 4
	refs := make([]Ref[Pair[float64, int]], parts)
	for i := range refs {
		refs[i] = testPartSum.Remote(ref, i*n/parts, (i+1)*n/parts)
	}
	got, err := GetAll(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if g.First != n/parts {
			t.Fatalf("part %d sums to %v", i, g.First)
		}
		if grew := g.Second - base; grew > 8*n/4 {
			t.Fatalf("a View argument of %d MiB grew the worker's private memory by %d MiB", 8*n>>20, grew>>20)
		}
	}
	// The control: the same call with a plain slice copies the argument.
	copied, err := testPartSumCopy.Remote(ref, 0, n).Get(ctx)
	if err != nil || copied.First != n {
		t.Fatalf("copying sum: %v, %v", copied.First, err)
	}
	t.Logf("worker private memory over its baseline: %d MiB with a View argument, %d MiB with a copied one (argument: %d MiB)",
		(got[0].Second-base)>>20, (copied.Second-base)>>20, 8*n>>20)
	if grew := copied.Second - base; grew < 8*n*3/4 {
		t.Fatalf("a copied argument of %d MiB grew private memory by only %d MiB: the measure is broken", 8*n>>20, grew>>20)
	}
	// A plain slice works too (copied), and so does a View argument from a
	// value rather than a Ref.
	if s, err := testPartSum.Remote(xs[:1000], 0, 1000).Get(ctx); err != nil || s.First != 1000 {
		t.Fatalf("a slice for a View parameter: %v, %v", s, err)
	}
	// A View kept past its call faults instead of reading reused memory.
	if _, err := testKeepView.Remote(ref).Get(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := testTouchKept.Remote().Get(ctx); err != nil || got != "faulted" {
		t.Fatalf("touching a View argument after its call: %q, %v", got, err)
	}
}

// point's fields are unexported: CBOR would send it as point{}.
type point struct{ x, y int }

var (
	testPointSum  = Register1("test.pointsum", func(p point) (int, error) { return p.x + p.y, nil })
	testMakePoint = Register0("test.makepoint", func() ([]point, error) { return []point{{1, 2}}, nil })
)

// A value that would arrive as its zero value (a struct with no exported
// fields, here or inside a slice) is refused with a clear error, as an
// argument, by name and as a result, rather than sent as zeros.
func TestValuesThatWouldArriveEmptyAreRefused(t *testing.T) {
	startCluster(t, Config{})
	ctx := ctxT(t)
	for what, r := range map[string]Ref[int]{
		"an argument": testPointSum.Remote(point{1, 2}),
		"by name":     Call[int]("test.pointsum", point{1, 2}),
	} {
		if v, err := r.Get(ctx); !errors.Is(err, ErrBadArguments) || !strings.Contains(err.Error(), "no exported fields") {
			t.Errorf("%s: %d, %v; want ErrBadArguments saying why", what, v, err)
		}
	}
	if v, err := testMakePoint.Remote().Get(ctx); err == nil || !strings.Contains(err.Error(), "no exported fields") {
		t.Errorf("a result: %v, %v; want an error saying why", v, err)
	}
}
