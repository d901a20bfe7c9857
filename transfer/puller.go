package transfer

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"manta/rpc"
	"manta/shm/store"
)

// Priority orders the chunk requests waiting for a connection to a peer:
// higher first, then first come first served.
type Priority int

// Priorities, lowest first.
const (
	// PriorityArg: the input of a task about to run.
	PriorityArg Priority = iota
	// PriorityWait: an object a Wait call is waiting for.
	PriorityWait
	// PriorityGet: an object a Get call is blocked on.
	PriorityGet
)

// Defaults of PullerConfig, measured on loopback (BenchmarkChunkTuning).
// rpc's client reads a large response straight from the socket into the
// caller's buffer (here the object's slot), so chunks may be large; at 4
// MiB the server's response buffers cost more than the fewer requests
// save, and 256 KiB with 8 in flight on each of 4 connections was fastest.
const (
	// DefaultChunkSize is the bytes asked for in one request.
	DefaultChunkSize = 256 << 10
	// DefaultConnsPerPeer is the connections to each peer.
	DefaultConnsPerPeer = 4
	// DefaultDepth is the requests in flight on each connection.
	DefaultDepth = 8
	// DefaultStallTimeout bounds one chunk request.
	DefaultStallTimeout = 10 * time.Second
)

// ErrTransferFailed: no listed peer could serve the object. It wraps the
// cause from each peer tried (errors.Is finds ErrObjectNotFound,
// rpc.ErrUnauthenticated, rpc.ErrUnavailable, context.DeadlineExceeded
// for a stalled peer, ...).
var ErrTransferFailed = errors.New("transfer: transfer failed")

// ErrClosed: the Puller was closed.
var ErrClosed = errors.New("transfer: puller closed")

// PullerConfig configures a Puller. Store and Token are required.
type PullerConfig struct {
	// Store is the local store objects are copied into.
	Store *store.Store
	// Token is the cluster token, proved to the peers' Servers.
	Token []byte
	// ChunkSize is the unit of transfer: one request per chunk. Default
	// DefaultChunkSize; at most the peers' MaxChunk.
	ChunkSize int
	// ConnsPerPeer is the number of TCP connections to each peer, over
	// which one object's chunks are striped. Default DefaultConnsPerPeer.
	ConnsPerPeer int
	// Depth is the number of chunk requests in flight on each connection.
	// Default DefaultDepth.
	Depth int
	// StallTimeout bounds one chunk request: a peer that does not answer
	// in time is treated as failed and the chunk is asked of the next
	// listed peer. Default DefaultStallTimeout.
	StallTimeout time.Duration
}

// Puller copies objects from peers' stores into the local one. Its
// methods are safe for concurrent use.
type Puller struct {
	cfg  PullerConfig
	st   *store.Store
	view *store.View

	mu     sync.Mutex
	closed bool
	peers  map[string]*peer
	pulls  map[store.ID]*pull

	onJoin func() // tests: a Pull joined one in flight
}

// pull is one object being pulled; later Pulls of the same object wait
// for it.
type pull struct {
	prio   atomic.Int64 // the highest priority asked for
	done   chan struct{}
	err    error // set before done closes
	ctxErr bool  // err came from its caller's context ending
}

func (op *pull) raise(p Priority) {
	for {
		old := op.prio.Load()
		if int64(p) <= old || op.prio.CompareAndSwap(old, int64(p)) {
			return
		}
	}
}

