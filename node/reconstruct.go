package node

import (
	"errors"
	"fmt"
	"slices"

	"manta/rpc/wire"
	"manta/shm/store"
)

// Reconstruction: a stored value whose bytes are lost (the node that held
// its only copy died, its spill file is damaged) is made again by running
// the task that made it again, with the same ID, so that its result has
// the same ID too; arguments of that task that were let go meanwhile are
// made again first, recursively. Each run again spends one of the task's
// retries, the budget its worker deaths spend. Whoever was reading the
// value (a task's argument pin, a worker's or the driver's Get) waits
// until it is made again and reads it then. What cannot be made again
// fails with ErrObjectLost, and why: a Put's value, an actor's result, an
// evicted lineage (ErrLineageEvicted), spent retries
// (ErrRetriesExhausted).

// lineageArgs counts t, just kept as lineage, on its arguments' records.
func (n *Node) lineageArgs(t *task) {
	for _, a := range t.args {
		if !a.IsRef {
			continue
		}
		if o := n.objects[a.Ref]; o != nil {
			o.lineageRefs++
		}
	}
}

// lineageEnded is lineage.ended: t's arguments lose its count, and those
// no one holds any more go.
func (n *Node) lineageEnded(t *task) {
	for _, a := range t.args {
		if !a.IsRef {
			continue
		}
		if o := n.objects[a.Ref]; o != nil && o.lineageRefs > 0 {
			if o.lineageRefs--; o.lineageRefs == 0 && o.released {
				n.freeObject(o)
			}
		}
	}
}

// lostInStore reports whether a store error says the bytes are gone for
// good (not freed meanwhile, not a shutdown, not a full store, not a spill
// file that could not be read this time).
func lostInStore(err error) bool {
	return err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrClosed) &&
		!errors.Is(err, store.ErrFull) && !errors.Is(err, store.ErrIO)
}

// reconstruct runs the task that made o again, o's value being lost
// (cause says how) or released, and returns nil once it is under way (or
// already was); o is pending meanwhile. Otherwise it returns why o cannot
// be made again, wrapping ErrObjectLost. Whoever waits for o must be
// registered on it before: a task run again may finish (fail) at once.
func (n *Node) reconstruct(o *Object, cause error) error {
	t := o.made
	switch {
	case n.closed:
		return fmt.Errorf("%v: %w", o.id, ErrShutdown)
	case t == nil && o.borrowed && errors.Is(cause, ErrOwnerDied):
		return fmt.Errorf("%v: %w: %w", o.id, ErrObjectLost, cause)
	case t == nil && o.borrowed:
		return fmt.Errorf("%v: %w: %v; it was made on another node, its owner, which alone could make it again", o.id, ErrObjectLost, cause)
	case t == nil:
		return fmt.Errorf("%v: %w: %v; it was Put, and nothing can make it again", o.id, ErrObjectLost, cause)
	case !t.done:
		return nil // being made again
	case t.lin == linEvicted:
		return fmt.Errorf("%v: %w: %v (%w: %s cannot be run again)", o.id, ErrObjectLost, cause, ErrLineageEvicted, t.name)
	case t.kind == wire.SubmitActorCall && t.lin == linKept && t.retriesLeft > 0 && n.callRunsAgain(t):
		// Ray's rule: an actor's call with task retries is submitted
		// again, after the calls made since.
		t.retriesLeft--
		t.actor.queue = append(t.actor.queue, t)
		n.runAgain(t)
		return nil
	case t.kind == wire.SubmitActorCall:
		return fmt.Errorf("%v: %w: %v; %s, an actor's call, is run again only with task retries left (WithMaxTaskRetries), "+
			"on a live actor that does not replay its calls", o.id, ErrObjectLost, cause, t.name)
	case t.lin != linKept || t.kind != wire.SubmitTask:
		return fmt.Errorf("%v: %w: %v; %s, an actor's creation, is not run again", o.id, ErrObjectLost, cause, t.name)
	case t.retriesLeft <= 0:
		return fmt.Errorf("%v: %w: %v (%w: %s ran %d times)", o.id, ErrObjectLost, cause, ErrRetriesExhausted, t.name, t.attempt)
	}
	t.retriesLeft--
	n.runAgain(t)
	return nil
}

// callRunsAgain reports whether actor call t may run again to make its
// lost result: its actor is alive (or restarting) here, and does not
// replay its calls, which would run t on top of a state that has it.
func (n *Node) callRunsAgain(t *task) bool {
	a := t.actor
	return a != nil && n.actors[a.id] == a && a.state != actorDead && a.log == nil
}

