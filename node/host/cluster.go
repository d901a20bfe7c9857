package host

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"manta/events"
	"manta/node"
	"manta/node/peer"
	"manta/rpc/wire"
	"manta/sched"
	"manta/shm/store"
)

// Cluster is what the host of a node in a cluster asks of the cluster:
// where a spilled task goes, the peers that run tasks, and the transfers
// that bring objects into this node's store. core makes one from package
// node/peer, the GCS and package transfer.
type Cluster interface {
	// Self is this node as a holder of objects.
	Self() peer.Holder
	// Place picks the node that runs a task this node spilled, by its peer
	// address (Self().Peer: here); inputs are the task's stored arguments.
	// An error (no node can ever run it) fails the task.
	Place(spec *node.TaskSpec, inputs []peer.Object) (string, error)
	// Run runs req at the peer addr (see peer.Client.Run).
	Run(ctx context.Context, addr string, req *peer.RunRequest) (peer.RunReply, error)
	// Release gives back holds the peer addr lent (see peer.Client.Release).
	Release(addr string, ids []wire.ObjectID)
	// Cancel asks the peer addr to cancel task, which this node asked it
	// to run (see peer.Client.Cancel). It does not wait.
	Cancel(addr string, task wire.TaskID)
	// Pull copies the object id, size bytes, into this node's store from
	// one of from; forGet says a driver or worker waits on it (rather than
	// a task's argument).
	Pull(ctx context.Context, id wire.ObjectID, size int64, from []peer.Holder, forGet bool) error
	// RecordActor records, for other nodes, that actor lives at the peer
	// addr; LocateActor finds where an actor lives.
	RecordActor(ctx context.Context, actor wire.TaskID, addr string) error
	LocateActor(ctx context.Context, actor wire.TaskID) (string, error)
}

// callKey names one caller's calls to one actor.
type callKey struct {
	caller string
	actor  wire.TaskID
}

// seqWait bounds how long a call waits for its caller's earlier ones. A
// caller whose run of a call failed restarts the actor, numbering its
// calls afresh, so a gap this long means the caller is lost or stuck: the
// call fails (and its caller restarts the actor) rather than run out of
// order. The caller keeps at most node.RemoteCallWindow calls in flight.
const seqWait = 30 * time.Second

// remoteObject is an object whose bytes lie in other nodes' stores.
type remoteObject struct {
	size int64
	from []peer.Holder
	// owner keeps its lineage, if another node does (the zero Holder:
	// this node made it).
	owner peer.Holder
	// lender, if set, is the peer that holds the object for this node
	// until told otherwise (it ran the task that made it).
	lender string
}

// lentObject is an object this node holds for a member of the cluster
// whose task ran here: a hold per reply that lent it.
type lentObject struct {
	obj   *node.Object
	holds int
}

// lentKey names the holds lent one member on one object.
type lentKey struct {
	member string
	id     wire.ObjectID
}

// Spill is the node's Host.Spill: placement, the run at a peer and the
// answer happen off the lock.
func (e *effects) Spill(spec *node.TaskSpec) {
	h := e.h()
	r := &spillRun{spec: *spec}
	s := &r.spec
	s.Name = slices.Clone(spec.Name)
	s.Args = make([]wire.Arg, len(spec.Args))
	var objs []peer.Object
	for i, a := range spec.Args {
		s.Args[i] = wire.Arg{IsRef: a.IsRef, Ref: a.Ref, Data: slices.Clone(a.Data)}
		if a.IsRef {
			objs = append(objs, h.describeLocked(a.Ref))
		}
	}
	s.Contained = slices.Clone(spec.Contained)
	for _, id := range spec.Contained {
		objs = append(objs, h.describeLocked(id))
	}
	var order callOrder
	var addr string
	if s.Kind == wire.SubmitActor {
		// Created (again): its calls are numbered afresh for the new
		// instance, wherever it is placed.
		delete(h.sendSeq, s.ID)
		delete(h.actorAt, s.ID)
		delete(h.moved, s.ID) // its owner places it: it is where the creation runs
		h.sendEpoch[s.ID] = s.Attempt
		order.epoch = s.Attempt
	}
	if s.Kind == wire.SubmitActorCall {
		h.sendSeq[s.Actor]++
		order = callOrder{seq: h.sendSeq[s.Actor], epoch: h.sendEpoch[s.Actor]}
		addr = h.actorAt[s.Actor]
	}
	h.spilling[s.ID] = r
	h.spills.Add(1)
	go h.runElsewhere(r, objs, addr, order)
}

