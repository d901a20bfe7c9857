package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs"
	"manta/gcs/chain"
	"manta/gcs/internal/proto"
	"manta/rpc"
)

// Config configures a Client.
type Config struct {
	// Monitor is the monitor's address (what `manta start --head`
	// prints). Required.
	Monitor string
	// Token is the cluster token. Required.
	Token []byte
	// Timeout bounds an operation whose context has no deadline, retries
	// included. Default 10 s.
	Timeout time.Duration
	// MaxBatch is the most operations one frame carries; MaxInflight the
	// frames in flight per shard for writes and again for reads.
	// Defaults 512 and 4.
	MaxBatch, MaxInflight int
	// Logger receives what goes wrong; nil means slog.Default().
	Logger *slog.Logger
	// Clock paces retries and gives operations their deadlines (and so
	// the deadlines of the calls that carry them); nil means the real
	// clock.
	Clock clockwork.Clock
	// Fault, if set, delays or drops the calls to replicas (tests).
	Fault *rpc.FaultInjection
}

// Client talks to a replicated GCS: writes go to each shard's head, reads
// and subscriptions to its tail. Concurrent operations on a shard share
// frames. When a replica redirects it, refuses the connection or dies in
// the middle of a call, the client learns the new chain (from the
// redirect, or by reporting the replica to the monitor) and retries, until
// the operation's deadline: a write either completes or fails visibly,
// and a retried write is applied once (each carries the client's ID and a
// request number the replicas remember). It is safe for concurrent use.
type Client struct {
	cfg     Config
	log     *slog.Logger
	clock   clockwork.Clock
	id      uint64
	mon     *rpc.Client
	writers []*batcher
	readers []*batcher

	mu      sync.Mutex
	chains  []chain.Chain
	version uint64 // counts chain updates
	conns   map[string]*rpc.Client
	closed  bool

	reqMu       sync.Mutex
	nextReq     uint64
	low         uint64 // every request below it has finished
	outstanding map[uint64]struct{}
}

var _ gcs.API = (*Client)(nil)

// Dial connects to a replicated GCS through its monitor.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Monitor == "" || len(cfg.Token) == 0 {
		return nil, errors.New("gcs: client.Config needs Monitor and Token")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 4
	}
	c := &Client{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, id: rand.Uint64N(1<<63-1) + 1,
		conns: map[string]*rpc.Client{}, low: 1, outstanding: map[uint64]struct{}{}}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.clock == nil {
		c.clock = clockwork.NewRealClock()
	}
	mon, err := rpc.Dial(rpc.ClientConfig{Addr: cfg.Monitor, Token: cfg.Token, Timeout: cfg.Timeout, Clock: c.clock})
	if err != nil {
		return nil, err
	}
	c.mon = mon
	resp, err := mon.Call(ctx, proto.MethodChains, nil, nil)
	if err == nil {
		c.chains, err = proto.DecodeChains(resp)
	}
	if err != nil {
		mon.Close()
		return nil, fmt.Errorf("gcs: cannot get the chains from the monitor at %s: %w", cfg.Monitor, err)
	}
	for shard := range c.chains {
		c.writers = append(c.writers, &batcher{max: cfg.MaxInflight, maxBatch: cfg.MaxBatch,
			send: func(b []*call) { c.send(shard, b, false) }})
		c.readers = append(c.readers, &batcher{max: cfg.MaxInflight, maxBatch: cfg.MaxBatch,
			send: func(b []*call) { c.send(shard, b, true) }})
	}
	return c, nil
}

// Close closes the client's connections.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	conns := c.conns
	c.conns = nil
	c.mu.Unlock()
	for _, cl := range conns {
		cl.Close()
	}
	return c.mon.Close()
}

func (c *Client) deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return c.clock.Now().Add(c.cfg.Timeout)
}

