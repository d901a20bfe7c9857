package sched

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Unit is the number of fixed-point units in one whole resource: 0.5 GPU is
// 5000 units, so accounting is exact integer arithmetic.
const Unit = 10000

// maxUnits keeps every quantity exact as a float64 and far from int64
// overflow when many of them are summed.
const maxUnits = 1 << 53

// ErrInfeasible is wrapped by the errors for requests that can never run on
// this node, because they need more than its totals or are malformed. Such a
// request is refused at once rather than queued to wait forever.
var ErrInfeasible = errors.New("sched: infeasible")

// Resources is an immutable set of resource quantities. It is a small
// comparable value: == compares two sets and it can key a map.
type Resources struct {
	cpu, gpu int64
	// custom holds the other quantities as "name=units" pairs in name order,
	// separated by spaces; being canonical it makes == exact.
	custom string
}

// NewResources converts whole-resource quantities ("CPU": 0.5) into
// Resources. "CPU" and "GPU" are the well-known names; any other name is a
// custom resource. Zero quantities are dropped. Negative, non-finite, too
// large or too fine (below 1/Unit) quantities and names that are empty or
// contain spaces, '=' or control characters are errors wrapping
// ErrInfeasible.
func NewResources(m map[string]float64) (Resources, error) {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names) // report the first bad entry deterministically
	var r Resources
	var custom []byte
	for _, name := range names {
		units, err := toUnits(name, m[name])
		if err != nil {
			return Resources{}, err
		}
		switch {
		case units == 0:
		case name == "CPU":
			r.cpu = units
		case name == "GPU":
			r.gpu = units
		default:
			if len(custom) > 0 {
				custom = append(custom, ' ')
			}
			custom = append(custom, name...)
			custom = append(custom, '=')
			custom = strconv.AppendInt(custom, units, 10)
		}
	}
	r.custom = string(custom)
	return r, nil
}

func toUnits(name string, v float64) (int64, error) {
	if !validName(name) {
		return 0, fmt.Errorf("%w: malformed resource name %q", ErrInfeasible, name)
	}
	switch units := math.Round(v * Unit); {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%w: malformed request: %s=%v is not a number", ErrInfeasible, name, v)
	case v < 0:
		return 0, fmt.Errorf("%w: malformed request: %s=%v is negative", ErrInfeasible, name, v)
	case units > maxUnits:
		return 0, fmt.Errorf("%w: malformed request: %s=%v is too large", ErrInfeasible, name, v)
	case units == 0 && v > 0:
		return 0, fmt.Errorf("%w: malformed request: %s=%v is finer than 1/%d", ErrInfeasible, name, v, Unit)
	default:
		return int64(units), nil
	}
}

// validName rejects names that would break String's "name=qty" format.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == '=' || c == 0x7f {
			return false
		}
	}
	return true
}

// Get returns the quantity of the named resource in whole units.
func (r Resources) Get(name string) float64 {
	return float64(r.units(name)) / Unit
}

func (r Resources) units(name string) int64 {
	switch name {
	case "CPU":
		return r.cpu
	case "GPU":
		return r.gpu
	}
	var found int64
	r.each(func(n string, units int64) {
		if n == name {
			found = units
		}
	})
	return found
}

// each calls fn for every non-zero quantity: CPU, GPU, then custom names in
// byte order.
func (r Resources) each(fn func(name string, units int64)) {
	if r.cpu != 0 {
		fn("CPU", r.cpu)
	}
	if r.gpu != 0 {
		fn("GPU", r.gpu)
	}
	for rest := r.custom; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, " ")
		name, qty, _ := strings.Cut(pair, "=")
		units, _ := strconv.ParseInt(qty, 10, 64)
		fn(name, units)
	}
}

// String lists the non-zero quantities, CPU and GPU first, then custom names
// in byte order, such as "CPU=1 GPU=0.5 foo=2"; an empty set is "none".
func (r Resources) String() string {
	var b []byte
	r.each(func(name string, units int64) {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, name...)
		b = append(b, '=')
		b = appendQuantity(b, units)
	})
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

// appendQuantity writes units as a whole-resource decimal without trailing
// zeros: 15000 is "1.5".
func appendQuantity(dst []byte, units int64) []byte {
	dst = strconv.AppendInt(dst, units/Unit, 10)
	frac := units % Unit
	if frac == 0 {
		return dst
	}
	dst = append(dst, '.')
	for div := int64(Unit / 10); frac != 0; div /= 10 {
		dst = append(dst, byte('0'+frac/div))
		frac %= div
	}
	return dst
}

func formatQuantity(units int64) string {
	return string(appendQuantity(nil, units))
}

// Lacking reports what of r a node with have cannot give: "" if have
// covers every quantity of r, else the first one it falls short of, such
// as "GPU=1 (has 0)". The global scheduler asks it of every node.
func (r Resources) Lacking(have Resources) string {
	var short string
	r.each(func(name string, units int64) {
		if h := have.units(name); short == "" && h < units {
			short = name + "=" + formatQuantity(units) + " (has " + formatQuantity(h) + ")"
		}
	})
	return short
}

// CopiesIn returns how many times r fits in have: math.MaxInt for an
// empty r, 0 if have lacks any of it.
func (r Resources) CopiesIn(have Resources) int {
	copies := math.MaxInt
	r.each(func(name string, units int64) {
		copies = min(copies, int(have.units(name)/units))
	})
	return copies
}

// Map returns the non-zero quantities in whole units, as NewResources
// takes them.
func (r Resources) Map() map[string]float64 {
	m := map[string]float64{}
	r.each(func(name string, units int64) { m[name] = float64(units) / Unit })
	return m
}
