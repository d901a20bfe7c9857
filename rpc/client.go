package rpc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
)

// Client defaults.
const (
	// DefaultMaxPending bounds a Client's calls in flight.
	DefaultMaxPending = 1024
	// DefaultTimeout is the deadline of a call whose context has none.
	DefaultTimeout = 10 * time.Second
	// DefaultDialTimeout bounds one connection attempt (dial and handshake).
	DefaultDialTimeout = 2 * time.Second
	// DefaultBackoffMin and DefaultBackoffMax bound the wait between
	// connection attempts, which doubles after each failure.
	DefaultBackoffMin = 10 * time.Millisecond
	DefaultBackoffMax = time.Second
	// DefaultWriteTimeout bounds how long a connection's writer may go
	// without progress (see ClientConfig.WriteTimeout).
	DefaultWriteTimeout = 10 * time.Second

	// writeChunk is how much of a large frame the writer writes before it
	// records progress.
	writeChunk = 1 << 20

	connBufSize = 64 << 10
)

// Backoff bounds the wait between connection attempts: it starts at Min,
// doubles after each failed attempt up to Max, and is jittered by ±20%.
type Backoff struct{ Min, Max time.Duration }

// ClientConfig configures a Client. Addr and Token are required.
type ClientConfig struct {
	Addr  string
	Token []byte
	// MaxPending bounds the calls in flight; further calls wait for a slot
	// (within their deadlines). Default DefaultMaxPending.
	MaxPending int
	// MaxFrame limits a response's payload (and a request's, together with
	// the server's limit, which the handshake tells). Default
	// DefaultMaxFrame, at most MaxFrameLimit.
	MaxFrame int
	// Timeout is the deadline of a call whose context has none. Default
	// DefaultTimeout.
	Timeout time.Duration
	// DialTimeout bounds one connection attempt. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// WriteTimeout bounds how long the connection's writer may be stuck
	// on the socket without progress (a server that stopped reading): a
	// call that gives up while the writer has been stuck longer fails
	// the connection, which is then replaced. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Backoff paces reconnection. Defaults DefaultBackoffMin and
	// DefaultBackoffMax.
	Backoff Backoff
	// FailFast makes calls fail at once with ErrUnavailable while the
	// client has no connection and its last attempt failed (a caller that
	// can go to another replica wants to know now), instead of waiting
	// within their deadlines for the next attempt to succeed.
	FailFast bool
	// Fault, if set, delays or drops calls per method.
	Fault *FaultInjection
	// Clock times the calls' default Timeout, DialTimeout, the backoff
	// between connection attempts and injected delays (tests drive a
	// clockwork.FakeClock). A context's deadline is the context's own.
	// Default clockwork.NewRealClock().
	Clock clockwork.Clock
}

// Client calls one Server over one pipelined TCP connection. It connects
// eagerly in the background: Dial returns at once, and calls made before
// the connection is up wait for it within their deadlines. A broken
// connection is replaced, with backoff between failed attempts, for as
// long as the Client is open. A Client is safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	sem  chan struct{}
	cur  atomic.Pointer[clientConn]
	done chan struct{}
	// baseCtx is cancelled by Close, aborting a connection attempt.
	baseCtx context.Context
	cancel  context.CancelFunc
	// timers holds stopped timers of cfg.Clock for calls without a
	// context deadline, so that such a call allocates none.
	timers sync.Pool

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever cur or lastErr changes
	lastErr error         // why there is no connection
	closed  bool

	wg sync.WaitGroup
}

