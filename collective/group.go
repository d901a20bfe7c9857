package collective

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"manta/core"
)

// MinConcurrency is the least core.WithMaxConcurrency an actor type given
// to Enable needs: one method call running a collective, one serving the
// next member's watch of it, and two taking deliveries (a delivery call
// lasts until its chunk is mapped, pulled first from another node). Add
// one for each further group the actor is a member of at once.
const MinConcurrency = 4

// Options tune a group; the zero value is the defaults.
type Options struct {
	// Timeout bounds every collective call of the group, beyond the
	// caller's context (0: only the context bounds it).
	Timeout time.Duration `cbor:"1,keyasint,omitempty"`
	// ChunkBytes is the size of the pieces each segment of a buffer is
	// cut into, which travel around the ring one behind the other
	// (default DefaultChunkBytes).
	ChunkBytes int `cbor:"2,keyasint,omitempty"`
	// Window is how many chunks of its first step a member puts before it
	// has received any (default DefaultWindow); later ones follow one for
	// each received, so the store holds about Window chunks per member.
	Window int `cbor:"3,keyasint,omitempty"`
	// DirectBytes is the largest buffer Allreduce sends whole to every
	// other member in one round, rather than around the ring in
	// 2×(Size()-1) (default DefaultDirectBytes; negative: always the
	// ring). Small buffers are bound by a round's latency, not by
	// bandwidth: a small model's gradient, summed once a minibatch.
	DirectBytes int `cbor:"4,keyasint,omitempty"`
}

// Defaults of Options.
const (
	DefaultChunkBytes  = 8 << 20
	DefaultWindow      = 4
	DefaultDirectBytes = 256 << 10
)

func (o Options) withDefaults() Options {
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = DefaultChunkBytes
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.DirectBytes == 0 {
		o.DirectBytes = DefaultDirectBytes
	}
	return o
}

// Members is an actor type whose actors can be members of collective
// groups: Enable registers the methods the collectives use on it.
type Members[S any] struct {
	join    *core.Method4[S, string, int, []core.Actor[S], Options, bool]
	arm     *core.Method1[S, string, bool]
	leave   *core.Method1[S, string, bool]
	deliver *core.Method1[S, envelope, bool]
	watch   *core.Method2[S, context.Context, string, bool]
}