// spillRun is a spilled task's attempt on its way to a peer: its
// specification, and where it was sent, for CancelSpilled. Spill makes it
// under Host.mu; its goroutine takes mu, not the host's, to say where
// it sends the task.
type spillRun struct {
	spec      node.TaskSpec
	mu        sync.Mutex
	addr      string // the peer it is sent to, once placed
	cancelled bool   // CancelSpilled came: the task is done
}

// forgetSpillLocked drops r from the spills in flight, unless a later
// attempt took its place. Under mu.
func (h *Host) forgetSpillLocked(r *spillRun) {
	if h.spilling[r.spec.ID] == r {
		delete(h.spilling, r.spec.ID)
	}
}

// describeLocked says what a peer must know of object id to use it: its
// value if inline, else its size and who holds it. Under mu.
func (h *Host) describeLocked(id wire.ObjectID) peer.Object {
	self := h.cluster.Self()
	if r, ok := h.remote[id]; ok {
		owner := r.owner
		if owner == (peer.Holder{}) {
			owner = self
		}
		return peer.Object{ID: id, Size: r.size, From: r.from, Owner: owner}
	}
	o := h.n.Lookup(id)
	if o == nil {
		return peer.Object{ID: id, Size: 0, From: []peer.Holder{self}, Owner: self}
	}
	res := h.n.Result(o)
	if !res.Stored {
		return peer.Object{ID: id, Inline: true, Data: slices.Clone(res.Data)}
	}
	return peer.Object{ID: id, Size: res.Slot.Size, From: []peer.Holder{self}, Owner: self}
}

// callOrder is where an actor's creation or call stands among its
// caller's: the instance it is for (peer.RunRequest.Epoch) and, for a
// call, its number (Seq).
type callOrder struct {
	seq   uint64
	epoch uint32
}

// runElsewhere places a spilled task and runs it where it was placed; an
// actor's call goes to the actor's node, addr if known.
func (h *Host) runElsewhere(r *spillRun, objs []peer.Object, addr string, order callOrder) {
	defer h.spills.Done()
	spec := &r.spec
	cl := h.cluster
	if spec.Kind == wire.SubmitActorCall {
		if addr == "" {
			var err error
			if addr, err = h.locateActor(spec.Actor); err != nil {
				h.lock()
				h.forgetSpillLocked(r)
				h.n.SpillFailed(spec.ID, spec.Attempt, fmt.Errorf("cannot find the actor's node: %w", err))
				h.unlock()
				return
			}
		}
		h.runAt(r, objs, addr, order)
		return
	}
	var inputs []peer.Object
	for _, o := range objs {
		if !o.Inline {
			inputs = append(inputs, o)
		}
	}
	addr, err := cl.Place(spec, inputs)
	if err != nil {
		if errors.Is(err, sched.ErrInfeasible) {
			err = fmt.Errorf("%w: %v", node.ErrInfeasible, err)
		}
		h.lock()
		h.forgetSpillLocked(r)
		h.n.SpillDone(spec.ID, spec.Attempt, node.Value{}, nil, h.cfg.Node.Errors.Encode(err, spec.Name, spec.ID))
		h.unlock()
		return
	}
	if addr == cl.Self().Peer {
		h.lock()
		h.forgetSpillLocked(r)
		h.n.RunHere(spec.ID)
		h.unlock()
		return
	}
	h.runAt(r, objs, addr, order)
}