// NewPuller makes a Puller for cfg.Store. Connections are made on the
// first pull from each peer.
func NewPuller(cfg PullerConfig) (*Puller, error) {
	if cfg.Store == nil {
		return nil, errors.New("transfer: PullerConfig.Store is required")
	}
	if len(cfg.Token) == 0 {
		return nil, errors.New("transfer: PullerConfig.Token is required")
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	if cfg.ChunkSize < 0 || cfg.ChunkSize > maxChunk {
		return nil, fmt.Errorf("transfer: ChunkSize %d out of range (1..%d)", cfg.ChunkSize, maxChunk)
	}
	if cfg.ConnsPerPeer <= 0 {
		cfg.ConnsPerPeer = DefaultConnsPerPeer
	}
	if cfg.Depth <= 0 {
		cfg.Depth = DefaultDepth
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	view, err := store.NewView(cfg.Store.Segment())
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	return &Puller{
		cfg:   cfg,
		st:    cfg.Store,
		view:  view,
		peers: make(map[string]*peer),
		pulls: make(map[store.ID]*pull),
	}, nil
}

// Close closes the connections to every peer; pulls in flight fail.
func (p *Puller) Close() error {
	p.mu.Lock()
	p.closed = true
	peers := p.peers
	p.peers = nil
	p.mu.Unlock()
	for _, pe := range peers {
		pe.close()
	}
	return nil
}

// Pull copies object id, of size bytes, from one of the peers at the
// addresses in from (their Servers' Addr) into the local store, and
// returns once it is sealed there. It returns nil at once if the local
// store already holds the object sealed.
//
// The object is created first, as a local Create would be: when the
// store is full of pinned objects, Pull waits for room until ctx ends or
// the store's PutTimeout passes, then fails with store.ErrFull
// (store.ErrTooLarge fails at once). Its chunks are
// then fetched in parallel over the peer's connections, written in place
// and the object sealed; on any failure the object is aborted, so a
// half-written copy is never visible. A peer that fails or stalls is
// dropped for this pull and the chunks still missing are asked of the
// next one in from; when none is left Pull fails with ErrTransferFailed.
//
// A Pull of an object already being pulled waits for that pull (raising
// its priority to prio) and returns its outcome; if that one failed only
// because its caller's context ended, this one takes over.
func (p *Puller) Pull(ctx context.Context, id store.ID, size int64, from []string, prio Priority) error {
	if size < 0 {
		return fmt.Errorf("transfer: object %v: negative size %d", id, size)
	}
	if len(from) == 0 {
		return fmt.Errorf("%w: object %v: no peer to pull it from", ErrTransferFailed, id)
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return ErrClosed
		}
		if op := p.pulls[id]; op != nil {
			op.raise(prio)
			p.mu.Unlock()
			if p.onJoin != nil {
				p.onJoin()
			}
			select {
			case <-op.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if op.ctxErr && ctx.Err() == nil {
				continue
			}
			return op.err
		}
		op := &pull{done: make(chan struct{})}
		op.prio.Store(int64(prio))
		p.pulls[id] = op
		p.mu.Unlock()

		err := p.run(ctx, op, id, size, from)
		op.err = err
		op.ctxErr = err != nil && ctx.Err() != nil
		p.mu.Lock()
		delete(p.pulls, id)
		p.mu.Unlock()
		close(op.done)
		return err
	}
}

// run carries out one pull.
func (p *Puller) run(ctx context.Context, op *pull, id store.ID, size int64, from []string) error {
	// Waits for room as a local Create does: until ctx ends or the
	// store's PutTimeout passes, for a pull may be all a Get waits on.
	sl, err := p.st.Create(ctx, id, size)
	if errors.Is(err, store.ErrExists) {
		// Here already, or being written by someone else.
		if _, perr := p.st.Pin(ctx, id); perr == nil {
			p.st.Unpin(id)
			return nil
		}
		return fmt.Errorf("transfer: object %v: %w", id, err)
	}
	if err != nil {
		return fmt.Errorf("transfer: object %v: %w", id, err)
	}
	if err := p.fill(ctx, op, id, sl, from); err != nil {
		p.st.Abort(id)
		return err
	}
	if err := p.st.Seal(id); err != nil {
		p.st.Abort(id)
		return fmt.Errorf("transfer: object %v: %w", id, err)
	}
	return nil
}

// peerSet tracks the peers of one pull: the one being asked, the causes
// of those dropped, and the references it holds on their connections.
type peerSet struct {
	p      *Puller
	mu     sync.Mutex
	from   []string
	cur    int     // the first peer not known to have failed
	pe     *peer   // from[cur]'s connections, once dialled
	held   []*peer // references to give back
	causes []error // why each dropped peer was dropped
}

// current returns the index of the peer to ask and its connections; k is
// -1 when none is left.
func (ps *peerSet) current() (k int, pe *peer, err error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.cur >= len(ps.from) {
		return -1, nil, nil
	}
	if ps.pe == nil {
		if ps.pe, err = ps.p.peer(ps.from[ps.cur]); err != nil {
			return 0, nil, err
		}
		ps.held = append(ps.held, ps.pe)
	}
	return ps.cur, ps.pe, nil
}

// fail drops peer k (once) with err as the cause.
func (ps *peerSet) fail(k int, err error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if k != ps.cur {
		return
	}
	ps.causes = append(ps.causes, fmt.Errorf("peer %s: %w", ps.from[k], err))
	ps.cur++
	if ps.pe != nil && connFailure(err) {
		ps.p.forget(ps.pe) // the next pull dials afresh
	}
	ps.pe = nil
}

// connFailure reports an error that says the peer is unreachable, refuses
// this node or stalls, rather than that it lacks the object.
func connFailure(err error) bool {
	return errors.Is(err, rpc.ErrUnavailable) || errors.Is(err, rpc.ErrUnauthenticated) ||
		errors.Is(err, context.DeadlineExceeded)
}

// release gives back the references of the pull.
func (ps *peerSet) release() {
	for _, pe := range ps.held {
		ps.p.put(pe)
	}
	ps.held = nil
}

func (ps *peerSet) err(id store.ID) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return fmt.Errorf("%w: object %v: %w", ErrTransferFailed, id, errors.Join(ps.causes...))
}

// fill fetches every chunk of the object into its slot.
func (p *Puller) fill(ctx context.Context, op *pull, id store.ID, sl store.Slot, from []string) error {
	dst, err := p.view.Writable(sl)
	if err != nil {
		return fmt.Errorf("transfer: object %v: %w", id, err)
	}
	size := sl.Size
	chunk := int64(p.cfg.ChunkSize)
	nchunks := max(1, (size+chunk-1)/chunk) // one empty chunk checks that a peer has an empty object
	workers := int(min(nchunks, int64(p.cfg.ConnsPerPeer*p.cfg.Depth)))
	ps := &peerSet{p: p, from: from}
	defer ps.release()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	work := func() {
		defer wg.Done()
		buf := make([]byte, 0, RequestSize)
		for {
			i := next.Add(1) - 1
			if i >= nchunks {
				return
			}
			off := i * chunk
			n := min(chunk, size-off)
			r := Request{ID: id, Size: size, Offset: off, Length: int(n)}
			if err := p.fetch(ctx, op, ps, r, dst[off:off+n], buf); err != nil {
				errOnce.Do(func() { firstErr = err })
				cancel()
				return
			}
		}
	}
	wg.Add(workers)
	for range workers - 1 {
		go work()
	}
	work()
	wg.Wait()
	return firstErr
}

// fetch copies one chunk into dst from the first peer that can serve it.
func (p *Puller) fetch(ctx context.Context, op *pull, ps *peerSet, r Request, dst, buf []byte) error {
	req, err := r.AppendBinary(buf[:0])
	if err != nil {
		return err
	}
	for {
		k, pe, err := ps.current()
		if err != nil {
			return err
		}
		if k < 0 {
			return ps.err(r.ID)
		}
		err = p.call(ctx, pe, Priority(op.prio.Load()), req, dst)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("transfer: object %v: %w", r.ID, ctx.Err())
		}
		if errors.Is(err, rpc.ErrClosed) {
			return ErrClosed
		}
		ps.fail(k, err)
	}
}

