package sched

import (
	"errors"
	"math"
	"testing"
)

func TestResources(t *testing.T) {
	r, err := NewResources(map[string]float64{"GPU": 0.5, "CPU": 1, "foo": 2, "Abc": 0.0001, "zero": 0})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.String(), "CPU=1 GPU=0.5 Abc=0.0001 foo=2"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for name, want := range map[string]float64{"CPU": 1, "GPU": 0.5, "foo": 2, "Abc": 0.0001, "zero": 0, "missing": 0} {
		if got := r.Get(name); got != want {
			t.Errorf("Get(%q) = %v, want %v", name, got, want)
		}
	}
	same, _ := NewResources(map[string]float64{"foo": 2, "Abc": 0.0001, "CPU": 1, "GPU": 0.5})
	if r != same {
		t.Errorf("%v != %v: equal sets must compare equal", r, same)
	}
	if s := (Resources{}).String(); s != "none" {
		t.Errorf("empty set prints %q", s)
	}
}

func TestResourcesMalformed(t *testing.T) {
	for _, m := range []map[string]float64{
		{"CPU": -1},
		{"GPU": math.NaN()},
		{"foo": math.Inf(1)},
		{"CPU": 0.00001},
		{"CPU": 1e12},
		{"": 1},
		{"a b": 1},
		{"a=b": 1},
		{"tab\t": 0},
	} {
		if _, err := NewResources(m); !errors.Is(err, ErrInfeasible) {
			t.Errorf("NewResources(%v) = %v, want ErrInfeasible", m, err)
		}
	}
}

func TestLackingAndCopiesIn(t *testing.T) {
	res := func(m map[string]float64) Resources {
		r, err := NewResources(m)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	node := res(map[string]float64{"CPU": 4, "GPU": 1, "disk": 2.5})
	for _, c := range []struct {
		want    map[string]float64
		lacking string
		copies  int
	}{
		{map[string]float64{"CPU": 1}, "", 4},
		{map[string]float64{"CPU": 1.5, "disk": 1}, "", 2},
		{map[string]float64{"GPU": 0.5}, "", 2},
		{map[string]float64{"CPU": 8}, "CPU=8 (has 4)", 0},
		{map[string]float64{"CPU": 1, "TPU": 1}, "TPU=1 (has 0)", 0},
		{map[string]float64{"disk": 3}, "disk=3 (has 2.5)", 0},
	} {
		r := res(c.want)
		if got := r.Lacking(node); got != c.lacking {
			t.Errorf("%v.Lacking(%v) = %q, want %q", r, node, got, c.lacking)
		}
		if got := r.CopiesIn(node); got != c.copies {
			t.Errorf("%v.CopiesIn(%v) = %d, want %d", r, node, got, c.copies)
		}
	}
	if m := node.Map(); len(m) != 3 || m["CPU"] != 4 || m["GPU"] != 1 || m["disk"] != 2.5 {
		t.Errorf("Map() = %v", m)
	}
	if got := (Resources{}).CopiesIn(node); got != math.MaxInt {
		t.Errorf("the empty set fits %d times, want math.MaxInt", got)
	}
}