// runAt runs spec at the peer addr and gives the node its outcome. A
// task cancelled while it was placed is not sent, but an actor's call
// is, and cancelled there: the actor's node waits for each of its
// caller's calls by number.
func (h *Host) runAt(r *spillRun, objs []peer.Object, addr string, order callOrder) {
	spec := &r.spec
	cl := h.cluster
	r.mu.Lock()
	r.addr = addr
	cancelled := r.cancelled
	r.mu.Unlock()
	if cancelled {
		if spec.Kind != wire.SubmitActorCall {
			return
		}
		cl.Cancel(addr, spec.ID)
	}
	reply, err := cl.Run(h.ctx, addr, &peer.RunRequest{Spec: *spec, Objects: objs, Caller: cl.Self().Peer, Seq: order.seq, Epoch: order.epoch})
	if err == nil && reply.From.Peer != "" {
		addr = reply.From.Peer // a job node of this program ran it (see core)
	}
	creation := err == nil && spec.Kind == wire.SubmitActor && reply.Failed == nil
	if creation {
		// Recorded before any handle to it leaves this node.
		if err := cl.RecordActor(h.ctx, spec.ID, addr); err != nil {
			h.log.Warn("host: recording an actor's node", "actor", spec.ID, "err", err)
		}
	}
	h.lock()
	defer h.unlock()
	h.forgetSpillLocked(r)
	switch {
	case errors.Is(err, peer.ErrProgramUnavailable):
		// No node can run it: they all fetch the binary from one table.
		h.n.SpillDone(spec.ID, spec.Attempt, node.Value{}, nil, h.cfg.Node.Errors.Encode(err, spec.Name, spec.ID))
		return
	case err != nil:
		if spec.Kind == wire.SubmitActorCall && h.actorAt[spec.Actor] == addr {
			h.actorLostLocked(spec.Actor, addr)
		}
		h.n.SpillFailed(spec.ID, spec.Attempt, err)
		return
	}
	if creation {
		h.actorAt[spec.ID] = addr
	}
	h.takeReplyLocked(spec, addr, &reply)
}

// actorLostLocked forgets that actor lives at addr, where its calls
// could not reach it: it is found again before its next call goes
// (locateActor), and its calls are numbered afresh for wherever it is
// then. Under mu.
func (h *Host) actorLostLocked(actor wire.TaskID, addr string) {
	delete(h.actorAt, actor)
	delete(h.sendSeq, actor)
	if _, ok := h.moved[actor]; !ok {
		h.moved[actor] = movedActor{from: addr, since: h.clock.Now()}
	}
}

// movedActor is an actor whose calls could not reach it at from, since
// then: the actor table must name another node before they go again.
type movedActor struct {
	from  string
	since time.Time
}

// Relocation: how long a caller waits for the actor table to name
// another node for an actor it could not reach (its owner's restart
// takes the head's node timeout and a creation), and how often it looks.
const (
	relocateWait = 30 * time.Second
	relocatePoll = 100 * time.Millisecond
)

// locateActor finds where actor lives now. After a call could not reach
// it (h.moved), it waits for the actor table to name another node, for
// relocateWait at most, and then fails with node.ErrActorUnreachable.
func (h *Host) locateActor(actor wire.TaskID) (string, error) {
	for {
		addr, err := h.cluster.LocateActor(h.ctx, actor)
		h.lock()
		mv, moving := h.moved[actor]
		switch {
		case err == nil && (!moving || addr != mv.from):
			delete(h.moved, actor)
			h.actorAt[actor] = addr
			h.unlock()
			return addr, nil
		case err != nil && !moving:
			h.unlock()
			return "", err
		case h.clock.Since(mv.since) > relocateWait:
			h.unlock()
			return "", fmt.Errorf("%w: %w: actor %v: no other node %v after its calls could not reach it at %s (last look-up: %v)",
				node.ErrActorDied, node.ErrActorUnreachable, actor, relocateWait, mv.from, err)
		}
		h.unlock()
		select {
		case <-h.clock.After(relocatePoll):
		case <-h.ctx.Done():
			return "", h.ctx.Err()
		}
	}
}