// call fetches one chunk from pe, within StallTimeout. A call's deadline
// is its context's, or the clients' Timeout (StallTimeout) when it has
// none: only a context with a later deadline needs one of its own.
func (p *Puller) call(ctx context.Context, pe *peer, prio Priority, req, dst []byte) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) > p.cfg.StallTimeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.StallTimeout)
		defer cancel()
	}
	return pe.fetch(ctx, prio, req, dst)
}

// peer returns the connections to addr, dialling them the first time,
// with a reference the caller gives back with put.
func (p *Puller) peer(addr string) (*peer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if pe := p.peers[addr]; pe != nil {
		pe.refs++
		return pe, nil
	}
	pe := &peer{addr: addr, refs: 1}
	for range p.cfg.ConnsPerPeer {
		c, err := rpc.Dial(rpc.ClientConfig{
			Addr:  addr,
			Token: p.cfg.Token,
			// Room for an error message even with tiny chunks.
			MaxFrame: max(p.cfg.ChunkSize, 4<<10),
			Timeout:  p.cfg.StallTimeout,
			FailFast: true,
		})
		if err != nil {
			pe.close()
			return nil, fmt.Errorf("transfer: peer %s: %w", addr, err)
		}
		pe.conns = append(pe.conns, c)
	}
	slots := p.cfg.ConnsPerPeer * p.cfg.Depth
	pe.free = make([]int, slots)
	for i := range pe.free {
		pe.free[i] = slots - 1 - i // slot i uses connection i % ConnsPerPeer
	}
	p.peers[addr] = pe
	return pe, nil
}

