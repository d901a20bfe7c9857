package core

import (
	"errors"
	"runtime"
	"sync"
	"testing"
)

var testAddFloats = Register2("test.addfloats", func(a, b []float64) ([]float64, error) {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out, nil
})

// A tree reduce that releases each level once it is submitted leaves only
// the final object behind, without the garbage collector's help: each
// intermediate's bytes are freed as soon as the task that consumes it
// has run. The final result's lineage keeps their records, to make it
// again should it be lost, and the leaves' values (Puts, which nothing
// could make again), until the result is released.
func TestTreeReduceFreesIntermediatesAtOnce(t *testing.T) {
	c := startCluster(t, Config{StoreBytes: 512 << 20})
	ctx := ctxT(t)
	const leaves, n = 64, 1 << 17 // 1 MiB each
	var all []Ref[[]float64]      // every Ref stays reachable: only Release can free
	refs := make([]Ref[[]float64], leaves)
	for i := range refs {
		r, err := Put(ones(n, 1))
		if err != nil {
			t.Fatal(err)
		}
		refs[i] = r
	}
	for len(refs) > 1 {
		var next []Ref[[]float64]
		for i := 0; i+1 < len(refs); i += 2 {
			next = append(next, testAddFloats.Remote(refs[i], refs[i+1]))
		}
		ReleaseAll(refs)
		all = append(all, refs...)
		refs = next
	}
	got, err := refs[0].Get(ctx)
	if err != nil || got[0] != leaves || got[n-1] != leaves {
		t.Fatalf("sum: %v, %v", got[:1], err)
	}
	if st := c.Stats(); st.Objects != 1 || st.Store.Objects != leaves+1 || st.LineageArgs != 2*leaves-2 {
		t.Fatalf("after the final Get: %d objects, %d in the store (%.0f MiB), %d kept as lineage; want the result, and the %d leaves and %d sums as its lineage",
			st.Objects, st.Store.Objects, float64(st.Store.Used)/(1<<20), st.LineageArgs, leaves, leaves-2)
	}
	refs[0].Release()
	if st := c.Stats(); st.Objects != 0 || st.Store.Used != 0 {
		t.Fatalf("after releasing the result: %+v", st)
	}
	runtime.KeepAlive(all)
}

func TestReleaseIsSharedByCopiesAndIdempotent(t *testing.T) {
	c := startCluster(t, Config{})
	ctx := ctxT(t)
	r, err := Put(7)
	if err != nil {
		t.Fatal(err)
	}
	cp := r
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); cp.Release() }()
	}
	wg.Wait()
	r.Release()
	if _, err := r.Get(ctx); !errors.Is(err, ErrObjectFreed) {
		t.Fatalf("Get after Release: %v", err)
	}
	if _, err := testAdd.Remote(r, 1).Get(ctx); !errors.Is(err, ErrObjectFreed) {
		t.Fatalf("a released Ref as an argument: %v", err)
	}
	if st := c.Stats(); st.Objects != 0 {
		t.Fatalf("objects left: %+v", st)
	}
	// A task holds its argument: releasing right after submitting is safe.
	p, err := Put(40)
	if err != nil {
		t.Fatal(err)
	}
	sum := testAdd.Remote(p, 2)
	p.Release()
	if v, err := sum.Get(ctx); err != nil || v != 42 {
		t.Fatalf("task whose argument was released after submitting: %d, %v", v, err)
	}
}