// takeReplyLocked gives the node the outcome of a task that ran at the
// peer addr, and gives the peer back what it lent if the node does not
// take it. Under mu.
func (h *Host) takeReplyLocked(spec *node.TaskSpec, addr string, reply *peer.RunReply) {
	task := spec.ID
	var holds []*node.Object
	contained := make([]wire.ObjectID, 0, len(reply.Contained))
	for _, o := range reply.Contained {
		holds = append(holds, h.adoptLocked(o, lenderOf(o, addr)))
		contained = append(contained, o.ID)
	}
	v := node.Value{Data: reply.Data}
	ret := wire.ReturnID(task)
	if reply.Checkpoint != nil {
		h.n.CallCheckpointed(task, spec.Attempt, reply.Checkpoint)
	}
	if reply.Failed == nil {
		h.addCopiesLocked(spec, addr, reply.From)
	}
	prev, hadPrev := h.remote[ret] // a replayed call's result is not taken: the first one stays
	switch {
	case reply.Stored:
		from := reply.From
		from.Peer = addr
		h.remote[ret] = remoteObject{size: reply.Size, from: []peer.Holder{from}, lender: addr}
		v = node.Value{Stored: true, Slot: store.Slot{Size: reply.Size}}
	case reply.Lent:
		h.remote[ret] = remoteObject{lender: addr} // an actor's creation: Free ends the actor
	}
	if !h.n.SpillDone(task, spec.Attempt, v, contained, reply.Failed) {
		switch {
		case hadPrev:
			h.remote[ret] = prev
		case reply.Lent:
			delete(h.remote, ret)
		}
		for _, o := range holds {
			h.n.Release(o) // the last hold: Free gives the lent ones back
		}
		if reply.Lent {
			h.cluster.Release(addr, []wire.ObjectID{ret})
		}
		return
	}
	for _, o := range holds {
		h.n.Release(o) // the result holds them now
	}
}

// addCopiesLocked records that the node at addr, which ran spec (and did
// not fail), holds a copy of each of its stored arguments that lie
// elsewhere: it pulled them to run it, and keeps them while its memory
// allows (store.Cache), so a pull finds them there when their other
// holders died. Under mu.
func (h *Host) addCopiesLocked(spec *node.TaskSpec, addr string, from peer.Holder) {
	from.Peer = addr
	for _, a := range spec.Args {
		if !a.IsRef {
			continue
		}
		if r, ok := h.remote[a.Ref]; ok && !slices.Contains(r.from, from) {
			r.from = append(r.from, from)
			h.remote[a.Ref] = r
		}
	}
}

// lenderOf is the peer that lent o in a reply from addr: addr when it
// names itself first among o's holders.
func lenderOf(o peer.Object, addr string) string {
	if !o.Inline && len(o.From) > 0 && o.From[0].Peer == addr {
		return addr
	}
	return ""
}

// adoptLocked records an object another node described and takes a hold
// on it: inline values as values, stored ones as remote objects pulled
// when pinned. Under mu.
func (h *Host) adoptLocked(o peer.Object, lender string) *node.Object {
	if have := h.n.Hold(o.ID); have != nil {
		if lender != "" {
			h.cluster.Release(lender, []wire.ObjectID{o.ID}) // this node has it already
		}
		return have
	}
	if o.Inline {
		return h.n.Put(o.ID, node.Value{Data: slices.Clone(o.Data)}, nil)
	}
	owner := o.Owner
	if owner == (peer.Holder{}) && len(o.From) > 0 {
		owner = o.From[0]
	}
	if owner == h.cluster.Self() {
		owner = peer.Holder{} // its lineage is here
	}
	h.remote[o.ID] = remoteObject{size: o.Size, from: slices.Clone(o.From), owner: owner, lender: lender}
	return h.n.PutRemote(o.ID, o.Size)
}

// freeRemoteLocked forgets a remote object the node freed, giving back
// its lender's hold, and reports whether id was one. Under mu.
func (h *Host) freeRemoteLocked(id wire.ObjectID) bool {
	r, ok := h.remote[id]
	if !ok {
		return false
	}
	delete(h.remote, id)
	if r.lender != "" {
		h.cluster.Release(r.lender, []wire.ObjectID{id})
	}
	return true
}

