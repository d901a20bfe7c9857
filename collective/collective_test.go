package collective_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"manta/collective"
	"manta/core"
)

// group starts a node and n members in a group called name.
func group(t *testing.T, n int, name string, o collective.Options) (context.Context, []core.Actor[member]) {
	t.Helper()
	c, err := core.Init(core.Config{Resources: map[string]float64{"CPU": float64(n + 2)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	actors := make([]core.Actor[member], n)
	for i := range actors {
		actors[i] = memberType.Remote()
	}
	if err := members.CreateGroup(ctx, name, actors, o); err != nil {
		t.Fatal(err)
	}
	return ctx, actors
}

func randoms(r *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(r.IntN(200) - 100)
	}
	return out
}

func fold(op collective.Op, a, b float64) float64 {
	switch op {
	case collective.Sum:
		return a + b
	case collective.Prod:
		return a * b
	case collective.Min:
		return math.Min(a, b)
	}
	return math.Max(a, b)
}

// TestCollectives checks every collective against its definition, on
// lengths that leave segments empty, uneven and cut into many chunks;
// Allreduce both round the ring and in one round (Options.DirectBytes).
func TestCollectives(t *testing.T) {
	// 64-byte chunks and a window of 2: the pipelining and pacing run on
	// small buffers too.
	t.Run("ring", func(t *testing.T) { testCollectives(t, collective.Options{ChunkBytes: 64, Window: 2, DirectBytes: -1}) })
	t.Run("direct", func(t *testing.T) { testCollectives(t, collective.Options{ChunkBytes: 64, Window: 2}) })
}

func testCollectives(t *testing.T, o collective.Options) {
	const size = 3
	ctx, actors := group(t, size, "g", o)
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 7, 100, 1000, 4099} {
		for _, op := range []collective.Op{collective.Sum, collective.Prod, collective.Min, collective.Max} {
			in := make([][]float64, size)
			want := make([]float64, n)
			for i := range in {
				in[i] = randoms(r, n)
				for k := range want {
					if i == 0 {
						want[k] = in[i][k]
					} else {
						want[k] = fold(op, want[k], in[i][k])
					}
				}
			}
			// float64
			refs := make([]core.Ref[[]float64], size)
			for i, a := range actors {
				refs[i] = allreduce64.Remote(a, ctx, "g", in[i], op)
			}
			got, err := core.GetAll(ctx, refs)
			if err != nil {
				t.Fatalf("allreduce64 n=%d %v: %v", n, op, err)
			}
			for i := range got {
				if !slices.Equal(got[i], want) {
					t.Fatalf("allreduce64 n=%d %v: rank %d got %v, want %v", n, op, i, head(got[i]), head(want))
				}
			}
			// float32 (the values are small integers: exact in both)
			refs32 := make([]core.Ref[[]float32], size)
			for i, a := range actors {
				refs32[i] = allreduce32.Remote(a, ctx, "g", to32(in[i]), op)
			}
			got32, err := core.GetAll(ctx, refs32)
			if err != nil {
				t.Fatalf("allreduce32 n=%d %v: %v", n, op, err)
			}
			for i := range got32 {
				if op != collective.Prod && !slices.Equal(got32[i], to32(want)) {
					t.Fatalf("allreduce32 n=%d %v: rank %d got %v, want %v", n, op, i, head(got32[i]), head(to32(want)))
				}
			}
			// reduce-scatter: each rank its segment
			for i, a := range actors {
				refs[i] = reduceScatter64.Remote(a, ctx, "g", in[i], op)
			}
			if got, err = core.GetAll(ctx, refs); err != nil {
				t.Fatalf("reducescatter n=%d %v: %v", n, op, err)
			}
			for i := range got {
				lo, hi := collective.Segment(n, size, i)
				if !slices.Equal(got[i], want[lo:hi]) {
					t.Fatalf("reducescatter n=%d %v: rank %d got %v, want %v", n, op, i, head(got[i]), head(want[lo:hi]))
				}
			}
		}
		// allgather
		refs32 := make([]core.Ref[[]float32], size)
		var want []float32
		for i, a := range actors {
			send := to32(randoms(r, n))
			want = append(want, send...)
			refs32[i] = allgather32.Remote(a, ctx, "g", send)
		}
		got32, err := core.GetAll(ctx, refs32)
		if err != nil {
			t.Fatalf("allgather n=%d: %v", n, err)
		}
		for i := range got32 {
			if !slices.Equal(got32[i], want) {
				t.Fatalf("allgather n=%d: rank %d got %v, want %v", n, i, head(got32[i]), head(want))
			}
		}
		// broadcast from each root
		for root := range size {
			src := randoms(r, n)
			refs := make([]core.Ref[[]float64], size)
			for i, a := range actors {
				buf := make([]float64, n)
				if i == root {
					buf = src
				}
				refs[i] = broadcast64.Remote(a, ctx, "g", buf, root)
			}
			got, err := core.GetAll(ctx, refs)
			if err != nil {
				t.Fatalf("broadcast n=%d root %d: %v", n, root, err)
			}
			for i := range got {
				if !slices.Equal(got[i], src) {
					t.Fatalf("broadcast n=%d root %d: rank %d got %v, want %v", n, root, i, head(got[i]), head(src))
				}
			}
		}
	}
}

func to32(xs []float64) []float32 {
	out := make([]float32, len(xs))
	for i, x := range xs {
		out[i] = float32(x)
	}
	return out
}

func head[E any](xs []E) string {
	if len(xs) > 8 {
		return fmt.Sprint(xs[:8], "...")
	}
	return fmt.Sprint(xs)
}

// outcomes runs outcome at every member with the given lengths.
func outcomes(t *testing.T, ctx context.Context, actors []core.Actor[member], group string, lens ...int) []string {
	t.Helper()
	refs := make([]core.Ref[string], len(lens))
	for i, n := range lens {
		refs[i] = outcome.Remote(actors[i], ctx, group, n)
	}
	out, err := core.GetAll(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every member of an allreduce ends with the same bits, in either
// algorithm, from values whose sum depends on its order; in one round
// they are the rank-order sum.
func TestAllreduceSameBitsEverywhere(t *testing.T) {
	const size, n = 4, 5000
	r := rand.New(rand.NewPCG(3, 4))
	in := make([][]float64, size)
	for i := range in {
		in[i] = make([]float64, n)
		for k := range in[i] {
			in[i][k] = r.NormFloat64() * math.Pow(10, float64(r.IntN(12)-6))
		}
	}
	for _, direct := range []int{-1, 0} {
		t.Run(fmt.Sprint("DirectBytes=", direct), func(t *testing.T) { sameBits(t, in, direct) })
	}
}

func sameBits(t *testing.T, in [][]float64, direct int) {
	size := len(in)
	ctx, actors := group(t, size, "bits", collective.Options{ChunkBytes: 4096, DirectBytes: direct})
	refs := make([]core.Ref[[]float64], size)
	for i, a := range actors {
		refs[i] = allreduce64.Remote(a, ctx, "bits", in[i], collective.Sum)
	}
	got, err := core.GetAll(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < size; i++ {
		for k := range got[i] {
			if math.Float64bits(got[i][k]) != math.Float64bits(got[0][k]) {
				t.Fatalf("element %d is %v at rank %d, %v at rank 0", k, got[i][k], i, got[0][k])
			}
		}
	}
	if direct < 0 {
		return
	}
	for k := range got[0] {
		want := in[0][k]
		for i := 1; i < size; i++ {
			want += in[i][k]
		}
		if got[0][k] != want {
			t.Fatalf("in one round element %d is %v, want the rank-order sum %v", k, got[0][k], want)
		}
	}
}

// TestMismatchedLengths: every rank fails with ErrMismatch, and the group
// still works afterwards.
func TestMismatchedLengths(t *testing.T) {
	ctx, actors := group(t, 3, "m", collective.Options{ChunkBytes: 256})
	if got := outcomes(t, ctx, actors, "m", 1000, 999, 1000); !slices.Equal(got, []string{"mismatch", "mismatch", "mismatch"}) {
		t.Fatalf("mismatched lengths: %v", got)
	}
	// One member's buffer is past DirectBytes: it goes round the ring
	// while the others send theirs in one round.
	if got := outcomes(t, ctx, actors, "m", 1000, 40000, 1000); !slices.Equal(got, []string{"mismatch", "mismatch", "mismatch"}) {
		t.Fatalf("lengths on both sides of DirectBytes: %v", got)
	}
	if got := outcomes(t, ctx, actors, "m", 5000, 5000, 5000); !slices.Equal(got, []string{"ok", "ok", "ok"}) {
		t.Fatalf("after a mismatch: %v", got)
	}
}

// TestMemberKilled: a member killed while the others wait in an allreduce
// for it (round the ring, and in one round): they fail with
// ErrMemberLost, and so does every later call.
func TestMemberKilled(t *testing.T) {
	for _, n := range []int{1 << 20, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { testMemberKilled(t, n) })
	}
}

func testMemberKilled(t *testing.T, n int) {
	ctx, actors := group(t, 3, "k", collective.Options{})
	refs := []core.Ref[string]{outcome.Remote(actors[0], ctx, "k", n), outcome.Remote(actors[1], ctx, "k", n)}
	if err := actors[2].Kill(); err != nil {
		t.Fatal(err)
	}
	got, err := core.GetAll(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"lost", "lost"}) {
		t.Fatalf("after a member was killed: %v", got)
	}
	if got := outcomes(t, ctx, actors, "k", 10, 10); !slices.Equal(got, []string{"lost", "lost"}) {
		t.Fatalf("the next call: %v", got)
	}
}

// TestMemberCrashes: a member's process dies in the middle of the group's
// life; every other member fails with ErrMemberLost.
func TestMemberCrashes(t *testing.T) {
	ctx, actors := group(t, 4, "c", collective.Options{ChunkBytes: 4096})
	if got := outcomes(t, ctx, actors, "c", 100000, 100000, 100000, 100000); !slices.Equal(got, []string{"ok", "ok", "ok", "ok"}) {
		t.Fatalf("before the crash: %v", got)
	}
	refs := make([]core.Ref[string], 3)
	for i := range refs {
		refs[i] = outcome.Remote(actors[i], ctx, "c", 100000)
	}
	crash.Remote(actors[3]).Get(ctx)
	got, err := core.GetAll(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"lost", "lost", "lost"}) {
		t.Fatalf("after a member crashed: %v", got)
	}
}

// TestTimeout: members whose peer never comes give up when the group's
// timeout passes, the late member learns it was abandoned (round the
// ring; in one round it may complete with their buffers, sent before they
// gave up), and the group goes on.
func TestTimeout(t *testing.T) {
	t.Run("ring", func(t *testing.T) { testTimeout(t, -1, "aborted") })
	t.Run("direct", func(t *testing.T) { testTimeout(t, 0, "aborted", "ok") })
}

func testTimeout(t *testing.T, direct int, lateMay ...string) {
	ctx, actors := group(t, 3, "t", collective.Options{Timeout: 300 * time.Millisecond, DirectBytes: direct})
	got := outcomes(t, ctx, actors, "t", 64, 64)
	for i, o := range got {
		if o != "deadline" && o != "aborted" {
			t.Fatalf("rank %d without its peer: %s", i, o)
		}
	}
	if !slices.Contains(got, "deadline") {
		t.Fatalf("no rank timed out: %v", got)
	}
	late := outcome.Remote(actors[2], ctx, "t", 64)
	if o, err := late.Get(ctx); err != nil || !slices.Contains(lateMay, o) {
		t.Fatalf("the late rank: %s, %v; want one of %v", o, err, lateMay)
	}
	if got := outcomes(t, ctx, actors, "t", 64, 64, 64); !slices.Equal(got, []string{"ok", "ok", "ok"}) {
		t.Fatalf("after the timeout: %v", got)
	}
}

// TestDestroy: a destroyed group is gone at its members.
func TestDestroy(t *testing.T) {
	ctx, actors := group(t, 2, "d", collective.Options{})
	members.Destroy(ctx, "d", actors)
	_, err := allreduce64.Remote(actors[0], ctx, "d", []float64{1}, collective.Sum).Get(ctx)
	if err == nil {
		t.Fatal("a destroyed group still works")
	}
}

// TestLargeThroughTheStore: chunks past InlineBytes travel as objects of
// the store and are read in place.
func TestLargeThroughTheStore(t *testing.T) {
	const size, n = 3, 3 << 20
	ctx, actors := group(t, size, "l", collective.Options{ChunkBytes: 512 << 10, Window: 3})
	in := make([][]float32, size)
	want := make([]float32, n)
	for i := range in {
		in[i] = make([]float32, n)
		for k := range in[i] {
			in[i][k] = float32((k*7 + i) % 1000)
			want[k] += in[i][k]
		}
	}
	refs := make([]core.Ref[[]float32], size)
	for i, a := range actors {
		refs[i] = allreduce32.Remote(a, ctx, "l", in[i], collective.Sum)
	}
	got, err := core.GetAll(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if !slices.Equal(got[i], want) {
			t.Fatalf("rank %d got %v, want %v", i, head(got[i]), head(want))
		}
	}
}

// bcastOutcome runs a broadcast of n float64s from root and says how it
// ended.
var bcastOutcome = core.RegisterMethod4(memberType, "bcastOutcome", func(_ *member, ctx context.Context, group string, n, root int) (string, error) {
	g, err := collective.GetGroup(group)
	if err != nil {
		return "", err
	}
	return classify(collective.Broadcast(ctx, g, make([]float64, n), root)), nil
})

// TestMismatchedCalls: members that disagree on the collective, its
// root or its element type all fail, the root of a broadcast included.
func TestMismatchedCalls(t *testing.T) {
	ctx, actors := group(t, 3, "mc", collective.Options{})
	refs := []core.Ref[string]{
		bcastOutcome.Remote(actors[0], ctx, "mc", 100, 0),
		outcome.Remote(actors[1], ctx, "mc", 100),
		bcastOutcome.Remote(actors[2], ctx, "mc", 100, 0),
	}
	got, err := core.GetAll(ctx, refs)
	if err != nil || !slices.Equal(got, []string{"mismatch", "mismatch", "mismatch"}) {
		t.Fatalf("broadcast beside an allreduce: %v, %v", got, err)
	}
	refs = []core.Ref[string]{
		bcastOutcome.Remote(actors[0], ctx, "mc", 100, 0),
		bcastOutcome.Remote(actors[1], ctx, "mc", 100, 1),
		bcastOutcome.Remote(actors[2], ctx, "mc", 100, 0),
	}
	if got, err = core.GetAll(ctx, refs); err != nil || !slices.Equal(got, []string{"mismatch", "mismatch", "mismatch"}) {
		t.Fatalf("broadcasts from different roots: %v, %v", got, err)
	}
	r32 := allreduce32.Remote(actors[0], ctx, "mc", make([]float32, 10), collective.Sum)
	refs = []core.Ref[string]{outcome.Remote(actors[1], ctx, "mc", 10), outcome.Remote(actors[2], ctx, "mc", 10)}
	if got, err = core.GetAll(ctx, refs); err != nil || !slices.Equal(got, []string{"mismatch", "mismatch"}) {
		t.Fatalf("float64s beside float32s: %v, %v", got, err)
	}
	if _, err := r32.Get(ctx); err == nil || !strings.Contains(err.Error(), collective.ErrMismatch.Error()) {
		t.Fatalf("the float32 member: %v", err)
	}
	if got := outcomes(t, ctx, actors, "mc", 10, 10, 10); !slices.Equal(got, []string{"ok", "ok", "ok"}) {
		t.Fatalf("afterwards: %v", got)
	}
}

// TestCreateGroupTwice: a second group of the same name on the same
// actors fails, and leaves the first working.
func TestCreateGroupTwice(t *testing.T) {
	ctx, actors := group(t, 2, "twice", collective.Options{})
	if err := members.CreateGroup(ctx, "twice", actors, collective.Options{}); err == nil {
		t.Fatal("a second group of the same name was made")
	}
	if got := outcomes(t, ctx, actors, "twice", 10, 10); !slices.Equal(got, []string{"ok", "ok"}) {
		t.Fatalf("the first group: %v", got)
	}
}