// Enable makes the actors of type t able to join collective groups. Call
// it at package level, after registering t, so worker processes register
// the same methods. t must let at least MinConcurrency method calls run
// at once (core.WithMaxConcurrency): a member's deliveries arrive as
// method calls while its own method runs a collective. MinConcurrency
// leaves room for one call of your own at a time: raise the limit by one
// for each more that may run or wait at once, or calls waiting for their
// turn at the group can hold the slots its deliveries need.
func Enable[S any](t core.ActorType[S]) *Members[S] {
	m := &Members[S]{}
	m.join = core.RegisterMethod4(t, "manta.collective.join", func(_ *S, name string, rank int, peers []core.Actor[S], o Options) (bool, error) {
		return true, m.joined(name, rank, peers, o)
	})
	m.arm = core.RegisterMethod1(t, "manta.collective.arm", func(_ *S, name string) (bool, error) {
		g, err := GetGroup(name)
		if err != nil {
			return false, err
		}
		g.arm()
		return true, nil
	})
	m.leave = core.RegisterMethod1(t, "manta.collective.leave", func(_ *S, name string) (bool, error) {
		groups.mu.Lock()
		g := groups.m[name]
		delete(groups.m, name)
		groups.mu.Unlock()
		if g != nil {
			g.close(&Error{Group: name, Rank: g.rank, Err: ErrClosed, Detail: "destroyed"})
		}
		return g != nil, nil
	})
	m.deliver = core.RegisterMethod1(t, "manta.collective.deliver", func(_ *S, e envelope) (bool, error) {
		groups.mu.Lock()
		g := groups.m[e.Group]
		groups.mu.Unlock()
		if g == nil {
			e.release()
			return false, nil
		}
		// The chunk is mapped (pulled into this node's store first, if
		// another node holds it) before the call returns: the sender keeps
		// its object until then.
		g.put(pin(g.life, e))
		return true, nil
	})
	m.watch = core.RegisterMethod2(t, "manta.collective.watch", func(_ *S, ctx context.Context, name string) (bool, error) {
		g, err := GetGroup(name)
		if err != nil {
			return false, err
		}
		select {
		case <-g.life.Done():
			return true, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	})
	return m
}

// CreateGroup makes actors a group called name, each actor's rank its
// index, like Ray's create_collective_group; call it where the actors
// were made (the driver). Every actor must be of the type Enable was
// given, and a member of no other group of that name. Member methods then
// find the group with GetGroup. Destroy ends it.
func (m *Members[S]) CreateGroup(ctx context.Context, name string, actors []core.Actor[S], o Options) error {
	if len(actors) == 0 {
		return &Error{Group: name, Err: ErrInvalid, Detail: "a group needs members"}
	}
	refs := make([]core.Ref[bool], len(actors))
	for i, a := range actors {
		refs[i] = m.join.Remote(a, name, i, actors, o)
	}
	// Where a join failed, the actor may be a member of another group of
	// that name: only those that joined this one leave it.
	var joined []core.Actor[S]
	var first error
	for i, r := range refs {
		if _, err := r.Get(ctx); err != nil {
			first = cmp.Or(first, err)
		} else {
			joined = append(joined, actors[i])
		}
	}
	if first == nil {
		for i, a := range actors {
			refs[i] = m.arm.Remote(a, name)
		}
		_, first = core.GetAll(ctx, refs)
	}
	if first != nil {
		m.Destroy(ctx, name, joined)
		return fmt.Errorf("collective: creating group %q: %w", name, first)
	}
	return nil
}

// Destroy ends the group called name at each of actors: collectives in
// flight there fail with ErrClosed, and the members give up their handles
// of each other. Members already dead are skipped.
func (m *Members[S]) Destroy(ctx context.Context, name string, actors []core.Actor[S]) {
	refs := make([]core.Ref[bool], len(actors))
	for i, a := range actors {
		refs[i] = m.leave.Remote(a, name)
	}
	for _, r := range refs {
		r.Get(ctx) // a dead member has nothing to leave
	}
}

// joined records this process's membership of a group.
func (m *Members[S]) joined(name string, rank int, peers []core.Actor[S], o Options) error {
	if rank < 0 || rank >= len(peers) {
		return &Error{Group: name, Rank: rank, Err: ErrInvalid, Detail: fmt.Sprintf("rank of a group of %d", len(peers))}
	}
	g := newGroup(name, rank, len(peers), o.withDefaults())
	g.send = func(to int, e envelope, delivered func()) {
		r := m.deliver.Remote(peers[to], e)
		if delivered == nil {
			r.Release()
			return
		}
		go func() {
			r.Get(g.life) // an error: the receiver is gone, or the group
			r.Release()
			delivered()
		}()
	}
	g.watchPrev = func(ctx context.Context) error {
		_, err := m.watch.Remote(peers[(rank+len(peers)-1)%len(peers)], ctx, name).Get(ctx)
		return err
	}
	g.dropPeers = func() {
		for _, p := range peers {
			p.Release()
		}
	}
	groups.mu.Lock()
	defer groups.mu.Unlock()
	if groups.m[name] != nil {
		return &Error{Group: name, Rank: rank, Err: ErrInvalid, Detail: "this process is a member of a group of that name already"}
	}
	groups.m[name] = g
	return nil
}

// groups are this process's memberships by name: an actor has a process
// of its own, so they are the actor's.
var groups = struct {
	mu sync.Mutex
	m  map[string]*Group
}{m: map[string]*Group{}}

// GetGroup returns this member's group called name; call it in a method
// of a member. It fails with ErrNoGroup if the actor is not a member.
func GetGroup(name string) (*Group, error) {
	groups.mu.Lock()
	defer groups.mu.Unlock()
	g := groups.m[name]
	if g == nil {
		return nil, &Error{Group: name, Rank: -1, Err: ErrNoGroup}
	}
	return g, nil
}

// Group is one member's view of a collective group: its rank among size
// members. Its collectives (Allreduce, Allgather, ReduceScatter,
// Broadcast) must be called by every member in the same order, one at a
// time per member.
type Group struct {
	name       string
	rank, size int
	opts       Options

	// send delivers e to member to, and calls delivered, if set, once
	// the receiver holds it.
	send      func(to int, e envelope, delivered func())
	watchPrev func(ctx context.Context) error
	dropPeers func()

	op      sync.Mutex // one collective at a time
	seq     uint64     // the operations begun, under op
	scratch any        // a []float32 or []float64 the operations reuse, under op

	mu     sync.Mutex
	cur    uint64             // the operation in flight or last begun
	msgs   map[msgKey]arrival // arrived, not yet taken
	aborts map[uint64]*Error  // operations another member gave up
	broken *Error             // set once: no operation can succeed
	wake   chan struct{}      // the operation's waiter, cap 1

	life      context.Context // done when closed: ends the watch and the waits for deliveries
	endLife   context.CancelFunc
	closeOnce sync.Once
	armed     bool // watching the previous member, under mu
}

type msgKey struct {
	seq         uint64
	step, chunk int
}

func newGroup(name string, rank, size int, o Options) *Group {
	g := &Group{name: name, rank: rank, size: size, opts: o, msgs: map[msgKey]arrival{},
		aborts: map[uint64]*Error{}, wake: make(chan struct{}, 1)}
	g.life, g.endLife = context.WithCancel(context.Background())
	return g
}

// Name is the group's name.
func (g *Group) Name() string { return g.name }

// Rank is this member's rank, from 0 to Size()-1.
func (g *Group) Rank() int { return g.rank }

// Size is the number of members.
func (g *Group) Size() int { return g.size }

// arm starts watching the previous member of the ring, whose deliveries
// this member waits for: its death breaks the group at every member.
func (g *Group) arm() {
	if g.size == 1 {
		return
	}
	g.mu.Lock()
	armed := g.armed
	g.armed = true
	g.mu.Unlock()
	if armed {
		return
	}
	prev := (g.rank + g.size - 1) % g.size
	go func() {
		err := g.watchPrev(g.life)
		if g.life.Err() != nil {
			return // this member left
		}
		var e *Error
		if err == nil || errors.Is(err, ErrNoGroup) {
			e = &Error{Group: g.name, Rank: prev, Err: ErrClosed, Detail: "the member left the group"}
		} else {
			e = &Error{Group: g.name, Rank: prev, Err: ErrMemberLost, Detail: err.Error()}
		}
		if g.fail(e) {
			g.broadcastAbort(0, e)
		}
	}()
}

// fail breaks the group with e; false if it was broken already.
func (g *Group) fail(e *Error) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.broken != nil {
		return false
	}
	g.broken = e
	g.kick()
	return true
}