// runAgain runs t, finished and kept as lineage, again: it holds its
// arguments again (making any let go meanwhile again first), its results
// are pending until it finishes, and it is readied once its arguments
// are.
func (n *Node) runAgain(t *task) {
	n.rerun = true // its calls and Puts come again, with the IDs the node has
	n.lineage.unkeep(t)
	if e := t.ext; e != nil {
		e.depErr, e.pins = nil, nil
	}
	// It holds its arguments again, as a running task does; one let go
	// meanwhile is made again first.
	for _, a := range t.args {
		if !a.IsRef {
			continue
		}
		dep := n.objects[a.Ref] // kept by lineageRefs
		if dep == nil {
			t.depFailed(n.cfg.Errors.Encode(fmt.Errorf("argument %v: %w", a.Ref, ErrObjectFreed), t.name, t.id))
			continue
		}
		dep.lineageRefs--
		dep.refs++
		switch {
		case !dep.released:
		case dep.keepsValue():
			n.unrelease(dep)
		default:
			if err := n.remake(dep); err != nil {
				t.depFailed(n.cfg.Errors.Encode(fmt.Errorf("argument %w", err), t.name, t.id))
				continue
			}
		}
		// As holdArgs: an argument that failed since (its own remake
		// could not be done) fails the run with its error.
		switch dep.state {
		case objPending:
			t.pending++
			dep.dependents = append(dep.dependents, t)
		case objFailed:
			t.depFailed(dep.data)
		}
	}
	for _, c := range t.contained {
		n.Hold(c)
	}
	// The parts go pending before the ret lets go of its holds on them,
	// so that a part held only through the ret stays, to be made again.
	for _, out := range slices.Concat(t.parts(), []*Object{t.ret}) {
		if !out.freed {
			n.dropValue(out) // what is left of the lost copy
			out.state = objPending
			n.unrelease(out)
		}
	}
	t.done, t.resolved, t.pinned = false, false, false
	n.tasks[t.id] = t
	if t.pending == 0 {
		n.ready(t)
	}
}

// errReleased is why a released argument is made again.
var errReleased = errors.New("its value was let go")

// remake is reconstruct for a released argument: it fails, rather than
// leaving the object ready without a value.
func (n *Node) remake(o *Object) error {
	err := n.reconstruct(o, errReleased)
	if err != nil {
		n.dropValue(o)
		n.unrelease(o)
		n.resolve(o, objFailed, n.cfg.Errors.Encode(err, nil, o.id.Task), nil)
	}
	return err
}

// repin answers a pin (token) of o that failed with a store error: if
// the bytes are lost and o can be made again, it is (or already is being
// made), and the pin is asked for again once it is; repin reports
// whether so. Otherwise a non-nil err says why o cannot be made again.
func (n *Node) repin(o *Object, token PinToken, storeErr error) (again bool, err error) {
	if o == nil || !lostInStore(storeErr) || o.state == objFailed {
		return false, nil
	}
	n.addRepin(o.id, token)
	if o.state == objPending {
		return true, nil
	}
	if err := n.reconstruct(o, storeErr); err != nil {
		toks := n.repins[o.id]
		if toks = toks[:len(toks)-1]; len(toks) == 0 {
			delete(n.repins, o.id)
		} else {
			n.repins[o.id] = toks
		}
		return false, err
	}
	return true, nil
}

// addRepin asks for the pin token of id again once id is made again.
func (n *Node) addRepin(id wire.ObjectID, token PinToken) {
	if n.repins == nil {
		n.repins = map[wire.ObjectID][]PinToken{}
	}
	n.repins[id] = append(n.repins[id], token)
}

// repinned asks again for the pins of o, made again: a stored value is
// pinned; an inline one (a run again may return a smaller value) or a
// failure settles each pin at once.
func (n *Node) repinned(o *Object) {
	toks := n.repins[o.id]
	delete(n.repins, o.id)
	for _, tok := range toks {
		if o.state == objReady && o.stored {
			n.host.Pin(o.id, tok)
			continue
		}
		r := n.pins[tok]
		delete(n.pins, tok)
		var err error
		if o.state == objFailed {
			err = n.cfg.Errors.Decode(o.data)
		}
		n.pinSettled(r, store.Slot{}, err, false)
	}
}

// Remake answers a host whose own pin of id (a driver's Get) failed with
// storeErr: when the bytes are lost and id can be made again, it is (or
// already is being made), and Remake returns a waiter that Host.Wake
// wakes once it is; else the error the reader gets.
func (n *Node) Remake(id wire.ObjectID, storeErr error) (*Waiter, error) {
	o := n.objects[id]
	if o == nil || !lostInStore(storeErr) || o.state == objFailed {
		return nil, n.PinError(id, storeErr)
	}
	w := &Waiter{Ch: make(chan struct{})}
	o.await(waitRef{driver: w})
	w.need++
	if o.state == objPending {
		return w, nil
	}
	if err := n.reconstruct(o, storeErr); err != nil {
		w.fired = true // its registration on o stays, inert
		return nil, err
	}
	n.processActions()
	return w, nil
}