// Dial validates cfg and starts connecting to cfg.Addr in the background.
// It fails only on a bad config; an unreachable or refusing server shows
// in the calls (ErrUnavailable, ErrUnauthenticated).
func Dial(cfg ClientConfig) (*Client, error) {
	if cfg.Addr == "" {
		return nil, errors.New("rpc: ClientConfig.Addr is required")
	}
	if len(cfg.Token) == 0 {
		return nil, errors.New("rpc: ClientConfig.Token is required")
	}
	var err error
	if cfg.MaxFrame, err = maxFrameOr(cfg.MaxFrame); err != nil {
		return nil, err
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Backoff.Min <= 0 {
		cfg.Backoff.Min = DefaultBackoffMin
	}
	if cfg.Backoff.Max <= 0 {
		cfg.Backoff.Max = max(DefaultBackoffMax, cfg.Backoff.Min)
	}
	if cfg.Backoff.Max < cfg.Backoff.Min {
		return nil, fmt.Errorf("rpc: Backoff.Max %v below Backoff.Min %v", cfg.Backoff.Max, cfg.Backoff.Min)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	cfg.Token = append([]byte(nil), cfg.Token...)
	c := &Client{
		cfg:     cfg,
		sem:     make(chan struct{}, cfg.MaxPending),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	c.baseCtx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.connectLoop()
	return c, nil
}

// Addr is the server address the Client calls.
func (c *Client) Addr() string { return c.cfg.Addr }

// Close fails the calls in flight with ErrClosed, closes the connection and
// stops reconnecting. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	return nil
}

// Call sends req to method m and appends the response to resp.
//
// The call's deadline is ctx's, or Timeout from now if ctx has none; the
// server is told it too (Ctx.Deadline). Call returns by the deadline
// whatever the network does: with context.DeadlineExceeded if the server
// did not answer in time, with ErrUnavailable (wrapping
// context.DeadlineExceeded and the last connection error) if no
// connection could be made in time, with ctx.Err() if ctx is cancelled.
// A handler's error comes back as a *RemoteError. On error resp is
// returned unchanged.
func (c *Client) Call(ctx context.Context, m Method, req []byte, resp []byte) ([]byte, error) {
	if len(req) > c.cfg.MaxFrame {
		return resp, c.tooLarge(m, len(req), c.cfg.MaxFrame, "this client's")
	}
	now := c.cfg.Clock.Now()
	deadline, hasDeadline := ctx.Deadline()
	if !hasDeadline {
		deadline = now.Add(c.cfg.Timeout)
	}
	budget := deadline.Sub(now)
	if budget <= 0 {
		return resp, c.expired(m, context.DeadlineExceeded)
	}
	var timerC <-chan time.Time
	if !hasDeadline {
		t := c.getTimer(budget)
		defer c.putTimer(t)
		timerC = t.Chan()
	}
	ctxDone := ctx.Done()

	select {
	case c.sem <- struct{}{}:
	default:
		select {
		case c.sem <- struct{}{}:
		case <-ctxDone:
			return resp, c.expired(m, ctx.Err())
		case <-timerC:
			return resp, c.expired(m, context.DeadlineExceeded)
		case <-c.done:
			return resp, ErrClosed
		}
	}
	defer func() { <-c.sem }()

	if delay, drop := c.cfg.Fault.plan(m); delay > 0 || drop {
		if err := c.fault(ctx, m, delay, drop, timerC); err != nil {
			return resp, err
		}
	}

	for {
		cn, err := c.connection(ctx, ctxDone, timerC)
		if err != nil {
			return resp, err
		}
		if len(req) > cn.limit {
			return resp, c.tooLarge(m, len(req), cn.limit, "the server's")
		}
		cl := getCall()
		cl.prepare(m, req, deadline, resp)
		cl.refs.Add(1) // the writer's
		cn.inflight.Add(1)
		if !cn.send(cl) {
			cn.inflight.Add(-1)
			cl.refs.Add(-1)
			cl.release()
			continue // the connection died: wait for the next one
		}
		out, err := cn.wait(cl, ctx, ctxDone, timerC)
		cn.inflight.Add(-1)
		cl.release()
		if err != errNotSent {
			return out, err
		}
		// Not sent (the connection died first, or the server was
		// closing): try the next connection within the deadline.
		select {
		case <-cn.deadCh:
		case <-ctxDone:
			return resp, c.expired(m, ctx.Err())
		case <-timerC:
			return resp, c.expired(m, context.DeadlineExceeded)
		}
	}
}

// errNotSent completes a call that never reached a handler.
var errNotSent = errors.New("rpc: not sent")

func (c *Client) tooLarge(m Method, n, limit int, whose string) error {
	return fmt.Errorf("%w: method %d: request of %d bytes exceeds %s %d-byte limit (MaxFrame)", ErrFrameTooLarge, m, n, whose, limit)
}

func (c *Client) expired(m Method, err error) error {
	return fmt.Errorf("rpc: method %d on %s: %w", m, c.cfg.Addr, err)
}

// fault applies an injected delay, then an injected drop.
func (c *Client) fault(ctx context.Context, m Method, delay time.Duration, drop bool, timerC <-chan time.Time) error {
	var delayC <-chan time.Time
	if delay > 0 {
		t := c.cfg.Clock.NewTimer(delay)
		defer t.Stop()
		delayC = t.Chan()
	}
	if drop {
		delayC = nil // lost: nothing comes back before the deadline
	}
	select {
	case <-delayC:
		return nil
	case <-ctx.Done():
		return c.expired(m, ctx.Err())
	case <-timerC:
		return c.expired(m, context.DeadlineExceeded)
	}
}

// connection returns a live connection, waiting for one within the
// deadline.
func (c *Client) connection(ctx context.Context, ctxDone <-chan struct{}, timerC <-chan time.Time) (*clientConn, error) {
	if cn := c.cur.Load(); cn != nil && !cn.isDead() {
		return cn, nil
	}
	for {
		c.mu.Lock()
		cn, changed, last, closed := c.cur.Load(), c.changed, c.lastErr, c.closed
		c.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if cn != nil && !cn.isDead() {
			return cn, nil
		}
		if errors.Is(last, ErrUnauthenticated) {
			return nil, last
		}
		if c.cfg.FailFast && last != nil {
			return nil, fmt.Errorf("%w: not connected to %s: %v", ErrUnavailable, c.cfg.Addr, last)
		}
		select {
		case <-changed:
		case <-ctxDone:
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, c.unavailable(last)
			}
			return nil, fmt.Errorf("rpc: %s: %w", c.cfg.Addr, ctx.Err())
		case <-timerC:
			return nil, c.unavailable(last)
		}
	}
}

func (c *Client) unavailable(last error) error {
	if last == nil {
		last = errors.New("still connecting")
	}
	return fmt.Errorf("%w: no connection to %s within the deadline (%w); last error: %v",
		ErrUnavailable, c.cfg.Addr, context.DeadlineExceeded, last)
}

func (c *Client) setState(cn *clientConn, err error) {
	c.mu.Lock()
	c.cur.Store(cn)
	c.lastErr = err
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// connectLoop keeps one connection up until Close.
func (c *Client) connectLoop() {
	defer c.wg.Done()
	backoff := c.cfg.Backoff.Min
	pause := func() bool {
		d := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		backoff = min(2*backoff, c.cfg.Backoff.Max)
		t := c.cfg.Clock.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.Chan():
			return true
		case <-c.done:
			return false
		}
	}
	for {
		cn, err := c.connect()
		if err != nil {
			select {
			case <-c.done:
				c.setState(nil, ErrClosed)
				return
			default:
			}
			c.setState(nil, err)
			if !pause() {
				return
			}
			continue
		}
		c.setState(cn, nil)
		up := c.cfg.Clock.Now()
		select {
		case <-cn.deadCh:
		case <-c.done:
			cn.fail(ErrClosed)
		}
		cn.wg.Wait()
		select {
		case <-c.done:
			c.setState(nil, ErrClosed)
			return
		default:
		}
		c.setState(nil, fmt.Errorf("connection to %s lost: %w", c.cfg.Addr, cn.cause))
		if c.cfg.Clock.Since(up) < c.cfg.Backoff.Max {
			// A connection that dies young (a server that accepts and
			// drops) must not make the client spin.
			if !pause() {
				return
			}
		} else {
			backoff = c.cfg.Backoff.Min
		}
	}
}

// connect dials and authenticates one connection within DialTimeout.
func (c *Client) connect() (*clientConn, error) {
	// The timeout cancels the context rather than being its deadline: the
	// network poller would enforce a deadline in real time, whatever the
	// Clock.
	ctx, cancel := context.WithCancelCause(c.baseCtx)
	defer cancel(nil)
	timedOut := fmt.Errorf("no connection within DialTimeout %v", c.cfg.DialTimeout)
	timer := c.cfg.Clock.AfterFunc(c.cfg.DialTimeout, func() { cancel(timedOut) })
	defer timer.Stop()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		if context.Cause(ctx) == timedOut {
			err = timedOut
		}
		return nil, err
	}
	// Abort the handshake at the timeout or on Close.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	serverMax, err := clientHandshake(nc, c.cfg.Token, c.cfg.MaxFrame, newNonce())
	if !stop() && err == nil {
		err = context.Cause(ctx)
	}
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake with %s: %w", c.cfg.Addr, err)
	}
	return newClientConn(nc, min(c.cfg.MaxFrame, serverMax), c.cfg.MaxFrame, c.cfg.Clock, c.cfg.WriteTimeout), nil
}