// Apply applies one write, retrying through failures until ctx's deadline.
func (c *Client) Apply(ctx context.Context, op gcs.Op) error {
	if !op.Table.Valid() {
		return fmt.Errorf("%w: unknown table %d", gcs.ErrBadOp, uint8(op.Table))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	shard := gcs.ShardOf(op.Table, op.Key, len(c.writers))
	cl := getCall()
	cl.op, cl.deadline = op, c.deadline(ctx)
	cl.req = c.newReq()
	c.writers[shard].do(cl)
	c.doneReq(cl.req)
	err := cl.err
	putCall(cl)
	return err
}

// Put sets the value of key in a value table.
func (c *Client) Put(ctx context.Context, t gcs.Table, key, value []byte) error {
	return c.Apply(ctx, gcs.Op{Kind: gcs.OpPut, Table: t, Key: key, Value: value})
}

// Append appends member to key's log in a log table.
func (c *Client) Append(ctx context.Context, t gcs.Table, key, member []byte) error {
	return c.Apply(ctx, gcs.Op{Kind: gcs.OpAppend, Table: t, Key: key, Value: member})
}

// Add adds member to key's set in a set table.
func (c *Client) Add(ctx context.Context, t gcs.Table, key, member []byte) error {
	return c.Apply(ctx, gcs.Op{Kind: gcs.OpAdd, Table: t, Key: key, Value: member})
}

// Remove removes member from key's set in a set table.
func (c *Client) Remove(ctx context.Context, t gcs.Table, key, member []byte) error {
	return c.Apply(ctx, gcs.Op{Kind: gcs.OpRemove, Table: t, Key: key, Value: member})
}

// Delete removes key from t.
func (c *Client) Delete(ctx context.Context, t gcs.Table, key []byte) error {
	return c.Apply(ctx, gcs.Op{Kind: gcs.OpDelete, Table: t, Key: key})
}

// Get appends the value of key to dst, reading from the shard's tail.
func (c *Client) Get(ctx context.Context, t gcs.Table, key, dst []byte) ([]byte, bool, error) {
	if !t.Valid() {
		return dst, false, fmt.Errorf("%w: unknown table %d", gcs.ErrBadOp, uint8(t))
	}
	if err := ctx.Err(); err != nil {
		return dst, false, err
	}
	shard := gcs.ShardOf(t, key, len(c.readers))
	cl := getCall()
	cl.op.Table, cl.op.Key, cl.dst, cl.deadline = t, key, dst, c.deadline(ctx)
	c.readers[shard].do(cl)
	dst, found, err := cl.dst, cl.found, cl.err
	putCall(cl)
	return dst, found, err
}

func (c *Client) newReq() uint64 {
	c.reqMu.Lock()
	c.nextReq++
	r := c.nextReq
	c.outstanding[r] = struct{}{}
	c.reqMu.Unlock()
	return r
}

func (c *Client) doneReq(r uint64) {
	c.reqMu.Lock()
	delete(c.outstanding, r)
	for c.low <= c.nextReq {
		if _, ok := c.outstanding[c.low]; ok {
			break
		}
		c.low++
	}
	c.reqMu.Unlock()
}

func (c *Client) lowReq() uint64 {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	return c.low
}

// chain returns shard's chain and the chain version.
func (c *Client) chain(shard int) (chain.Chain, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.chains[shard], c.version
}

// learn takes a chain if it is newer than the one known, and closes the
// connections to replicas no chain holds any more: each would otherwise
// redial its dead address for as long as the client lives.
func (c *Client) learn(ch chain.Chain) bool {
	c.mu.Lock()
	if int(ch.Shard) >= len(c.chains) || ch.Epoch <= c.chains[ch.Shard].Epoch {
		c.mu.Unlock()
		return false
	}
	c.chains[ch.Shard] = ch.Clone()
	c.version++
	var gone []*rpc.Client
	for addr, cl := range c.conns {
		if !c.holdsLocked(addr) {
			delete(c.conns, addr)
			gone = append(gone, cl)
		}
	}
	c.mu.Unlock()
	for _, cl := range gone {
		cl.Close() // fails its calls in flight with rpc.ErrClosed: they retry
	}
	return true
}

// holdsLocked reports whether some chain has a replica at addr.
func (c *Client) holdsLocked(addr string) bool {
	for _, ch := range c.chains {
		if _, ok := ch.MemberAt(addr); ok {
			return true
		}
	}
	return false
}

// stale reports whether the chains changed since version.
func (c *Client) stale(version uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version != version
}

// refresh asks the monitor for the chains, or (id != 0) reports replica
// id as suspected dead first. It does nothing if the chains changed since
// version.
func (c *Client) refresh(ctx context.Context, version uint64, id chain.ReplicaID) {
	if c.stale(version) {
		return
	}
	method, req := proto.MethodChains, []byte(nil)
	if id != 0 {
		method, req = proto.MethodSuspect, proto.AppendUvarints(nil, uint64(id))
	}
	c.askMonitor(ctx, method, req)
}

// awaitNewer asks the monitor for the chains once shard's epoch passes
// epoch (or a short while has passed): a replica redirected us with the
// chain we know, so a change is under way (a joiner being promoted, say).
func (c *Client) awaitNewer(ctx context.Context, version uint64, shard int, epoch uint64) {
	if c.stale(version) {
		return
	}
	c.askMonitor(ctx, proto.MethodChains, proto.AppendUvarints(nil, uint64(shard), epoch))
}

// askMonitor learns the chains the monitor answers method with.
func (c *Client) askMonitor(ctx context.Context, method rpc.Method, req []byte) {
	resp, err := c.mon.Call(ctx, method, req, nil)
	if err != nil {
		return
	}
	chains, err := proto.DecodeChains(resp)
	if err != nil {
		c.log.Warn("gcs: bad chains from the monitor", "monitor", c.cfg.Monitor, "err", err)
		return
	}
	for _, ch := range chains {
		c.learn(ch)
	}
}

// errLeft answers a request for a connection to a replica that left the
// chains since its caller looked: the caller looks again.
var errLeft = errors.New("gcs: the replica left its chain")

// conn returns the connection to a replica in the chains.
func (c *Client) conn(addr string) (*rpc.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, gcs.ErrClosed
	}
	if cl := c.conns[addr]; cl != nil {
		return cl, nil
	}
	if !c.holdsLocked(addr) {
		return nil, errLeft // a connection made now would never be closed
	}
	cl, err := rpc.Dial(rpc.ClientConfig{Addr: addr, Token: c.cfg.Token, FailFast: true, MaxPending: 4 * c.cfg.MaxInflight,
		DialTimeout: time.Second, Backoff: rpc.Backoff{Min: time.Millisecond, Max: 100 * time.Millisecond}, Clock: c.clock, Fault: c.cfg.Fault})
	if err != nil {
		return nil, err
	}
	c.conns[addr] = cl
	return cl, nil
}