// pinObject pins id in the store, pulling it first from the nodes that
// hold it if it is a remote object not pulled yet. Off the lock.
func (h *Host) pinObject(ctx context.Context, id wire.ObjectID, forGet bool) (store.Slot, error) {
	slot, err := h.st.Pin(ctx, StoreID(id))
	if err == nil {
		events.RecordObject(events.ObjPin, id, uint64(slot.Size))
	}
	// Not sealed: another pin of it is pulling it, which Pull joins.
	if err == nil || h.cluster == nil || !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrNotSealed) {
		return slot, err
	}
	h.lock()
	r, ok := h.remote[id]
	h.unlock()
	if !ok {
		return slot, err
	}
	if err := h.cluster.Pull(ctx, id, r.size, r.from, forGet); err != nil {
		h.lock()
		ownerGone := r.owner != (peer.Holder{}) && h.gone[r.owner.Node()]
		h.unlock()
		if ownerGone {
			return store.Slot{}, fmt.Errorf("%w: %w: %s, which made it, left the cluster: %w", store.ErrLost, node.ErrOwnerDied, r.owner.Peer, err)
		}
		return store.Slot{}, fmt.Errorf("%w: %w", store.ErrLost, err)
	}
	h.pulls.Add(1)
	h.pulledBytes.Add(r.size)
	events.RecordObject(events.ObjTransfer, id, uint64(r.size))
	h.lock()
	r, ok = h.remote[id]
	if ok && !slices.Contains(r.from, h.cluster.Self()) {
		// Offered first from now on: the nodes it came from may die.
		r.from = append([]peer.Holder{h.cluster.Self()}, r.from...)
		h.remote[id] = r
	}
	if !ok {
		// Freed while it was pulled (the task that needed it cancelled):
		// the node's Free found nothing in the store to let go of, and
		// nothing else would.
		h.st.Delete(StoreID(id))
	}
	h.unlock()
	if !ok {
		return store.Slot{}, fmt.Errorf("%w: %v was freed while it was pulled", store.ErrNotFound, id)
	}
	return h.st.Pin(ctx, StoreID(id))
}

// Execute runs a task a peer's node spilled to this one (peer.Executor).
// Its arguments that this node lacks are recorded first, and pulled when
// they are pinned for the worker.
func (h *Host) Execute(ctx context.Context, req *peer.RunRequest) (peer.RunReply, error) {
	spec := req.Spec
	spec.Name = slices.Clone(spec.Name)
	spec.Args = slices.Clone(spec.Args)
	for i := range spec.Args {
		spec.Args[i].Data = slices.Clone(spec.Args[i].Data)
	}
	spec.Contained = slices.Clone(spec.Contained)
	spec.Placed, spec.Watched, spec.Fresh = true, true, false
	h.lock()
	if h.closed {
		h.unlock()
		return peer.RunReply{}, node.ErrShutdown
	}
	if h.n.Spilled(spec.ID) {
		h.unlock()
		return peer.RunReply{}, fmt.Errorf("host: task %v was sent back to the node that spilled it", spec.ID)
	}
	if spec.Kind == wire.SubmitActorCall {
		if err := h.admitCallLocked(ctx, req); err != nil {
			h.unlock()
			return peer.RunReply{}, err
		}
	}
	var holds []*node.Object
	for _, o := range req.Objects {
		holds = append(holds, h.adoptLocked(o, ""))
	}
	done := make(chan struct{})
	s := h.serving[spec.ID]
	if s == nil {
		s = &servedRun{}
		h.serving[spec.ID] = s
	}
	s.member, s.done = req.Member, append(s.done, done)
	obj := h.n.Submit(&spec)
	switch key := (callKey{req.Caller, spec.Actor}); {
	case spec.Kind == wire.SubmitActorCall && req.Seq > h.recvSeq[key]:
		h.recvSeq[key] = req.Seq
		close(h.seqAdvanced)
		h.seqAdvanced = make(chan struct{})
	case spec.Kind == wire.SubmitActor && req.Epoch > h.recvEpoch[key]:
		// A new instance: its owner numbers its calls to it afresh.
		h.recvEpoch[key] = req.Epoch
		delete(h.recvSeq, key)
	}
	for _, o := range holds {
		h.n.Release(o) // the task holds its arguments now
	}
	if h.early.Take(spec.ID) {
		h.n.Cancel(spec.ID, errCancelledByCaller)
	}
	if !obj.Pending() {
		h.finishedLocked(spec.ID)
	}
	h.unlock()
	select {
	case <-done:
	case <-ctx.Done():
		h.lock()
		h.n.Release(obj)
		h.unlock()
		return peer.RunReply{}, ctx.Err()
	}
	h.lock()
	defer h.unlock()
	reply := h.replyLocked(obj, spec.Kind == wire.SubmitActor, req.Member)
	if spec.Kind == wire.SubmitActorCall {
		reply.Checkpoint = slices.Clone(h.n.CheckpointAfter(spec.Actor, spec.ID))
	}
	return reply, nil
}

