package gcs

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"manta/rpc"
)

// API is what both the embedded Store and the remote Client offer.
type API interface {
	Apply(ctx context.Context, op Op) error
	Put(ctx context.Context, t Table, key, value []byte) error
	Append(ctx context.Context, t Table, key, member []byte) error
	Add(ctx context.Context, t Table, key, member []byte) error
	Remove(ctx context.Context, t Table, key, member []byte) error
	Delete(ctx context.Context, t Table, key []byte) error
	Get(ctx context.Context, t Table, key, dst []byte) ([]byte, bool, error)
	Subscribe(ctx context.Context, t Table, key []byte) (*Subscription, error)
	Close() error
}

var (
	_ API = (*Store)(nil)
	_ API = (*Client)(nil)
)

// ClientConfig configures a Client.
type ClientConfig struct {
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
	// Logf receives what goes wrong; default log.Printf.
	Logf func(format string, args ...any)
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
	cfg     ClientConfig
	id      uint64
	mon     *rpc.Client
	writers []*batcher
	readers []*batcher

	mu      sync.Mutex
	chains  []Chain
	version uint64 // counts chain updates
	conns   map[string]*rpc.Client
	closed  bool
	done    chan struct{}

	reqMu       sync.Mutex
	nextReq     uint64
	low         uint64 // every request below it has finished
	outstanding map[uint64]struct{}
}

// Dial connects to a replicated GCS through its monitor.
func Dial(ctx context.Context, cfg ClientConfig) (*Client, error) {
	if cfg.Monitor == "" || len(cfg.Token) == 0 {
		return nil, errors.New("gcs: ClientConfig needs Monitor and Token")
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
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	mon, err := rpc.Dial(rpc.ClientConfig{Addr: cfg.Monitor, Token: cfg.Token, Timeout: cfg.Timeout})
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, id: uint64(randomID()), mon: mon, conns: map[string]*rpc.Client{},
		done: make(chan struct{}), low: 1, outstanding: map[uint64]struct{}{}}
	resp, err := mon.Call(ctx, MethodChains, nil, nil)
	if err == nil {
		c.chains, err = decodeChains(resp)
	}
	if err != nil {
		mon.Close()
		return nil, fmt.Errorf("gcs: cannot get the chains from the monitor at %s: %w", cfg.Monitor, err)
	}
	for shard := range c.chains {
		c.writers = append(c.writers, &batcher{max: cfg.MaxInflight, maxBatch: cfg.MaxBatch,
			send: func(b []*call) { c.sendWrites(shard, b) }})
		c.readers = append(c.readers, &batcher{max: cfg.MaxInflight, maxBatch: cfg.MaxBatch,
			send: func(b []*call) { c.sendReads(shard, b) }})
	}
	return c, nil
}

// NumShards is S.
func (c *Client) NumShards() int { return len(c.writers) }

// Chains returns the chains the client knows.
func (c *Client) Chains() []Chain {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := make([]Chain, len(c.chains))
	for i := range cs {
		cs[i] = c.chains[i].Clone()
	}
	return cs
}

// Close closes the client's connections.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
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
	return time.Now().Add(c.cfg.Timeout)
}

