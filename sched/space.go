package sched

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// space numbers the node's resources densely (CPU, GPU, then the node's
// custom names in order) so the hot path does integer arithmetic on short
// slices instead of looking names up.
type space struct {
	names []string
}

const (
	cpuIndex = 0
	gpuIndex = 1
)

// quantity is one non-zero entry of a request in a node's space.
type quantity struct {
	index int
	units int64
}

func newSpace(total Resources) space {
	names := []string{"CPU", "GPU"}
	total.each(func(name string, _ int64) {
		if name != "CPU" && name != "GPU" {
			names = append(names, name)
		}
	})
	return space{names: names}
}

func (s space) index(name string) (int, bool) {
	switch name {
	case "CPU":
		return cpuIndex, true
	case "GPU":
		return gpuIndex, true
	}
	custom := s.names[gpuIndex+1:]
	i := sort.SearchStrings(custom, name)
	if i < len(custom) && custom[i] == name {
		return gpuIndex + 1 + i, true
	}
	return 0, false
}

// vector spreads r over the space; r must only name the node's resources.
func (s space) vector(r Resources) []int64 {
	v := make([]int64, len(s.names))
	r.each(func(name string, units int64) {
		i, _ := s.index(name)
		v[i] = units
	})
	return v
}

// need lists req's quantities in the space, or explains with an error
// wrapping ErrInfeasible which resource exceeds the node's total.
func (s space) need(req Resources, total []int64) ([]quantity, error) {
	var need []quantity
	var err error
	req.each(func(name string, units int64) {
		if err != nil {
			return
		}
		i, ok := s.index(name)
		var has int64
		if ok {
			has = total[i]
		}
		if units > has {
			err = fmt.Errorf("%w: needs %s=%s but node has %s=%s",
				ErrInfeasible, name, formatQuantity(units), name, formatQuantity(has))
			return
		}
		need = append(need, quantity{index: i, units: units})
	})
	return need, err
}

// resources turns a vector back into Resources, keeping only the positive
// entries of sign*v so that deficits can be shown as positive quantities.
func (s space) resources(v []int64, sign int64) Resources {
	var r Resources
	var custom strings.Builder
	for i, units := range v {
		units *= sign
		if units <= 0 {
			continue
		}
		switch i {
		case cpuIndex:
			r.cpu = units
		case gpuIndex:
			r.gpu = units
		default:
			if custom.Len() > 0 {
				custom.WriteByte(' ')
			}
			custom.WriteString(s.names[i])
			custom.WriteByte('=')
			custom.WriteString(strconv.FormatInt(units, 10))
		}
	}
	r.custom = custom.String()
	return r
}
