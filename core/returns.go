package core

import (
	"fmt"

	"manta/rpc/wire"
)

// Pair is a result of two values that become two objects, as Ray's
// num_returns=2: a function declared to return a Pair stores each value as
// an object of its own, and Split gives a reference to each, so a large
// First and a small Second can go their separate ways (and be released
// separately). Get on the Ref[Pair] itself reads both.
type Pair[A, B any] struct {
	First  A
	Second B
}

// Triple is Pair for three values; see Pair and Split3.
type Triple[A, B, C any] struct {
	First  A
	Second B
	Third  C
}

// multiReturn is implemented by the result types whose values become
// objects of their own.
type multiReturn interface {
	returnCount() int
	appendParts(out *output) error
	decodeParts(rs []result) error
}

func (*Pair[A, B]) returnCount() int { return 2 }

func (p *Pair[A, B]) appendParts(out *output) error {
	if err := appendPart(out, &p.First); err != nil {
		return err
	}
	return appendPart(out, &p.Second)
}

func (p *Pair[A, B]) decodeParts(rs []result) error {
	if err := decodePart(rs, 0, &p.First); err != nil {
		return err
	}
	return decodePart(rs, 1, &p.Second)
}

func (*Triple[A, B, C]) returnCount() int { return 3 }

func (t *Triple[A, B, C]) appendParts(out *output) error {
	if err := appendPart(out, &t.First); err != nil {
		return err
	}
	if err := appendPart(out, &t.Second); err != nil {
		return err
	}
	return appendPart(out, &t.Third)
}

func (t *Triple[A, B, C]) decodeParts(rs []result) error {
	if err := decodePart(rs, 0, &t.First); err != nil {
		return err
	}
	if err := decodePart(rs, 1, &t.Second); err != nil {
		return err
	}
	return decodePart(rs, 2, &t.Third)
}

func decodePart[T any](rs []result, i int, v *T) error {
	if rs[i].Err != nil {
		return rs[i].Err
	}
	if err := codecFor[T]().dec(rs[i].Data, v); err != nil {
		return fmt.Errorf("cannot get %v: %w", rs[i].ID, err)
	}
	return nil
}

// partID is the ID of the i-th of a task's several return values; the
// task's ReturnID stands for all of them.
func partID(ret wire.ObjectID, i int) wire.ObjectID {
	return wire.ObjectID{Task: ret.Task, Index: ret.Index + 1 + uint32(i)}
}

// Split returns a reference to each value of a Pair result. The two are
// holds of their own: r may be released while they live.
func Split[A, B any](r Ref[Pair[A, B]]) (Ref[A], Ref[B]) {
	return Ref[A]{h: partHandle(r.h, 0)}, Ref[B]{h: partHandle(r.h, 1)}
}

// Split3 returns a reference to each value of a Triple result; see Split.
func Split3[A, B, C any](r Ref[Triple[A, B, C]]) (Ref[A], Ref[B], Ref[C]) {
	return Ref[A]{h: partHandle(r.h, 0)}, Ref[B]{h: partHandle(r.h, 1)}, Ref[C]{h: partHandle(r.h, 2)}
}

func partHandle(h *refHandle, i int) *refHandle {
	if err := h.usable(); err != nil {
		return &refHandle{err: err}
	}
	return newHandle(h.rt, h.rt.backend.adopt(partID(h.ID, i)))
}
