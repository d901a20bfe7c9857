package node

import (
	"errors"
	"fmt"
	"math"

	"manta/rpc/wire"
	"manta/sched"
)

type actorState uint8

const (
	actorPending actorState = iota // waiting for a worker or its constructor
	actorAlive
	actorDead
)

// actor is the node's record of one actor: its creation task (kept to
// re-create it), the process it lives in, and its method calls in
// submission order. It is forgotten once it is dead and no handle to it is
// left.
type actor struct {
	id           wire.TaskID
	opts         Options
	create       *task
	state        actorState
	proc         *proc
	queue        []*task // calls not yet sent, in submission order
	inflight     []*task // calls sent to the worker, not finished
	restartsLeft int
	err          error          // why it died
	orphaned     bool           // no handle is left: it dies with its last call
	placing      sched.ActorRef // its request for a worker, while one is out
	log          *callLog       // Options.Replay: what a restart restores and runs again
	// remote: it lives on another node; its calls go there through
	// Host.Spill, in order. A stub is the record of a remote actor this
	// node did not create (a handle came here): it has no create task.
	remote bool
}

// name is the actor's type name, for errors.
func (a *actor) name() []byte {
	if a.create == nil {
		return []byte("actor")
	}
	return a.create.name
}

// newActor records the actor t creates, whose first instance restores
// state if it is not nil; it fails if its name is taken.
func (n *Node) newActor(t *task, state []byte) error {
	a := &actor{id: t.id, create: t}
	if t.opts != nil {
		a.opts = *t.opts
	}
	if a.opts.Replay || a.opts.CheckpointEvery > 0 {
		a.log = newCallLog(state)
	}
	if a.opts.Resources == nil {
		a.opts.Resources = map[string]float64{}
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
func (n *Node) placeActor(a *actor) {
	if a.opts.Unknown {
		n.actorRefused(a, fmt.Errorf("%w: actor type %q is not registered", ErrUnknownFunction, a.create.name))
		return
	}
	class, err := n.classOf(&a.opts)
	if err != nil {
		n.actorRefused(a, fmt.Errorf("actor %s: %w", a.create.name, err))
		return
	}
	n.nextRef++
	a.placing = n.nextRef
	n.placing[a.placing] = a
	n.sched.PlaceActor(a.placing, class)
	n.processActions()
}

// actorPlaced runs the constructor on the process the scheduler chose.
func (n *Node) actorPlaced(a *actor, p *proc) {
	a.placing = 0
	p.actor = a
	if a.state == actorDead {
		n.host.Send(p.id, &wire.Msg{Kind: wire.KindShutdown})
		return
	}
	a.proc = p
	n.dispatch(a.create, p, p.id, wire.TaskID{})
}

func (n *Node) onActorReady(p *proc, m *wire.Msg) {
	a := p.actor
	if a == nil || a.proc != p || a.state != actorPending {
		return
	}
	if m.Status != wire.StatusOK {
		n.host.Send(p.id, &wire.Msg{Kind: wire.KindShutdown})
		err := n.cfg.Errors.Decode(m.Data)
		if n.restoreFailed(a, err) {
			// Made again from the checkpoint before, on a new process.
			a.proc = nil
			n.placeActor(a)
			return
		}
		// A constructor that fails is not retried (as in Ray).
		n.actorFailed(a, restoreError(err))
		return
	}
	a.state = actorAlive
	if !a.create.done {
		n.complete(a.create, &Value{Data: emptyStruct}, nil, nil)
	}
	n.pumpActor(a)
}

// emptyStruct is an actor creation's value: the encoded struct{}, which
// core decodes.
var emptyStruct = []byte{0, 0xa0}

// RemoteCallWindow bounds the calls a node has in flight to one actor on
// another node: the rest wait in its queue, so that the actor's node gets
// them about in order, each soon after the one before (it runs a
// caller's calls in order, and fails one whose predecessor is late).
const RemoteCallWindow = 256

// pumpActor sends queued calls in order while the first is ready to go
// (and, to a remote actor, while fewer than RemoteCallWindow are out).
func (n *Node) pumpActor(a *actor) {
	for len(a.queue) > 0 && a.queue[0].pending <= 0 && (!a.remote || len(a.inflight) < RemoteCallWindow) {
		t := a.queue[0]
		if failed := t.failedDep(); failed != nil {
			a.queue = a.queue[1:]
			n.finishBytes(t, failed)
			continue
		}
		if a.state == actorDead {
			a.queue = a.queue[1:]
			n.finish(t, nil, nil, a.err)
			continue
		}
		if a.state != actorAlive {
			return
		}
		a.queue = a.queue[1:]
		a.inflight = append(a.inflight, t)
		if a.log != nil {
			n.numberCall(a, t)
		}
		if a.remote {
			n.spill(t)
			continue
		}
		n.dispatch(t, a.proc, a.proc.id, a.id)
	}
}

func (n *Node) actorCallDone(t *task) {
	a := t.actor
	for i, x := range a.inflight {
		if x == t {
			a.inflight = append(a.inflight[:i], a.inflight[i+1:]...)
			break
		}
	}
}

// actorFailed marks a dead for good and fails every call it still has
// with ErrActorDied, saying cause (whose own sentinels it does not wrap: a
// remote error's would hide that the actor is gone).
func (n *Node) actorFailed(a *actor, cause error) {
	n.actorEnded(a, fmt.Errorf("%w: actor %v (%s): %v", ErrActorDied, a.id, a.name(), cause))
}

// actorRefused is actorFailed for an actor that can never be placed (an
// unregistered type, resources no node has): its error wraps cause's
// sentinel too (ErrUnknownFunction, ErrInfeasible), as a task's would.
func (n *Node) actorRefused(a *actor, cause error) {
	n.actorEnded(a, fmt.Errorf("%w: actor %v (%s): %w", ErrActorDied, a.id, a.name(), cause))
}

// actorEnded marks a dead for good and fails every call it still has
// with err.
func (n *Node) actorEnded(a *actor, err error) {
	if a.state == actorDead {
		return
	}
	a.state = actorDead
	a.err = err
	if a.placing != 0 {
		n.sched.CancelActor(a.placing)
		delete(n.placing, a.placing)
		a.placing = 0
	}
	if n.named[a.opts.Name] == a {
		delete(n.named, a.opts.Name)
	}
	if a.create != nil && !a.create.done {
		n.finish(a.create, nil, nil, a.err)
	}
	calls := append(a.inflight, a.queue...)
	a.inflight, a.queue = nil, nil
	for _, t := range calls {
		if r := t.takeEarly(); r != nil && r.done {
			n.takeKept(t, r) // it ran: its reply stands
			continue
		} else if r != nil {
			n.dropKept(r)
		}
		n.finish(t, nil, nil, a.err)
	}
	n.dropLog(a)
	if a.create == nil || a.create.ret.freed {
		delete(n.actors, a.id) // no handle is left to call it
	}
}

// actorProcDied handles the death of a's process: calls that were running
// fail; the actor is re-created if it has restarts left, and its queued
// calls then go to the new instance.
func (n *Node) actorProcDied(a *actor, cause error) {
	if a.state == actorDead {
		return
	}
	if a.restartsLeft <= 0 {
		n.actorFailed(a, cause)
		return
	}
	if c := a.create; c.done && c.lin == linEvicted {
		n.actorEnded(a, n.cannotRecreate(a, cause))
		return
	}
	a.restartsLeft--
	n.retryCalls(a, fmt.Errorf("%w: actor %v restarting after: %v", ErrActorDied, a.id, cause))
	a.proc, a.state = nil, actorPending
	n.replayOnRestart(a)
	if c := a.create; c.done && c.lin == linKept {
		// Its arguments were let go when it was made: they are held and
		// pinned again, and made again first if they went meanwhile.
		n.runAgain(c)
	} else {
		// Its constructor in flight still holds its arguments; one this
		// node ran for another node's owner (whose handles, and lineage,
		// are there) is sent as it came.
		n.placeActor(a)
	}
}

// cannotRecreate says why the creation of a, whose instance was lost
// (cause), cannot run again to restart it: its finished record was
// evicted (ErrLineageEvicted) or went with its last handle, taking its
// arguments. It returns nil if the creation can run again.
func (n *Node) cannotRecreate(a *actor, cause error) error {
	c := a.create
	switch {
	case !c.done || c.lin == linKept:
		return nil
	case c.lin == linEvicted:
		return fmt.Errorf("%w: actor %v (%s): %v; its creation cannot be run again (%w)", ErrActorDied, a.id, a.name(), cause, ErrLineageEvicted)
	}
	return fmt.Errorf("%w: actor %v (%s): %v; no handle to it is left to restart it for", ErrActorDied, a.id, a.name(), cause)
}

// callRetries is a call's retry budget from its actor's MaxTaskRetries.
func callRetries(max int) int32 {
	if max < 0 {
		return math.MaxInt32
	}
	return int32(min(max, math.MaxInt32))
}

// retryCalls handles the calls a was running when it died, before it
// restarts: one with retries left goes back to the head of the queue, in
// submission order, to be sent to the new instance; the others fail with
// err (at most once).
func (n *Node) retryCalls(a *actor, err error) {
	calls := a.inflight
	a.inflight = nil
	var again []*task
	for _, t := range calls {
		n.dropEarly(t) // run again after the calls before it, as they are
		if t.retriesLeft > 0 && t.cancelled() == nil {
			t.retriesLeft--
			t.spilled, t.proc = false, nil
			again = append(again, t)
			continue
		}
		n.finish(t, nil, nil, err)
	}
	a.queue = append(again, a.queue...)
}

// ActorNodeLost tells the node that the node its remote actor id lived on
// is gone (the host learns it from the cluster's membership): the actor
// is created again elsewhere if it has restarts left, else it fails.
func (n *Node) ActorNodeLost(id wire.TaskID, cause error) {
	if a := n.actors[id]; a != nil && a.remote {
		n.remoteActorLost(a, cause)
		n.processActions()
	}
}

// remoteActorLost handles the loss of the node a remote actor lived on
// (a call or its creation could not reach it): while it has restarts
// left, the actor is created again on another node, as when its process
// dies (actorProcDied). A stub, which another node created, sends its
// calls again (those with task retries left; the others fail) once the
// host finds where its owner restarted it, and fails when it cannot
// (ErrActorUnreachable).
func (n *Node) remoteActorLost(a *actor, cause error) {
	c := a.create
	switch {
	case a.state == actorDead:
		return
	case c == nil && !errors.Is(cause, ErrActorUnreachable):
		n.retryCalls(a, fmt.Errorf("%w: actor %v moved or restarting after: %v", ErrActorDied, a.id, cause))
		n.pumpActor(a)
		return
	case c == nil || a.restartsLeft <= 0:
		n.actorFailed(a, cause)
		return
	}
	if err := n.cannotRecreate(a, cause); err != nil {
		n.actorEnded(a, err)
		return
	}
	a.restartsLeft--
	a.state = actorPending
	n.retryCalls(a, fmt.Errorf("%w: actor %v restarting after: %v", ErrActorDied, a.id, cause))
	n.replayOnRestart(a)
	if c.done {
		n.runAgain(c) // placed anew: Host.Spill
	} else {
		n.ready(c)
	}
}

// actorOutOfScope is called when the last handle to a is gone, and again as
// each call it still had finishes: a detached actor lives on, any other is
// killed once no call to it is pending.
func (n *Node) actorOutOfScope(a *actor) {
	switch {
	case a.state == actorDead || a.remote:
		// A remote actor's node kills it when this node gives back the
		// creation result it holds (Host.Free).
		delete(n.actors, a.id)
	case a.opts.Detached:
	case len(a.queue) > 0 || len(a.inflight) > 0:
		a.orphaned = true
	default:
		n.killActor(a, "no handle to it is left")
	}
}

// KillActor ends the actor id at once, without restarts: what it still
// has fails with ErrActorDied.
func (n *Node) KillActor(id wire.TaskID) error {
	a := n.actors[id]
	if a == nil {
		return fmt.Errorf("%w: no actor %v", ErrActorDied, id)
	}
	n.killActor(a, "killed")
	return nil
}

func (n *Node) killActor(a *actor, why string) {
	a.restartsLeft = 0
	p := a.proc
	n.actorFailed(a, errors.New(why))
	if p != nil {
		n.host.KillProc(p.id)
	}
}

// HostsActor reports whether this node keeps actor id's record with its
// creation: it runs the actor, or created it and passes its calls on to
// the node that does. A node with only a handle to it (a stub) does not.
func (n *Node) HostsActor(id wire.TaskID) bool {
	a := n.actors[id]
	return a != nil && a.create != nil
}

// LookupActor finds the live actor named name: its ID and type name.
func (n *Node) LookupActor(name string) (wire.TaskID, []byte, error) {
	a := n.named[name]
	if a == nil || a.state == actorDead {
		return wire.TaskID{}, nil, fmt.Errorf("%w: no live actor is named %q", ErrNotFound, name)
	}
	return a.id, a.create.name, nil
}