// Call states, guarded by the connection's pmu.
const (
	stateQueued    = iota // in the connection's queue
	stateSent             // in pending, written or about to be
	stateTaken            // being completed by the reader (or by a failing connection)
	stateReading          // taken, its large response read from the socket into resp
	stateAbandoned        // its caller gave up; the writer skips it, the reader drops its response
)

// call is one Call in flight. The caller and, while it has the call
// queued, the connection's writer hold references; the last one returns it
// to the pool.
type call struct {
	refs     atomic.Int32
	state    uint8
	write    bool // writer-only: registered by this batch
	id       uint32
	method   Method
	frame    []byte    // fastrpc's request ID, then the request frame
	deadline time.Time // the caller's, for the frame's timeout
	resp     []byte    // the caller's buffer, which the reader appends to on success only
	err      error
	done     chan struct{} // receives once when the call is completed
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

func getCall() *call {
	cl := callPool.Get().(*call)
	cl.refs.Store(1)
	return cl
}

func (cl *call) release() {
	switch n := cl.refs.Add(-1); {
	case n > 0:
		return
	case n < 0:
		panic("BUG: rpc call released too often")
	}
	if len(cl.done) != 0 {
		panic("BUG: rpc call released with a completion pending")
	}
	cl.resp, cl.err = nil, nil
	if cap(cl.frame) > maxKeep {
		cl.frame = nil
	}
	callPool.Put(cl)
}

// getTimer returns a running timer of the Client's Clock that fires
// after d.
func (c *Client) getTimer(d time.Duration) clockwork.Timer {
	if t, ok := c.timers.Get().(clockwork.Timer); ok {
		t.Reset(d)
		return t
	}
	return c.cfg.Clock.NewTimer(d)
}

// putTimer stops t and pools it. A timer that already fired is drained,
// so that a reused one cannot fire early: since Go 1.23 a real timer's
// channel is empty once Stop returns, a fake timer's may hold its tick.
func (c *Client) putTimer(t clockwork.Timer) {
	if !t.Stop() {
		select {
		case <-t.Chan():
		default:
		}
	}
	c.timers.Put(t)
}

// prepare makes cl's frame; its timeout is set as it is written
// (setTimeout), to the time left then.
func (cl *call) prepare(m Method, req []byte, deadline time.Time, resp []byte) {
	cl.frame = appendRequest(append(cl.frame[:0], 0, 0, 0, 0), m, 0, req)
	cl.deadline = deadline
	cl.method = m
	cl.resp = resp
	cl.err = nil
	cl.state = stateQueued
}

// timeoutOffset is where a request frame's timeout lies, after
// fastrpc's request ID, the method and the flags.
const timeoutOffset = 4 + 2 + 1

// setTimeout puts in cl's frame the time left at now until its deadline,
// in µs: at least 1, and 0 (none) past the field's range (71 minutes),
// where the caller's deadline alone holds.
func (cl *call) setTimeout(now time.Time) {
	us := max(1, int64(cl.deadline.Sub(now)/time.Microsecond))
	if us > math.MaxUint32 {
		us = 0
	}
	binary.LittleEndian.PutUint32(cl.frame[timeoutOffset:], uint32(us))
}

// complete records a response.
func (cl *call) complete(status byte, payload []byte) {
	switch status {
	case statusOK:
		cl.resp = append(cl.resp, payload...)
	case statusError:
		cl.err = &RemoteError{Method: cl.method, Msg: string(payload)}
	case statusTooLarge:
		cl.err = fmt.Errorf("%w: %s", ErrFrameTooLarge, payload)
	case statusBusy:
		cl.err = fmt.Errorf("%w: method %d: %s", ErrOverloaded, cl.method, payload)
	case statusExpired:
		cl.err = fmt.Errorf("rpc: method %d: %w before the server ran it", cl.method, context.DeadlineExceeded)
	case statusClosed:
		cl.err = errNotSent
	}
}

// clientConn is one authenticated connection: a writer goroutine that
// batches queued calls into the socket, a reader goroutine that completes
// them.
type clientConn struct {
	nc       net.Conn
	limit    int // request payload limit
	maxFrame int // response payload limit
	bw       *bufio.Writer
	br       *bufio.Reader

	qmu      sync.Mutex
	queue    []*call
	sleeping bool // the writer waits on wake
	// busy is when the writer last made progress while it had calls to
	// write; zero while it waits for calls. A call that gives up while it
	// is older than writeTimeout fails the connection (stalled).
	busy         time.Time
	clock        clockwork.Clock
	writeTimeout time.Duration
	dead         bool // the writer has stopped: send fails
	wake         chan struct{}

	pmu     sync.Mutex
	pending map[uint32]*call
	noMore  bool   // the reader has stopped: register nothing more
	nextID  uint32 // writer-only
	// unrecorded counts the bytes written since the writer last recorded
	// progress (busy). Writer-only.
	unrecorded int

	inflight atomic.Int32 // calls between send and the end of wait

	deadCh   chan struct{}
	failOnce sync.Once
	cause    error // why the connection died; set before deadCh closes
	wg       sync.WaitGroup
}

func newClientConn(nc net.Conn, limit, maxFrame int, clock clockwork.Clock, writeTimeout time.Duration) *clientConn {
	cn := &clientConn{
		clock:        clock,
		writeTimeout: writeTimeout,
		nc:           nc,
		limit:        limit,
		maxFrame:     maxFrame,
		bw:           bufio.NewWriterSize(nc, connBufSize),
		br:           bufio.NewReaderSize(nc, connBufSize),
		wake:         make(chan struct{}, 1),
		pending:      make(map[uint32]*call),
		deadCh:       make(chan struct{}),
	}
	cn.wg.Add(2)
	go cn.writeLoop()
	go cn.readLoop()
	return cn
}

func (cn *clientConn) isDead() bool {
	select {
	case <-cn.deadCh:
		return true
	default:
		return false
	}
}

// fail closes the connection; the first cause sticks.
func (cn *clientConn) fail(err error) {
	cn.failOnce.Do(func() {
		if err == nil || err == io.EOF {
			err = errors.New("closed by the server")
		}
		cn.cause = err
		close(cn.deadCh)
		cn.nc.Close()
	})
}

// send queues cl for the writer; false if the connection is dead.
func (cn *clientConn) send(cl *call) bool {
	cn.qmu.Lock()
	if cn.dead {
		cn.qmu.Unlock()
		return false
	}
	cn.queue = append(cn.queue, cl)
	wake := cn.sleeping
	cn.sleeping = false
	cn.qmu.Unlock()
	if wake {
		select {
		case cn.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// wait waits for cl's completion or its deadline.
func (cn *clientConn) wait(cl *call, ctx context.Context, ctxDone <-chan struct{}, timerC <-chan time.Time) ([]byte, error) {
	var err error
	select {
	case <-cl.done:
		return cl.resp, cl.err
	case <-ctxDone:
		err = ctx.Err()
	case <-timerC:
		err = context.DeadlineExceeded
	}
	cn.pmu.Lock()
	switch cl.state {
	case stateQueued:
		cl.state = stateAbandoned
		cn.pmu.Unlock()
		cn.unqueue(cl)
		cn.checkStall(err)
		return cl.resp, fmt.Errorf("rpc: method %d: %w", cl.method, err)
	case stateSent:
		delete(cn.pending, cl.id)
		cl.state = stateAbandoned
	case stateTaken:
		// The response is in and being copied out: take it.
		cn.pmu.Unlock()
		<-cl.done
		return cl.resp, cl.err
	case stateReading:
		// The response is arriving into resp and may stall: the deadline
		// holds, so the connection goes, which ends the read.
		cn.pmu.Unlock()
		cn.fail(fmt.Errorf("a response outlived its caller's deadline: %w", err))
		<-cl.done
		return cl.resp, fmt.Errorf("rpc: method %d: %w", cl.method, err)
	}
	cn.pmu.Unlock()
	cn.checkStall(err)
	return cl.resp, fmt.Errorf("rpc: method %d: %w", cl.method, err)
}

// unqueue takes cl, abandoned before the writer took it, out of the
// queue, so that its frame is not kept while the writer is stuck, and
// drops the writer's reference. If the writer took it meanwhile, the
// writer skips it and drops its reference itself.
func (cn *clientConn) unqueue(cl *call) {
	cn.qmu.Lock()
	found := false
	for i, q := range cn.queue {
		if q == cl {
			n := len(cn.queue)
			copy(cn.queue[i:], cn.queue[i+1:])
			cn.queue[n-1] = nil
			cn.queue = cn.queue[:n-1]
			found = true
			break
		}
	}
	cn.qmu.Unlock()
	if found {
		cl.release() // the writer's reference
	}
}

// checkStall fails the connection if its writer has been stuck on the
// socket for longer than writeTimeout, a call having just given up
// (err): the server stopped reading, and nothing more can be sent.
func (cn *clientConn) checkStall(err error) {
	cn.qmu.Lock()
	busy := cn.busy
	cn.qmu.Unlock()
	if busy.IsZero() {
		return
	}
	if stuck := cn.clock.Since(busy); stuck >= cn.writeTimeout {
		cn.fail(fmt.Errorf("no request written for %v (WriteTimeout %v): the server stopped reading (%w)", stuck, cn.writeTimeout, err))
	}
}

// progress records that the writer has made progress.
func (cn *clientConn) progress() {
	now := cn.clock.Now()
	cn.qmu.Lock()
	cn.busy = now
	cn.qmu.Unlock()
}

func (cn *clientConn) writeLoop() {
	defer cn.wg.Done()
	err := cn.writeBatches()
	cn.fail(err)
	// Whatever is still queued was never sent.
	cn.qmu.Lock()
	cn.dead = true
	rest := cn.queue
	cn.queue = nil
	cn.qmu.Unlock()
	for _, cl := range rest {
		cn.finishUnsent(cl)
	}
}

func (cn *clientConn) writeBatches() error {
	var batch []*call
	for {
		cn.qmu.Lock()
		for len(cn.queue) == 0 {
			cn.sleeping = true
			cn.busy = time.Time{}
			cn.qmu.Unlock()
			select {
			case <-cn.wake:
			case <-cn.deadCh:
				return cn.cause
			}
			if cn.inflight.Load() > 1 {
				// Other callers are running or about to run (their
				// responses just came in): let them queue their next
				// calls first, so that one flush carries them all. This
				// turns ~4 calls per write into ~40 at 256 callers.
				runtime.Gosched()
			}
			cn.qmu.Lock()
		}
		batch, cn.queue = cn.queue, batch[:0]
		now := cn.clock.Now()
		cn.busy = now
		cn.qmu.Unlock()

		cn.pmu.Lock()
		if cn.noMore {
			cn.pmu.Unlock()
			for i, cl := range batch {
				cn.finishUnsent(cl)
				batch[i] = nil
			}
			return errors.New("reader stopped")
		}
		for _, cl := range batch {
			cl.write = cl.state != stateAbandoned
			if !cl.write {
				continue
			}
			cn.nextID++
			for cn.nextID == 0 || cn.pending[cn.nextID] != nil {
				cn.nextID++ // 0 is fastrpc's "no response"; skip IDs still in use after wrapping
			}
			cl.id = cn.nextID
			cl.state = stateSent
			cn.pending[cl.id] = cl
		}
		cn.pmu.Unlock()

		var err error
		for i, cl := range batch {
			if cl.write && err == nil {
				binary.LittleEndian.PutUint32(cl.frame, cl.id)
				cl.setTimeout(now) // the time left, not the budget the call began with
				err = cn.write(cl.frame)
			}
			cl.release() // the writer's reference
			batch[i] = nil
		}
		if err != nil {
			return fmt.Errorf("cannot write requests: %w", err) // the reader fails the registered calls
		}
		cn.qmu.Lock()
		more := len(cn.queue) > 0
		cn.qmu.Unlock()
		if !more {
			if err := cn.bw.Flush(); err != nil {
				return fmt.Errorf("cannot write requests: %w", err)
			}
		}
	}
}

// write writes frame, recording progress after each writeChunk bytes
// (within a large frame, or over many small ones).
func (cn *clientConn) write(frame []byte) error {
	for len(frame) > 0 {
		n := min(len(frame), writeChunk-cn.unrecorded)
		if _, err := cn.bw.Write(frame[:n]); err != nil {
			return err
		}
		frame = frame[n:]
		if cn.unrecorded += n; cn.unrecorded == writeChunk {
			cn.unrecorded = 0
			cn.progress()
		}
	}
	return nil
}

// finishUnsent completes a queued call that was never written.
func (cn *clientConn) finishUnsent(cl *call) {
	cn.pmu.Lock()
	abandoned := cl.state == stateAbandoned
	cl.state = stateTaken
	cn.pmu.Unlock()
	if !abandoned {
		cl.err = errNotSent
		cl.done <- struct{}{}
	}
	cl.release() // the writer's reference
}

func (cn *clientConn) readLoop() {
	defer cn.wg.Done()
	rr := responseReader{br: cn.br, maxFrame: cn.maxFrame}
	var err error
	var cut *call // a call whose response the connection cut short
	for {
		var (
			id     uint32
			status byte
			n      int
		)
		id, status, n, err = rr.header()
		if err != nil {
			break
		}
		// A large response whose caller has room for it goes straight
		// from the socket into the caller's buffer; the call is taken
		// first, and a deadline that passes meanwhile ends the
		// connection (see wait). Any other response is read whole before
		// its call is looked up, so its caller may still give up.
		if status == statusOK && n > cn.br.Size() {
			cn.pmu.Lock()
			if cl := cn.pending[id]; cl != nil && cap(cl.resp)-len(cl.resp) >= n {
				delete(cn.pending, id)
				cl.state = stateReading
				cn.pmu.Unlock()
				if cl.resp, err = rr.into(cl.resp, n); err != nil {
					cut = cl
					break
				}
				cl.done <- struct{}{}
				continue
			}
			cn.pmu.Unlock()
		}
		var payload []byte
		if payload, err = rr.body(n); err != nil {
			break
		}
		cn.pmu.Lock()
		cl := cn.pending[id]
		if cl != nil {
			delete(cn.pending, id)
			cl.state = stateTaken // its caller waits for done from here on
		}
		cn.pmu.Unlock()
		if cl == nil {
			continue // its caller gave up
		}
		cl.complete(status, payload)
		cl.done <- struct{}{}
	}
	cn.fail(err)
	cn.pmu.Lock()
	cn.noMore = true
	lost := make([]*call, 0, len(cn.pending)+1)
	if cut != nil {
		lost = append(lost, cut) // taken already
	}
	for id, cl := range cn.pending {
		cl.state = stateTaken
		lost = append(lost, cl)
		delete(cn.pending, id)
	}
	cn.pmu.Unlock()
	for _, cl := range lost {
		if errors.Is(cn.cause, ErrClosed) {
			cl.err = ErrClosed
		} else {
			cl.err = fmt.Errorf("%w: %w: %v", ErrUnavailable, ErrConnectionLost, cn.cause)
		}
		cl.done <- struct{}{}
	}
}