// servedRun is a task run here for a peer: the member it is run for,
// and a channel for each of its runs waiting for it (Execute).
type servedRun struct {
	member string
	done   []chan struct{}
}

// errCancelledByCaller is why a peer's task is cancelled here.
var errCancelledByCaller = fmt.Errorf("%w by its caller", node.ErrCancelled)

// CancelRun cancels a task a peer asked this node to run
// (peer.Executor): at once if it is here, else when its run comes
// (peer.EarlyCancels).
func (h *Host) CancelRun(req *peer.CancelRequest) {
	h.lock()
	defer h.unlock()
	switch {
	case h.closed:
	case h.serving[req.Task] != nil:
		h.n.Cancel(req.Task, errCancelledByCaller)
	default:
		h.early.Add(req.Task, h.clock.Now())
	}
}

// admitCallLocked checks an actor's call a peer sent: the actor runs
// here, and the call is numbered for its current instance; then it waits
// for the caller's earlier calls (awaitTurnLocked). Under mu.
func (h *Host) admitCallLocked(ctx context.Context, req *peer.RunRequest) error {
	spec, key := &req.Spec, callKey{req.Caller, req.Spec.Actor}
	switch {
	case !h.n.HostsActor(spec.Actor):
		return fmt.Errorf("%w: actor %v (call %v)", peer.ErrActorNotHere, spec.Actor, spec.ID)
	case req.Epoch < h.recvEpoch[key]:
		return fmt.Errorf("host: call %v was numbered for an earlier instance of actor %v, created again since", spec.ID, spec.Actor)
	case req.Seq > 0:
		return h.awaitTurnLocked(ctx, key, req.Seq)
	}
	return nil
}

// awaitTurnLocked waits, under mu but letting go of it meanwhile, until
// the caller's calls to the actor before seq were submitted; after
// seqWait it fails rather than run the call out of order.
func (h *Host) awaitTurnLocked(ctx context.Context, key callKey, seq uint64) error {
	deadline := h.clock.NewTimer(seqWait)
	defer deadline.Stop()
	for h.recvSeq[key]+1 < seq {
		changed := h.seqAdvanced
		h.unlock()
		select {
		case <-changed:
		case <-deadline.Chan():
			h.lock()
			return fmt.Errorf("host: call %d of %s to actor %v waited %v for call %d, which did not come; it is not run out of order",
				seq, key.caller, key.actor, seqWait, h.recvSeq[key]+1)
		case <-ctx.Done():
			h.lock()
			return ctx.Err()
		}
		h.lock()
		if h.closed {
			return node.ErrShutdown
		}
	}
	return nil
}

