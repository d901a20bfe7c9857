package core

import (
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
// submission order.
type actor struct {
	id           wire.TaskID
	info         *actorInfo
	create       *task
	state        actorState
	conn         *workerConn
	queue        []*task // calls not yet sent, in submission order
	inflight     []*task // calls sent to the worker, not finished
	restartsLeft int
	err          error // why it died
}

func (a *actor) maxConcurrency() int {
	if a.info == nil {
		return 1
	}
	return a.info.opts.MaxConcurrency
}

func (n *node) newActor(t *task) {
	a := &actor{id: t.id, create: t, info: lookupActor(t.name)}
	if a.info != nil {
		a.restartsLeft = a.info.opts.MaxRestarts
	}
	t.actor = a
	n.actors[t.id] = a
}

// placeActor asks the scheduler for a dedicated worker.
func (n *node) placeActor(a *actor) {
	if a.info == nil {
		n.actorFailed(a, fmt.Errorf("%w: actor type %q is not registered", ErrUnknownFunction, a.create.name))
		return
	}
	class, err := n.classOf(a.info.opts.Resources)
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
	n.dispatch(a.create, c, wire.TaskID{})
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
		n.dispatch(t, a.conn, a.id)
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
	if !a.create.done {
		n.finish(a.create, nil, a.err)
	}
	calls := append(a.inflight, a.queue...)
	a.inflight, a.queue = nil, nil
	for _, t := range calls {
		n.finish(t, nil, a.err)
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

func (n *node) killActor(id wire.TaskID) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.actors[id]
	if a == nil {
		return fmt.Errorf("%w: no actor %v", ErrActorDied, id)
	}
	a.restartsLeft = 0
	if a.conn != nil {
		a.conn.kill()
		return nil
	}
	n.actorFailed(a, fmt.Errorf("killed"))
	return nil
}
