package node

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"manta/rpc/wire"
)

// callLog is what an actor with Options.Replay keeps to rebuild its state
// on a restarted instance (the paper's §4.2.3): its last two restore
// points and the calls it ran since the older one. An instance is created
// from the newer point and runs again the calls after it; a restore point
// whose state fails to load is dropped for the one before.
type callLog struct {
	sent uint64 // calls sent to an instance: each logged call's number
	// points are the restore points, older first, at most two: the
	// constructor alone (no state) until a second checkpoint replaces it.
	points []restorePoint
	calls  []loggedCall // ran after points[0], by number
}

// newest is the restore point an instance being created restores.
func (l *callLog) newest() *restorePoint { return &l.points[len(l.points)-1] }

// restorePoint is a checkpoint: the actor's state once call seq (ID call)
// ran.
type restorePoint struct {
	seq   uint64
	call  wire.TaskID
	state []byte // nil: the constructor's state
}

// loggedCall is a call the actor ran, kept to run again; it holds its
// arguments' objects.
type loggedCall struct {
	seq  uint64
	id   wire.TaskID
	name []byte
	args []wire.Arg
	opts *Options
}

// newCallLog starts the log of an actor whose first instance restores
// state (nil: its constructor's).
func newCallLog(state []byte) *callLog {
	return &callLog{points: []restorePoint{{state: state}}}
}

// numberCall numbers call t as it is sent to a's instance, whose actor
// keeps a log.
func (n *Node) numberCall(a *actor, t *task) {
	if t.replay {
		return
	}
	a.log.sent++
	t.more().callSeq = a.log.sent
}

// logCall keeps call t, which ran on a's instance, to run again after a
// restart; failed is its encoded error, if any. A call that failed
// because the instance died did not run. Before t releases its arguments.
func (n *Node) logCall(a *actor, t *task, failed []byte) {
	l := a.log
	if l == nil || t.replay || t.ext == nil || t.ext.callSeq == 0 {
		return
	}
	seq := t.ext.callSeq
	if seq <= l.points[0].seq {
		return // both restore points have it
	}
	if failed != nil && errors.Is(n.cfg.Errors.Decode(failed), ErrActorDied) {
		return
	}
	c := loggedCall{seq: seq, id: t.id, name: t.name, args: wire.CloneArgs(t.args), opts: t.opts}
	for _, arg := range c.args {
		if arg.IsRef {
			n.Hold(arg.Ref)
		}
	}
	i, _ := slices.BinarySearchFunc(l.calls, seq, func(c loggedCall, seq uint64) int { return cmp.Compare(c.seq, seq) })
	l.calls = slices.Insert(l.calls, i, c)
}

// checkpointed records a's state once its call id ran (a worker's
// Checkpoint, or a peer's reply for a call it ran): the newest restore
// point, which drops the oldest and the calls before the one that stays.
func (n *Node) checkpointed(a *actor, id wire.TaskID, state []byte) {
	l := a.log
	t := n.tasks[id]
	if l == nil || t == nil || t.actor != a || t.ext == nil || t.ext.callSeq == 0 {
		return
	}
	seq := t.ext.callSeq
	if seq <= l.newest().seq {
		return
	}
	l.points = append(l.points, restorePoint{seq: seq, call: id, state: state})
	if len(l.points) > 2 {
		l.points = l.points[1:]
		n.trimLog(l, l.points[0].seq)
	}
	n.checkpoints++
}

// trimLog drops the logged calls up to seq and their holds.
func (n *Node) trimLog(l *callLog, seq uint64) {
	k := 0
	for k < len(l.calls) && l.calls[k].seq <= seq {
		n.releaseLogged(&l.calls[k])
		k++
	}
	l.calls = slices.Delete(l.calls, 0, k)
}

func (n *Node) releaseLogged(c *loggedCall) {
	for _, arg := range c.args {
		if arg.IsRef {
			n.drop(arg.Ref)
		}
	}
}

// dropLog releases what a's log holds: the actor is dead.
func (n *Node) dropLog(a *actor) {
	if a.log == nil {
		return
	}
	n.trimLog(a.log, ^uint64(0))
	a.log = nil
}

// replayOnRestart readies a's restart from its newest restore point: the
// state its instance restores (restoreState), and the calls it ran since,
// queued again before every other call. The replayed calls' results are
// dropped: their callers have them.
func (n *Node) replayOnRestart(a *actor) {
	l := a.log
	if l == nil {
		return
	}
	keep := a.queue[:0]
	for _, t := range a.queue {
		if t.replay {
			n.endReplay(t) // of an instance that died before it ran them
			continue
		}
		keep = append(keep, t)
	}
	a.queue = keep
	from := l.newest().seq
	var again []*task
	for i := range l.calls {
		c := &l.calls[i]
		if c.seq <= from {
			continue
		}
		again = append(again, n.replayTask(a, c))
	}
	a.queue = append(again, a.queue...)
	for _, t := range again {
		if t.pending == 0 {
			n.ready(t)
		}
	}
}

// replayTask makes the task that runs logged call c again on a's new
// instance. Its result is its own, never the node's object of that ID.
func (n *Node) replayTask(a *actor, c *loggedCall) *task {
	t := &task{id: c.id, kind: wire.SubmitActorCall, name: c.name, args: wire.CloneArgs(c.args), opts: c.opts, actor: a, replay: true}
	t.ret = &Object{id: wire.ReturnID(c.id), refs: 1, made: t}
	n.holdArgs(t) // the log holds them
	n.tasks[t.id] = t
	return t
}

// endReplay retires replayed call t, run or not.
func (n *Node) endReplay(t *task) {
	if t.done {
		return
	}
	t.done = true
	if n.tasks[t.id] == t {
		delete(n.tasks, t.id)
	}
	n.unpinArgs(t)
	for _, arg := range t.args {
		if arg.IsRef {
			n.drop(arg.Ref)
		}
	}
	t.proc = nil
}

// replayRan retires replayed call t, which a worker ran (m its Done): what
// it stored under the call's result ID is freed unless the node's object
// of that ID is there (freeStored).
func (n *Node) replayRan(t *task, m *wire.Msg) {
	n.freeStored(m)
	n.replayDone(t)
}

// replayDone retires replayed call t, which ran. An actor whose last
// handle went meanwhile dies once its calls are done, as complete has it
// for the others (complete leaves a replayed call to endReplay).
func (n *Node) replayDone(t *task) {
	n.replayed++
	n.endReplay(t)
	if a := t.actor; a.orphaned {
		n.actorOutOfScope(a)
	}
}

// restoreState is the state a's instance being created restores (nil: its
// constructor's).
func (a *actor) restoreState() []byte {
	if a.log == nil {
		return nil
	}
	return a.log.newest().state
}

// restoreFailed handles a's instance that could not restore its state
// (failed wraps ErrCheckpoint): the point is dropped and the actor made
// again from the one before, replaying the calls since, without spending
// a restart. It reports false when there is no point before.
func (n *Node) restoreFailed(a *actor, failed error) bool {
	l := a.log
	if l == nil || !errors.Is(failed, ErrCheckpoint) || len(l.points) == 1 {
		return false
	}
	n.rejected++
	l.points = l.points[:len(l.points)-1]
	n.replayOnRestart(a)
	return true
}

// restoreError is why an actor whose instance failed with failed cannot
// be made again: for a checkpoint that did not load, there is none
// before it.
func restoreError(failed error) error {
	if errors.Is(failed, ErrCheckpoint) {
		return fmt.Errorf("no checkpoint before this one to restart from: %w", failed)
	}
	return failed
}