// replyLocked is the reply for a finished result object obj, whose hold
// it takes over: lent to the peer if stored or an actor's creation (the
// actor lives while the owner holds it), given back if not. Under mu.
func (h *Host) replyLocked(obj *node.Object, creation bool, member string) peer.RunReply {
	self := h.cluster.Self()
	reply := peer.RunReply{From: self, Failed: obj.Failure()}
	if reply.Failed == nil {
		res := h.n.Result(obj)
		switch {
		case res.Err != nil: // freed meanwhile: the error, never an empty value
			reply.Failed = h.cfg.Node.Errors.Encode(res.Err, nil, obj.ID().Task)
		case res.Stored:
			reply.Stored, reply.Size = true, res.Slot.Size
		default:
			reply.Data = slices.Clone(res.Data)
		}
	}
	if reply.Failed == nil {
		for _, id := range obj.Contained() {
			d := h.describeLocked(id)
			if !d.Inline {
				if o := h.n.Hold(id); o != nil {
					h.lendLocked(member, id, o)
				}
			}
			reply.Contained = append(reply.Contained, d)
		}
	}
	if reply.Stored || creation && reply.Failed == nil {
		reply.Lent = true
		h.lendLocked(member, obj.ID(), obj)
	} else {
		h.n.Release(obj)
	}
	return reply
}

func (h *Host) lendLocked(member string, id wire.ObjectID, o *node.Object) {
	key := lentKey{member, id}
	l := h.lent[key]
	if l == nil {
		l = &lentObject{obj: o}
		h.lent[key] = l
	} else {
		h.n.Release(o) // one hold of the node's per lent object; count the rest
	}
	l.holds++
}

// ReleaseLent gives back holds lent to member (peer.Executor).
func (h *Host) ReleaseLent(member string, ids []wire.ObjectID) {
	h.lock()
	defer h.unlock()
	for _, id := range ids {
		key := lentKey{member, id}
		l := h.lent[key]
		if l == nil {
			continue
		}
		if l.holds--; l.holds == 0 {
			delete(h.lent, key)
			h.n.Release(l.obj)
		}
	}
}

// MembersGone gives back every hold lent to members, which left the
// cluster or died (their peer addresses): nobody will release them. The
// tasks and calls run here for them are cancelled: their results are
// nobody's. An actor whose creation was lent to one ends. An actor of
// this node's that lived on one is created again elsewhere if it has restarts left
// (node.ActorNodeLost), before a call finds its node gone.
func (h *Host) MembersGone(members []string) {
	if len(members) == 0 {
		return
	}
	h.lock()
	defer h.unlock()
	gone := map[string]bool{}
	for _, m := range members {
		gone[m] = true
		h.gone[m] = true
	}
	var keys []lentKey
	for key := range h.lent {
		if gone[key.member] {
			keys = append(keys, key)
		}
	}
	// In ID order: the node's effects must not depend on map order.
	slices.SortFunc(keys, func(a, b lentKey) int {
		return cmp.Or(cmp.Compare(a.id.Task.Hi, b.id.Task.Hi), cmp.Compare(a.id.Task.Lo, b.id.Task.Lo), cmp.Compare(a.id.Index, b.id.Index))
	})
	for _, key := range keys {
		l := h.lent[key]
		delete(h.lent, key)
		h.n.Release(l.obj)
	}
	var actors []wire.TaskID
	for id, addr := range h.actorAt {
		if gone[addr] {
			actors = append(actors, id)
		}
	}
	slices.SortFunc(actors, wire.CompareTaskIDs)
	for _, id := range actors {
		addr := h.actorAt[id]
		h.actorLostLocked(id, addr)
		h.n.ActorNodeLost(id, fmt.Errorf("its node %s left the cluster", addr))
	}
	var orphans []wire.TaskID
	for id, s := range h.serving {
		if gone[s.member] {
			orphans = append(orphans, id)
		}
	}
	slices.SortFunc(orphans, wire.CompareTaskIDs)
	for _, id := range orphans {
		// ErrShutdown, as when this node stops under a task: should the
		// owner be alive after all (a node taken for dead that beats
		// again), it runs the task again rather than fail it.
		h.n.Cancel(id, fmt.Errorf("%w: its owner left the cluster", node.ErrShutdown))
	}
}

// Lent counts the objects this node holds for other members.
func (h *Host) Lent() int {
	h.lock()
	defer h.unlock()
	return len(h.lent)
}

// finishedLocked wakes the peers' requests waiting for task. Under mu.
func (h *Host) finishedLocked(task wire.TaskID) {
	if s := h.serving[task]; s != nil {
		for _, ch := range s.done {
			close(ch)
		}
	}
	delete(h.serving, task)
}
