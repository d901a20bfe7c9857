package core

import (
	"errors"
	"fmt"

	"manta/rpc/wire"
)

type actorState uint8

const (
	actorPending actorState = iota // waiting for a worker or its constructor
	actorAlive
	actorDead
)

// actor is the node's record of one actor: its creation task (kept to
// re-create it), the worker it lives in, and its method calls in
// submission order. It is forgotten once it is dead and no handle to it
// is left.
type actor struct {
	id           wire.TaskID
	info         *actorInfo
	opts         ActorOptions
	create       *task
	state        actorState
	conn         *workerConn
	queue        []*task // calls not yet sent, in submission order
	inflight     []*task // calls sent to the worker, not finished
	restartsLeft int
	err          error // why it died
	orphaned     bool  // no handle is left: it dies with its last call
}

// newActor records the actor t creates; it fails if its name is taken.
func (n *node) newActor(t *task) error {
	a := &actor{id: t.id, create: t, info: lookupActor(t.name)}
	switch {
	case t.opts() != nil:
		a.opts = t.opts().actor()
	case a.info != nil:
		a.opts = a.info.opts
	default:
		a.opts = buildActorOptions(nil)
	}
	if name := a.opts.Name; name != "" {
		if other := n.named[name]; other != nil && other.state != actorDead {
			return fmt.Errorf("%w: %q is actor %v", ErrNameTaken, name, other.id)
		}
		n.named[name] = a
	}
	a.restartsLeft = a.opts.MaxRestarts
	t.ret.creation = true
	t.actor = a
	n.actors[t.id] = a
	return nil
}

// placeActor asks the scheduler for a dedicated worker.
func (n *node) placeActor(a *actor) {
	if a.info == nil {
		n.actorFailed(a, fmt.Errorf("%w: actor type %q is not registered", ErrUnknownFunction, a.create.name))
		return
	}
	class, err := n.classOf(a.opts.Resources)
	if err != nil {
		n.actorFailed(a, fmt.Errorf("actor %s: %w", a.info.name, err))
		return
	}
	n.nextRef++
	n.placing[n.nextRef] = a
	n.sched.PlaceActor(n.nextRef, class)
	n.processActions()
}

// actorPlaced runs the constructor on the worker the scheduler chose.
func (n *node) actorPlaced(a *actor, c *workerConn) {
	c.actor = a
	if a.state == actorDead {
		c.send(&wire.Msg{Kind: wire.KindShutdown})
		return
	}
	a.conn = c
	n.dispatch(a.create, c, c.id, wire.TaskID{})
}

func (n *node) onActorReady(c *workerConn, m *wire.Msg) {
	a := c.actor
	if a == nil || a.conn != c || a.state != actorPending {
		return
	}
	if m.Status != wire.StatusOK {
		// A constructor that fails is not retried (as in Ray).
		n.actorFailed(a, decodeError(m.Data))
		c.send(&wire.Msg{Kind: wire.KindShutdown})
		return
	}
	a.state = actorAlive
	if !a.create.done {
		n.finish(a.create, []byte{fmtCBOR, 0xa0}, nil) // the creation's value: an empty struct
	}
	n.pumpActor(a)
}

// pumpActor sends queued calls in order while the first is ready to go.
func (n *node) pumpActor(a *actor) {
	for len(a.queue) > 0 && a.queue[0].pending <= 0 {
		t := a.queue[0]
		if t.depErr != nil {
			a.queue = a.queue[1:]
			n.finish(t, nil, t.depErr)
			continue
		}
		if a.state == actorDead {
			a.queue = a.queue[1:]
			n.finish(t, nil, a.err)
			continue
		}
		if a.state != actorAlive {
			return
		}
		a.queue = a.queue[1:]
		a.inflight = append(a.inflight, t)
		n.dispatch(t, a.conn, a.conn.id, a.id)
	}
}

func (n *node) actorCallDone(t *task) {
	a := t.actor
	for i, x := range a.inflight {
		if x == t {
			a.inflight = append(a.inflight[:i], a.inflight[i+1:]...)
			break
		}
	}
}

// actorFailed marks a dead for good and fails every call it still has.
func (n *node) actorFailed(a *actor, cause error) {
	if a.state == actorDead {
		return
	}
	a.state = actorDead
	a.err = fmt.Errorf("%w: actor %v (%s): %v", ErrActorDied, a.id, a.create.name, cause)
	if n.named[a.opts.Name] == a {
		delete(n.named, a.opts.Name)
	}
	if !a.create.done {
		n.finish(a.create, nil, a.err)
	}
	calls := append(a.inflight, a.queue...)
	a.inflight, a.queue = nil, nil
	for _, t := range calls {
		n.finish(t, nil, a.err)
	}
	if n.objects[a.create.ret.id] != a.create.ret {
		delete(n.actors, a.id) // no handle is left to call it
	}
}

// actorWorkerDied handles the death of a's process: calls that were running
// fail; the actor is re-created if it has restarts left, and its queued
// calls then go to the new instance.
func (n *node) actorWorkerDied(a *actor, cause error) {
	if a.state == actorDead {
		return
	}
	if a.restartsLeft <= 0 {
		n.actorFailed(a, cause)
		return
	}
	a.restartsLeft--
	err := fmt.Errorf("%w: actor %v restarting after: %v", ErrActorDied, a.id, cause)
	for _, t := range a.inflight {
		n.finish(t, nil, err)
	}
	a.inflight, a.conn, a.state = nil, nil, actorPending
	n.placeActor(a)
}

// actorOutOfScope is called when the last handle to a is gone, and again
// as each call it still had finishes: a detached actor lives on, any other
// is killed once no call to it is pending.
func (n *node) actorOutOfScope(a *actor) {
	switch {
	case a.state == actorDead:
		delete(n.actors, a.id)
	case a.opts.Detached:
	case len(a.queue) > 0 || len(a.inflight) > 0:
		a.orphaned = true
	default:
		n.killActorLocked(a, errors.New("no handle to it is left"))
	}
}

func (n *node) killActor(id wire.TaskID) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.actors[id]
	if a == nil {
		return fmt.Errorf("%w: no actor %v", ErrActorDied, id)
	}
	n.killActorLocked(a, errors.New("killed"))
	return nil
}

// killActorLocked ends a without restarts, at once: what it still has
// fails, and its process is killed.
func (n *node) killActorLocked(a *actor, cause error) {
	a.restartsLeft = 0
	conn := a.conn
	n.actorFailed(a, cause)
	if conn != nil {
		conn.kill()
	}
}

// lookupActorLocked finds the live actor named name.
func (n *node) lookupActorLocked(name string) (*actor, error) {
	a := n.named[name]
	if a == nil || a.state == actorDead {
		return nil, fmt.Errorf("%w: no live actor is named %q", ErrNotFound, name)
	}
	return a, nil
}
