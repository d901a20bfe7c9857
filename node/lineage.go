package node

import (
	"fmt"
	"unsafe"

	"manta/rpc/wire"
)

// Lineage: once a task has finished, its record stays while one of its
// results is held, so that a lost result can be made again by running
// the task again (the paper's lineage; see reconstruct). A kept record
// keeps its arguments' records too (Object.lineageRefs), their values
// let go once no one holds them, so that a lost argument can be made
// again in turn. The records are counted in bytes (the record itself,
// its name and its inline arguments) and kept within
// Config.LineageBytes: past it, the oldest kept records are evicted,
// first finished first out. An evicted record keeps only the task's name
// while its results live, and Lineage then answers ErrLineageEvicted.

type linState uint8

const (
	linNone    linState = iota // running, or nothing of it is held
	linKept                    // finished, a result held, specification kept
	linEvicted                 // finished, a result held, specification dropped
)

type lineage struct {
	// ended is called as a kept record stops being kept (evicted, its
	// results all freed, or run again), before its arguments are cleared.
	ended     func(*task)
	cap       int64
	bytes     int64
	kept      int
	evictions int
	// order holds kept tasks, oldest first, from head on. A task whose
	// results all went meanwhile stays in it, stale, until its turn comes
	// or stale entries outnumber kept ones; then the slice is compacted,
	// so it holds no more than about twice the kept tasks.
	order []*task
	head  int
	stale int
}

// taskRecordBytes is what a kept record costs besides its name and
// arguments.
const taskRecordBytes = int64(unsafe.Sizeof(task{}) + unsafe.Sizeof(Object{}))

func specBytes(t *task) int64 {
	b := taskRecordBytes + int64(len(t.name)) + int64(len(t.args))*int64(unsafe.Sizeof(wire.Arg{}))
	for _, a := range t.args {
		b += int64(len(a.Data))
	}
	return b
}

// outputsHeld counts t's results not freed yet.
func outputsHeld(t *task) int {
	n := 0
	if !t.ret.freed {
		n++
	}
	for _, p := range t.parts() {
		if !p.freed {
			n++
		}
	}
	return n
}

// keep makes t, just finished, lineage if a result of it is still held,
// and reports whether it did. A failed task has none: its error is
// inline, never lost.
func (l *lineage) keep(t *task) bool {
	if t.ret.state != objReady || outputsHeld(t) == 0 {
		return false
	}
	t.lin = linKept
	l.kept++
	l.bytes += specBytes(t)
	l.order = append(l.order, t)
	for l.bytes > l.cap && l.head < len(l.order) {
		old := l.order[l.head]
		l.order[l.head] = nil
		l.head++
		if old.lin == linKept {
			l.evict(old)
		} else {
			l.stale--
		}
	}
	if l.head > 64 && l.head > len(l.order)/2 {
		l.order = append(l.order[:0], l.order[l.head:]...)
		clear(l.order[len(l.order):cap(l.order)])
		l.head = 0
	}
	return t.lin == linKept // evicted at once if it alone is over the cap
}

// compact drops the stale entries of order, keeping the order of the
// rest; it runs once they outnumber the kept ones, so its cost per entry
// is constant.
func (l *lineage) compact() {
	live := l.order[:0]
	for _, t := range l.order[l.head:] {
		if t.lin == linKept {
			live = append(live, t)
		}
	}
	clear(l.order[len(live):])
	l.order, l.head, l.stale = live, 0, 0
}

func (l *lineage) evict(t *task) {
	l.ended(t)
	l.bytes -= specBytes(t)
	l.kept--
	l.evictions++
	t.lin = linEvicted
	t.args, t.contained = nil, nil
}

// outputFreed is called as each result of t is freed; the last one ends
// t's lineage.
func (l *lineage) outputFreed(t *task) {
	if t.lin == linNone || outputsHeld(t) > 0 {
		return
	}
	if t.lin == linKept {
		l.ended(t)
		l.unkeep(t)
	}
	t.lin = linNone
	t.args, t.contained = nil, nil
}

// unkeep takes kept t out of the count; its entry in order goes stale.
func (l *lineage) unkeep(t *task) {
	l.bytes -= specBytes(t)
	l.kept--
	t.lin = linNone
	if l.stale++; l.stale > 64 && l.stale > l.kept {
		l.compact() // t, no longer kept, goes too
	}
}

// Lineage returns the specification of the task that made id (running,
// or finished and kept for re-execution): ErrLineageEvicted if it was
// dropped to stay within Config.LineageBytes, ErrObjectFreed if id is not
// held; a Put and a failed task have none.
func (n *Node) Lineage(id wire.ObjectID) (*TaskSpec, error) {
	o := n.objects[id]
	switch {
	case o == nil:
		return nil, fmt.Errorf("lineage of %v: %w", id, ErrObjectFreed)
	case o.made == nil:
		return nil, fmt.Errorf("lineage of %v: made by Put, not by a task", id)
	case o.made.lin == linEvicted:
		return nil, fmt.Errorf("lineage of %v (%s): %w", id, o.made.name, ErrLineageEvicted)
	case o.made.done && o.made.lin == linNone:
		return nil, fmt.Errorf("lineage of %v: its task failed, and a failed result is never lost", id)
	}
	t := o.made
	spec := &TaskSpec{ID: t.id, Kind: t.kind, Name: t.name, Args: t.args, Options: t.opts, Returns: len(t.parts())}
	if t.actor != nil {
		spec.Actor = t.actor.id
	}
	return spec, nil
}

// lostError says what a lost object means: whether its lineage could
// make it again.
func (n *Node) lostError(id wire.ObjectID, err error) error {
	if o := n.objects[id]; o != nil && o.made != nil && o.made.lin == linEvicted {
		return fmt.Errorf("%w (%w: %s cannot be run again)", err, ErrLineageEvicted, o.made.name)
	}
	return err
}