// forget drops pe from the Puller's peers: its connections close when the
// last pull using them is done.
func (p *Puller) forget(pe *peer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.peers[pe.addr] == pe {
		delete(p.peers, pe.addr)
	}
	pe.forgotten = true
}

// put gives back a reference from peer.
func (p *Puller) put(pe *peer) {
	p.mu.Lock()
	pe.refs--
	last := pe.refs == 0 && pe.forgotten
	p.mu.Unlock()
	if last {
		pe.close()
	}
}

// peer is the connections to one peer and the queue in front of their
// request slots.
type peer struct {
	addr  string
	conns []*rpc.Client

	// Guarded by the Puller's mu.
	refs      int  // pulls using it
	forgotten bool // no longer in the Puller's peers

	mu      sync.Mutex
	free    []int // free slots
	waiting waitHeap
	seq     uint64
}

func (pe *peer) close() {
	for _, c := range pe.conns {
		c.Close()
	}
}

// fetch sends one chunk request when a slot is free and reads the
// response straight into dst.
func (pe *peer) fetch(ctx context.Context, prio Priority, req, dst []byte) error {
	slot, err := pe.acquire(ctx, prio)
	if err != nil {
		return err
	}
	resp, err := pe.conns[slot%len(pe.conns)].Call(ctx, MethodChunk, req, dst[:0:len(dst)])
	pe.release(slot)
	if err != nil {
		return fromRemote(err)
	}
	if len(resp) != len(dst) {
		return fmt.Errorf("%w: answered %d bytes for a chunk of %d", ErrPeer, len(resp), len(dst))
	}
	if len(dst) > 0 && &resp[0] != &dst[0] {
		copy(dst, resp) // cannot happen with an exact fit; kept for safety
	}
	return nil
}

// waiter is a chunk request waiting for a slot.
type waiter struct {
	prio  Priority
	seq   uint64
	index int
	slot  chan int
}

// acquire returns a free slot, waiting in priority order.
func (pe *peer) acquire(ctx context.Context, prio Priority) (int, error) {
	pe.mu.Lock()
	if len(pe.free) > 0 && len(pe.waiting) == 0 {
		s := pe.free[len(pe.free)-1]
		pe.free = pe.free[:len(pe.free)-1]
		pe.mu.Unlock()
		return s, nil
	}
	pe.seq++
	w := &waiter{prio: prio, seq: pe.seq, slot: make(chan int, 1)}
	heap.Push(&pe.waiting, w)
	pe.mu.Unlock()
	select {
	case s := <-w.slot:
		return s, nil
	case <-ctx.Done():
	}
	pe.mu.Lock()
	if w.index >= 0 {
		heap.Remove(&pe.waiting, w.index)
		pe.mu.Unlock()
		return 0, ctx.Err()
	}
	pe.mu.Unlock()
	pe.release(<-w.slot) // granted meanwhile: pass it on
	return 0, ctx.Err()
}

// release frees slot, handing it to the first waiter if any.
func (pe *peer) release(slot int) {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	if len(pe.waiting) > 0 {
		w := heap.Pop(&pe.waiting).(*waiter)
		w.slot <- slot
		return
	}
	pe.free = append(pe.free, slot)
}

// waitHeap orders waiters by priority (highest first), then arrival.
type waitHeap []*waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio > h[j].prio
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *waitHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*h = old[:len(old)-1]
	return w
}