// retry paces attempts that learned nothing new: 250 µs, doubling to
// 20 ms.
type retry struct {
	clock clockwork.Clock
	wait  time.Duration
}

func (r *retry) sleep(ctx context.Context, changed bool) {
	if changed {
		r.wait = 0
		return
	}
	r.wait = min(max(2*r.wait, 250*time.Microsecond), 20*time.Millisecond)
	t := r.clock.NewTimer(r.wait)
	defer t.Stop()
	select {
	case <-t.Chan():
	case <-ctx.Done():
	}
}

// expired reports whether ctx is done without asking ctx.Err, which a
// fake clock's context answers only once done.
func expired(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// expire fails the calls of a batch whose deadline passed and returns the
// others, with the latest of their deadlines.
func expire(batch []*call, now time.Time) ([]*call, time.Time) {
	var latest time.Time
	live := batch[:0]
	for _, cl := range batch {
		if !now.Before(cl.deadline) {
			cl.err = fmt.Errorf("%w: no replica completed the operation before its deadline", gcs.ErrUnavailable)
			continue
		}
		if cl.deadline.After(latest) {
			latest = cl.deadline
		}
		live = append(live, cl)
	}
	return live, latest
}

// send sends a batch of writes to shard's head, or of reads to its tail,
// until every one has an outcome.
func (c *Client) send(shard int, batch []*call, reads bool) {
	sc := scratchPool.Get().(*scratch)
	defer sc.put()
	sc.pending = append(sc.pending[:0], batch...)
	pending, buf, resp, results := sc.pending, sc.buf, sc.resp, sc.results
	defer func() { sc.buf, sc.resp, sc.results = buf, resp, results }()
	r := retry{clock: c.clock}
	for {
		var latest time.Time
		if pending, latest = expire(pending, c.clock.Now()); len(pending) == 0 {
			return
		}
		ctx, cancel := clockwork.WithDeadline(context.Background(), c.clock, latest)
		ch, version := c.chain(shard)
		to, method := ch.Head(), proto.MethodWrite
		if reads {
			to, method = ch.Tail(), proto.MethodRead
		}
		if to.ID == 0 {
			c.refresh(ctx, version, 0)
			r.sleep(ctx, false)
			cancel()
			continue
		}
		cli, err := c.conn(to.Addr)
		if errors.Is(err, errLeft) {
			cancel()
			continue // the chain changed: go where it says
		}
		if err != nil {
			cancel()
			failAll(pending, err)
			return
		}
		buf = c.appendRequest(buf[:0], sc, pending, reads)
		resp, err = cli.Call(ctx, method, buf, resp[:0])
		var redirect bool
		var rch chain.Chain
		if err == nil {
			results, redirect, err = proto.DecodeResults(resp, reads, results, &rch)
			if err == nil && !redirect && len(results) != len(pending) {
				err = fmt.Errorf("%w: %d results for %d operations", gcs.ErrMalformed, len(results), len(pending))
			}
		}
		process, failed := c.settle(ctx, &r, err, redirect, rch, ch, version, shard, to.ID, pending)
		switch {
		case failed:
			cancel()
			return
		case process:
			retryable := pending[:0]
			for i, res := range results {
				cl := pending[i]
				switch {
				case res.Code == proto.CodeUnavailable:
					retryable = append(retryable, cl)
				case res.Code != proto.CodeOK:
					cl.err = proto.CodeError(res.Code, res.Msg)
				case res.Found:
					cl.dst = append(cl.dst, res.Value...)
					cl.found = true
				}
			}
			pending = retryable
			if len(pending) > 0 {
				if !reads {
					// The head could not commit them: its chain may be
					// changing.
					c.refresh(ctx, version, 0)
				}
				r.sleep(ctx, false)
			}
		}
		cancel()
	}
}

// appendRequest encodes the write or read request for pending.
func (c *Client) appendRequest(dst []byte, sc *scratch, pending []*call, reads bool) []byte {
	if reads {
		rr := &sc.r
		rr.Tables, rr.Keys = rr.Tables[:0], rr.Keys[:0]
		for _, cl := range pending {
			rr.Tables = append(rr.Tables, cl.op.Table)
			rr.Keys = append(rr.Keys, cl.op.Key)
		}
		return proto.AppendReadRequest(dst, rr)
	}
	w := &sc.w
	w.Client, w.Acked = c.id, c.lowReq()
	w.Reqs, w.Ops = w.Reqs[:0], w.Ops[:0]
	for _, cl := range pending {
		w.Reqs = append(w.Reqs, cl.req)
		w.Ops = append(w.Ops, cl.op)
	}
	return proto.AppendWriteRequest(dst, w)
}

// settle deals with a batch call that gave no per-operation results: a
// replica that cannot be reached (the monitor is asked to check it, and the
// batch retried where it says), a deadline (expire fails the calls next
// round), another failure (every call fails), or a redirect (learn the
// newer chain, or wait for one while a change is under way). It reports
// whether the results are there to process, and whether the batch failed.
func (c *Client) settle(ctx context.Context, r *retry, err error, redirect bool, rch, ch chain.Chain, version uint64, shard int, to chain.ReplicaID, pending []*call) (process, failed bool) {
	switch {
	case err != nil && errors.Is(err, rpc.ErrUnavailable):
		c.refresh(ctx, version, to)
		_, v := c.chain(shard)
		r.sleep(ctx, v != version)
	case err != nil && (errors.Is(err, rpc.ErrClosed) || expired(ctx)):
	case err != nil:
		failAll(pending, err)
		return false, true
	case redirect:
		changed := c.learn(rch)
		if !changed && rch.Epoch == ch.Epoch {
			// The replica knows our chain yet refuses: a change is under
			// way. (One that knows an older chain will learn.)
			c.awaitNewer(ctx, version, shard, ch.Epoch)
			_, v := c.chain(shard)
			changed = v != version
		}
		r.sleep(ctx, changed)
	default:
		return true, false
	}
	return false, false
}

func failAll(batch []*call, err error) {
	for _, cl := range batch {
		cl.err = err
	}
}

// scratch is what sending one batch needs, pooled.
type scratch struct {
	pending   []*call
	w         proto.WriteRequest
	r         proto.ReadRequest
	buf, resp []byte
	results   []proto.Result
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (sc *scratch) put() {
	if cap(sc.buf) > 4<<20 || cap(sc.resp) > 4<<20 {
		return // do not keep huge buffers
	}
	clear(sc.pending)
	clear(sc.w.Ops)
	clear(sc.r.Keys)
	clear(sc.results)
	scratchPool.Put(sc)
}