// close ends this member's part in the group.
func (g *Group) close(e *Error) {
	g.closeOnce.Do(func() {
		g.fail(e)
		g.endLife()
		g.mu.Lock()
		for k, a := range g.msgs {
			a.release()
			delete(g.msgs, k)
		}
		g.mu.Unlock()
		g.dropPeers()
	})
}

// kick wakes the operation's waiter, if any; under g.mu.
func (g *Group) kick() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// put takes a delivery.
func (g *Group) put(a arrival) {
	e := a.env
	g.mu.Lock()
	defer g.mu.Unlock()
	if e.Abort != nil {
		err := &Error{Group: g.name, Op: e.Abort.Op, Rank: e.From, Err: sentinelOf(e.Abort.Kind), Detail: e.Abort.Detail}
		if e.Abort.Kind == kindMemberLost || e.Abort.Kind == kindClosed {
			err.Rank = e.Abort.Rank
			if g.broken == nil {
				g.broken = err
			}
		} else if e.Seq >= g.cur && g.aborts[e.Seq] == nil {
			g.aborts[e.Seq] = err
		}
		g.kick()
		return
	}
	if e.Seq < g.cur || g.broken != nil || g.aborts[e.Seq] != nil {
		a.release() // an operation given up
		return
	}
	g.msgs[msgKey{e.Seq, e.Step, e.Chunk}] = a
	g.kick()
}

// begin starts an operation under g.op: the previous one's leftovers go.
func (g *Group) begin() (uint64, error) {
	g.seq++
	seq := g.seq
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur = seq
	for k, a := range g.msgs {
		if k.seq < seq {
			a.release()
			delete(g.msgs, k)
		}
	}
	for s := range g.aborts {
		if s < seq {
			delete(g.aborts, s)
		}
	}
	if g.broken != nil {
		return seq, g.broken
	}
	return seq, nil
}

// failure is why operation seq cannot succeed (the group broke, or
// another member gave it up), or nil.
func (g *Group) failure(seq uint64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.broken != nil {
		return g.broken
	}
	if err := g.aborts[seq]; err != nil {
		return err
	}
	return nil
}

// recv waits for the delivery of (seq, step, chunk).
func (g *Group) recv(ctx context.Context, seq uint64, step, chunk int) (arrival, error) {
	k := msgKey{seq, step, chunk}
	for {
		if err := g.failure(seq); err != nil {
			return arrival{}, err
		}
		g.mu.Lock()
		if a, ok := g.msgs[k]; ok {
			delete(g.msgs, k)
			g.mu.Unlock()
			return a, nil
		}
		g.mu.Unlock()
		select {
		case <-g.wake:
		case <-ctx.Done():
			return arrival{}, ctx.Err()
		}
	}
}

// broadcastAbort tells every other member that operation seq (0: the
// group) failed with e.
func (g *Group) broadcastAbort(seq uint64, e *Error) {
	a := &abortMsg{Kind: kindOf(e), Rank: e.Rank, Op: e.Op, Detail: e.Detail}
	if a.Detail == "" && !errors.Is(e.Err, ErrMismatch) {
		a.Detail = e.Err.Error()
	}
	for r := range g.size {
		if r != g.rank {
			g.send(r, envelope{Group: g.name, Seq: seq, From: g.rank, Abort: a}, nil)
		}
	}
}
