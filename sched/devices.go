package sched

import "fmt"

// devices hands out the node's GPUs by index: a lease or an actor that
// needs GPU gets devices, not only a quantity. The node has one device
// per whole GPU of its total (a fractional remainder is one more, that
// small); each device is split in Units. A request below one GPU packs
// onto one device, the fullest that still has room for it, so that
// fractional work shares devices and whole ones stay free; a request of
// one or more GPUs takes that many whole, unused devices. Between them a
// request is infeasible (1.5 GPU: a device cannot be split across two).
type devices struct {
	capacity []int64 // each device's units; 0 for a lost one
	free     []int64
	lost     []bool
}

func newDevices(totalUnits int64) devices {
	var d devices
	for left := totalUnits; left > 0; left -= Unit {
		d.capacity = append(d.capacity, min(left, Unit))
	}
	d.free = append([]int64(nil), d.capacity...)
	d.lost = make([]bool, len(d.capacity))
	return d
}

// lose takes device i out of service and returns the units it had; a
// device lost already, or none, has none.
func (d *devices) lose(i int) int64 {
	if i < 0 || i >= len(d.capacity) || d.lost[i] {
		return 0
	}
	c := d.capacity[i]
	d.lost[i], d.capacity[i], d.free[i] = true, 0, 0
	return c
}

// check explains, with an error wrapping ErrInfeasible, why a request of
// units can never get devices here; nil if it can.
func (d *devices) check(units int64) error {
	switch {
	case units <= 0 || units < Unit && d.fitsFraction(units, d.capacity):
		return nil
	case units < Unit:
		return fmt.Errorf("%w: needs GPU=%s on one device but no device has that much", ErrInfeasible, formatQuantity(units))
	case units%Unit != 0:
		return fmt.Errorf("%w: GPU=%s: a request above one GPU must be whole devices", ErrInfeasible, formatQuantity(units))
	case d.whole(d.capacity) < int(units/Unit):
		return fmt.Errorf("%w: needs GPU=%d on whole devices but node has %d whole", ErrInfeasible, units/Unit, d.whole(d.capacity))
	}
	return nil
}

// fits reports whether a request of units could get devices now.
func (d *devices) fits(units int64) bool {
	if units < Unit {
		return units <= 0 || d.fitsFraction(units, d.free)
	}
	return d.whole(d.free) >= int(units/Unit)
}

func (d *devices) fitsFraction(units int64, free []int64) bool {
	for _, f := range free {
		if f >= units {
			return true
		}
	}
	return false
}

// whole counts the devices of full Unit capacity with all of free left.
func (d *devices) whole(free []int64) int {
	n := 0
	for i, f := range free {
		if d.capacity[i] == Unit && f == Unit {
			n++
		}
	}
	return n
}

// take gives a request of units (which fits) its devices, by index.
func (d *devices) take(units int64) []int {
	if units <= 0 {
		return nil
	}
	if units < Unit {
		best := -1
		for i, f := range d.free {
			if f >= units && (best < 0 || f < d.free[best]) {
				best = i
			}
		}
		d.free[best] -= units
		return []int{best}
	}
	var got []int
	for i, f := range d.free {
		if len(got) == int(units/Unit) {
			break
		}
		if d.capacity[i] == Unit && f == Unit {
			d.free[i] = 0
			got = append(got, i)
		}
	}
	return got
}

// give returns what take gave.
func (d *devices) give(idx []int, units int64) {
	per := units
	if units >= Unit {
		per = Unit
	}
	for _, i := range idx {
		if !d.lost[i] {
			d.free[i] += per
		}
	}
}
