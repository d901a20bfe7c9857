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