// Apply applies one write, retrying through failures until ctx's deadline.
func (c *Client) Apply(ctx context.Context, op Op) error {
	if !op.Table.Valid() {
		return fmt.Errorf("%w: unknown table %d", ErrBadOp, uint8(op.Table))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	shard := ShardOf(op.Table, op.Key, len(c.writers))
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
func (c *Client) Put(ctx context.Context, t Table, key, value []byte) error {
	return c.Apply(ctx, Op{Kind: OpPut, Table: t, Key: key, Value: value})
}

// Append appends member to key's log in a log table.
func (c *Client) Append(ctx context.Context, t Table, key, member []byte) error {
	return c.Apply(ctx, Op{Kind: OpAppend, Table: t, Key: key, Value: member})
}

// Add adds member to key's set in a set table.
func (c *Client) Add(ctx context.Context, t Table, key, member []byte) error {
	return c.Apply(ctx, Op{Kind: OpAdd, Table: t, Key: key, Value: member})
}

// Remove removes member from key's set in a set table.
func (c *Client) Remove(ctx context.Context, t Table, key, member []byte) error {
	return c.Apply(ctx, Op{Kind: OpRemove, Table: t, Key: key, Value: member})
}

// Delete removes key from t.
func (c *Client) Delete(ctx context.Context, t Table, key []byte) error {
	return c.Apply(ctx, Op{Kind: OpDelete, Table: t, Key: key})
}

// Get appends the value of key to dst, reading from the shard's tail.
func (c *Client) Get(ctx context.Context, t Table, key, dst []byte) ([]byte, bool, error) {
	if !t.Valid() {
		return dst, false, fmt.Errorf("%w: unknown table %d", ErrBadOp, uint8(t))
	}
	if err := ctx.Err(); err != nil {
		return dst, false, err
	}
	shard := ShardOf(t, key, len(c.readers))
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
func (c *Client) chain(shard int) (Chain, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.chains[shard], c.version
}

// learn takes a chain if it is newer than the one known.
func (c *Client) learn(ch Chain) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(ch.Shard) >= len(c.chains) || ch.Epoch <= c.chains[ch.Shard].Epoch {
		return false
	}
	c.chains[ch.Shard] = ch.Clone()
	c.version++
	return true
}

// refresh asks the monitor for the chains, or (id != 0) reports replica
// id as suspected dead first. It does nothing if the chains changed since
// version.
func (c *Client) refresh(ctx context.Context, version uint64, id ReplicaID) {
	c.mu.Lock()
	stale := c.version != version
	c.mu.Unlock()
	if stale {
		return
	}
	method, req := MethodChains, []byte(nil)
	if id != 0 {
		method, req = MethodSuspect, appendUvarints(nil, uint64(id))
	}
	resp, err := c.mon.Call(ctx, method, req, nil)
	if err != nil {
		return
	}
	chains, err := decodeChains(resp)
	if err != nil {
		c.cfg.Logf("gcs: bad chains from the monitor: %v", err)
		return
	}
	for _, ch := range chains {
		c.learn(ch)
	}
}

// awaitNewer asks the monitor for the chains once shard's epoch passes
// epoch (or a short while has passed): a replica redirected us with the
// chain we know, so a change is under way (a joiner being promoted, say).
func (c *Client) awaitNewer(ctx context.Context, version uint64, shard int, epoch uint64) {
	c.mu.Lock()
	stale := c.version != version
	c.mu.Unlock()
	if stale {
		return
	}
	resp, err := c.mon.Call(ctx, MethodChains, appendUvarints(nil, uint64(shard), epoch), nil)
	if err != nil {
		return
	}
	if chains, err := decodeChains(resp); err == nil {
		for _, ch := range chains {
			c.learn(ch)
		}
	}
}

// conn returns the connection to a replica.
func (c *Client) conn(addr string) (*rpc.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if cl := c.conns[addr]; cl != nil {
		return cl, nil
	}
	cl, err := rpc.Dial(rpc.ClientConfig{Addr: addr, Token: c.cfg.Token, FailFast: true, MaxPending: 4 * c.cfg.MaxInflight,
		DialTimeout: time.Second, Backoff: rpc.Backoff{Min: time.Millisecond, Max: 100 * time.Millisecond}})
	if err != nil {
		return nil, err
	}
	c.conns[addr] = cl
	return cl, nil
}

// retry paces attempts that learned nothing new: 250 µs, doubling to
// 20 ms.
type retry struct{ wait time.Duration }

func (r *retry) sleep(ctx context.Context, changed bool) {
	if changed {
		r.wait = 0
		return
	}
	r.wait = min(max(2*r.wait, 250*time.Microsecond), 20*time.Millisecond)
	t := time.NewTimer(r.wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// latest is the latest deadline of a batch, or zero if every one passed
// (those calls are then failed).
func expire(batch []*call, now time.Time) ([]*call, time.Time) {
	var latest time.Time
	live := batch[:0]
	for _, cl := range batch {
		if !now.Before(cl.deadline) {
			cl.err = fmt.Errorf("%w: no replica completed the operation before its deadline", ErrUnavailable)
			continue
		}
		if cl.deadline.After(latest) {
			latest = cl.deadline
		}
		live = append(live, cl)
	}
	return live, latest
}

// sendWrites sends a batch of writes to shard's head until every one has
// an outcome.
func (c *Client) sendWrites(shard int, batch []*call) {
	sc := scratchPool.Get().(*scratch)
	defer sc.put()
	sc.pending = append(sc.pending[:0], batch...)
	pending, w, buf, resp, results := sc.pending, &sc.w, sc.buf, sc.resp, sc.results
	defer func() { sc.buf, sc.resp, sc.results = buf, resp, results }()
	var r retry
	for {
		var latest time.Time
		if pending, latest = expire(pending, time.Now()); len(pending) == 0 {
			return
		}
		ctx, cancel := context.WithDeadline(context.Background(), latest)
		ch, version := c.chain(shard)
		head := ch.Head()
		if head.ID == 0 {
			c.refresh(ctx, version, 0)
			r.sleep(ctx, false)
			cancel()
			continue
		}
		cli, err := c.conn(head.Addr)
		if err != nil {
			cancel()
			failAll(pending, err)
			return
		}
		w.client, w.acked = c.id, c.lowReq()
		w.reqs, w.ops = w.reqs[:0], w.ops[:0]
		for _, cl := range pending {
			w.reqs = append(w.reqs, cl.req)
			w.ops = append(w.ops, cl.op)
		}
		buf = appendWriteRequest(buf[:0], w)
		resp, err = cli.Call(ctx, MethodWrite, buf, resp[:0])
		var redirect bool
		var rch Chain
		if err == nil {
			results, redirect, err = decodeResults(resp, false, results, &rch)
			if err == nil && !redirect && len(results) != len(pending) {
				err = fmt.Errorf("%w: %d results for %d writes", ErrMalformed, len(results), len(pending))
			}
		}
		process, failed := c.settle(ctx, &r, err, redirect, rch, ch, version, shard, head.ID, pending)
		switch {
		case failed:
			cancel()
			return
		case process:
			retryable := pending[:0]
			for i, res := range results {
				cl := pending[i]
				if res.code == codeUnavailable {
					retryable = append(retryable, cl)
					continue
				}
				cl.err = codeError(res.code, res.msg)
			}
			pending = retryable
			if len(pending) > 0 {
				c.refresh(ctx, version, 0)
				r.sleep(ctx, false)
			}
		}
		cancel()
	}
}

// settle deals with a batch call that gave no per-operation results: a
// replica that cannot be reached (the monitor is asked to check it, and the
// batch retried where it says), a deadline (expire fails the calls next
// round), another failure (every call fails), or a redirect (learn the
// newer chain, or wait for one while a change is under way). It reports
// whether the results are there to process, and whether the batch failed.
func (c *Client) settle(ctx context.Context, r *retry, err error, redirect bool, rch, ch Chain, version uint64, shard int, to ReplicaID, pending []*call) (process, failed bool) {
	switch {
	case err != nil && errors.Is(err, rpc.ErrUnavailable):
		c.refresh(ctx, version, to)
		_, v := c.chain(shard)
		r.sleep(ctx, v != version)
	case err != nil && (errors.Is(err, rpc.ErrClosed) || ctx.Err() != nil):
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

// sendReads sends a batch of reads to shard's tail.
func (c *Client) sendReads(shard int, batch []*call) {
	sc := scratchPool.Get().(*scratch)
	defer sc.put()
	sc.pending = append(sc.pending[:0], batch...)
	pending, rr, buf, resp, results := sc.pending, &sc.r, sc.buf, sc.resp, sc.results
	defer func() { sc.buf, sc.resp, sc.results = buf, resp, results }()
	var r retry
	for {
		var latest time.Time
		if pending, latest = expire(pending, time.Now()); len(pending) == 0 {
			return
		}
		ctx, cancel := context.WithDeadline(context.Background(), latest)
		ch, version := c.chain(shard)
		tail := ch.Tail()
		if tail.ID == 0 {
			c.refresh(ctx, version, 0)
			r.sleep(ctx, false)
			cancel()
			continue
		}
		cli, err := c.conn(tail.Addr)
		if err != nil {
			cancel()
			failAll(pending, err)
			return
		}
		rr.tables, rr.keys = rr.tables[:0], rr.keys[:0]
		for _, cl := range pending {
			rr.tables = append(rr.tables, cl.op.Table)
			rr.keys = append(rr.keys, cl.op.Key)
		}
		buf = appendReadRequest(buf[:0], rr)
		resp, err = cli.Call(ctx, MethodRead, buf, resp[:0])
		var redirect bool
		var rch Chain
		if err == nil {
			results, redirect, err = decodeResults(resp, true, results, &rch)
			if err == nil && !redirect && len(results) != len(pending) {
				err = fmt.Errorf("%w: %d results for %d reads", ErrMalformed, len(results), len(pending))
			}
		}
		process, failed := c.settle(ctx, &r, err, redirect, rch, ch, version, shard, tail.ID, pending)
		switch {
		case failed:
			cancel()
			return
		case process:
			retryable := pending[:0]
			for i, res := range results {
				cl := pending[i]
				switch {
				case res.code == codeUnavailable:
					retryable = append(retryable, cl)
				case res.code != codeOK:
					cl.err = codeError(res.code, res.msg)
				case res.found:
					cl.dst = append(cl.dst, res.value...)
					cl.found = true
				}
			}
			pending = retryable
			if len(pending) > 0 {
				r.sleep(ctx, false)
			}
		}
		cancel()
	}
}

// scratch is what sending one batch needs, pooled.
type scratch struct {
	pending   []*call
	w         writeRequest
	r         readRequest
	buf, resp []byte
	results   []result
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (sc *scratch) put() {
	if cap(sc.buf) > 4<<20 || cap(sc.resp) > 4<<20 {
		return // do not keep huge buffers
	}
	clear(sc.pending)
	clear(sc.w.ops)
	clear(sc.r.keys)
	clear(sc.results)
	scratchPool.Put(sc)
}
