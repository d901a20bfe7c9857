package rpc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastrpc"
)

// Server defaults.
const (
	// DefaultConcurrency bounds the handlers in flight (or, with
	// ServerConfig.Ordered, the connections).
	DefaultConcurrency = 4096
	// DefaultHandshakeTimeout bounds a new connection's authentication.
	DefaultHandshakeTimeout = 5 * time.Second

	// maxKeep is the largest buffer a pooled request context keeps between
	// requests.
	maxKeep = 256 << 10
	// maxErrorMsg bounds the error text sent back for a failed handler.
	maxErrorMsg = 64 << 10
)

// ServerConfig configures a Server. Token and Handler are required.
type ServerConfig struct {
	// Addr is the address to listen on. "" means "127.0.0.1:0" (loopback,
	// a free port), and an address without a host (":7000") listens on
	// loopback too: to listen on every interface, say so ("0.0.0.0:7000").
	Addr string
	// Token is the cluster token clients must prove they hold.
	Token []byte
	// Handler serves every request.
	Handler Handler
	// MaxFrame limits a request's payload, and a response's together with
	// the client's own limit. Default DefaultMaxFrame, at most MaxFrameLimit.
	MaxFrame int
	// Concurrency bounds the handlers in flight; a request over the bound
	// fails with ErrOverloaded without running. With Ordered it bounds the
	// connections instead. Default DefaultConcurrency.
	Concurrency int
	// Ordered runs each connection's requests one at a time, in arrival
	// order, on the goroutine that reads the connection (fastrpc's
	// PipelineRequests). It is the fastest mode for handlers that never
	// block, and gives FIFO order per connection; a handler that blocks
	// stalls every request behind it on that connection.
	Ordered bool
	// HandshakeTimeout bounds a new connection's authentication. Default
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Logger receives refused connections, broken frames and handler
	// panics. Default slog.Default().
	Logger *slog.Logger
	// Clock times the handshake timeout, the requests' deadlines (as
	// handlers see them in Ctx) and the pause after a failed accept (tests
	// drive a clockwork.FakeClock). Default clockwork.NewRealClock().
	Clock clockwork.Clock
}

// Server serves requests from Clients that hold the cluster token.
type Server struct {
	cfg      ServerConfig
	ln       net.Listener
	fs       fastrpc.Server
	feed     chan net.Conn // authenticated connections, to fastrpc
	done     chan struct{}
	baseCtx  context.Context
	cancel   context.CancelFunc
	closing  atomic.Bool
	maxConns int // with Ordered; 0 = unbounded
	// handshaking counts the connections in s.conns still authenticating,
	// which count against maxHandshakes rather than maxConns. Under mu.
	handshaking int

	mu     sync.Mutex
	closed bool
	conns  map[*serverConn]struct{}

	hmu      sync.RWMutex
	hclosed  bool
	handlers sync.WaitGroup

	wg        sync.WaitGroup // accept loop, handshakes, fastrpc's Serve
	closeOnce sync.Once
}

// NewServer validates cfg, listens and starts serving.
func NewServer(cfg ServerConfig) (*Server, error) {
	if len(cfg.Token) == 0 {
		return nil, errors.New("rpc: ServerConfig.Token is required")
	}
	if cfg.Handler == nil {
		return nil, errors.New("rpc: ServerConfig.Handler is required")
	}
	var err error
	if cfg.MaxFrame, err = maxFrameOr(cfg.MaxFrame); err != nil {
		return nil, err
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	cfg.Token = append([]byte(nil), cfg.Token...)
	addr, err := listenAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rpc: cannot listen: %w", err)
	}
	s := &Server{
		cfg:   cfg,
		ln:    ln,
		feed:  make(chan net.Conn),
		done:  make(chan struct{}),
		conns: make(map[*serverConn]struct{}),
	}
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	s.fs = fastrpc.Server{
		SniffHeader:     sniffHeader,
		ProtocolVersion: fastrpcVersion,
		NewHandlerCtx:   func() fastrpc.HandlerCtx { return &serverCtx{s: s, ctx: Ctx{server: s}} },
		Handler:         s.handle,
		CompressType:    fastrpc.CompressNone,
		Concurrency:     cfg.Concurrency,
		Logger:          fastrpcLogger{s},
		// MaxBatchDelay stays 0: a batching delay turns a few-µs call into
		// milliseconds at low concurrency (shared/PLATFORM.md).
	}
	if cfg.Ordered {
		// fastrpc then counts connections against Concurrency and, over
		// the bound, drops a connection without closing it. Bound them
		// here instead, with slack for fastrpc's count lagging ours.
		s.maxConns = cfg.Concurrency
		s.fs.PipelineRequests = true
		s.fs.Concurrency = 2 * cfg.Concurrency
	}
	s.wg.Add(2)
	go s.acceptLoop()
	go func() {
		defer s.wg.Done()
		s.fs.Serve(feedListener{s}) // returns nil once closed; other errors are logged
	}()
	return s, nil
}

// listenAddr applies the loopback default.
func listenAddr(addr string) (string, error) {
	if addr == "" {
		return "127.0.0.1:0", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("rpc: bad listen address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

func maxFrameOr(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultMaxFrame, nil
	case n < 0 || n > MaxFrameLimit:
		return 0, fmt.Errorf("rpc: MaxFrame %d out of range (1..%d)", n, MaxFrameLimit)
	}
	return n, nil
}

// Addr is the address the server listens on ("127.0.0.1:34567").
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening, closes every connection, and waits for running
// handlers to return (their Ctx.Done is closed). Calls in flight on the
// closed connections fail at their callers. Close is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.mu.Lock()
		s.closed = true
		conns := make([]*serverConn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		s.ln.Close()
		for _, c := range conns {
			c.Close()
		}
		// Connections first: a handler that returns because of Done
		// must not look like an answer to its caller.
		close(s.done)
		s.cancel()
		s.hmu.Lock()
		s.hclosed = true
		s.hmu.Unlock()
		s.wg.Wait()
		s.handlers.Wait()
	})
	return nil
}

// log records msg with its key-value pairs at level, unless the server is
// closing (connections then break on purpose).
func (s *Server) log(level slog.Level, msg string, args ...any) {
	if !s.closing.Load() {
		s.cfg.Logger.Log(context.Background(), level, msg, args...)
	}
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	delay := 5 * time.Millisecond
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return
			}
			// Out of file descriptors, say: wait and try again.
			s.log(slog.LevelError, "rpc: accept failed", "addr", s.Addr(), "err", err, "retry_in", delay)
			select {
			case <-s.cfg.Clock.After(delay):
			case <-s.done:
				return
			}
			delay = min(2*delay, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		sc := &serverConn{Conn: nc, s: s}
		if err := s.track(sc); err != nil {
			s.log(slog.LevelWarn, "rpc: refused connection", "remote", nc.RemoteAddr(), "err", err)
			nc.Close()
			continue
		}
		s.wg.Add(1)
		go s.authenticate(sc)
	}
}

// maxHandshakes bounds the connections authenticating at once: a client
// without the token can hold one for HandshakeTimeout, and those must not
// take the slots (Concurrency, with Ordered) of the clients that hold it.
const maxHandshakes = 256

func (s *Server) track(c *serverConn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errors.New("server closed")
	case s.handshaking >= maxHandshakes:
		return fmt.Errorf("%d connections authenticating", s.handshaking)
	case s.maxConns > 0 && len(s.conns)-s.handshaking >= s.maxConns:
		return fmt.Errorf("%d connections open (Concurrency)", len(s.conns)-s.handshaking)
	}
	s.conns[c] = struct{}{}
	s.handshaking++
	return nil
}

// authenticated ends c's handshake, which err says failed, and reports
// whether c may serve: there is room for it among the authenticated
// connections (several handshakes may end at once).
func (s *Server) authenticated(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handshaking--
	if err == nil && s.maxConns > 0 && len(s.conns)-s.handshaking > s.maxConns {
		err = fmt.Errorf("%d connections open (Concurrency)", len(s.conns)-s.handshaking-1)
	}
	return err
}

// authenticate runs the handshake on a new connection and hands it to
// fastrpc only if the client proved it holds the token: nothing it sent
// before that is read as a request.
func (s *Server) authenticate(c *serverConn) {
	defer s.wg.Done()
	// The timeout moves the connection's deadline into the past rather
	// than being its deadline: the network poller would enforce a deadline
	// in real time, whatever the Clock.
	timer := s.cfg.Clock.AfterFunc(s.cfg.HandshakeTimeout, func() { c.SetDeadline(time.Unix(1, 0)) })
	peerMax, err := serverHandshake(c.Conn, s.cfg.Token, s.cfg.MaxFrame, newNonce())
	if !timer.Stop() && err == nil {
		err = fmt.Errorf("no handshake within HandshakeTimeout %v", s.cfg.HandshakeTimeout)
	}
	if err = s.authenticated(err); err != nil {
		s.log(slog.LevelWarn, "rpc: refused connection", "remote", c.RemoteAddr(), "err", err)
		c.Close()
		return
	}
	c.peerMax = peerMax
	select {
	case s.feed <- c:
	case <-s.done:
		c.Close()
	}
}

// serverConn is an accepted connection; Close forgets it.
type serverConn struct {
	net.Conn
	s       *Server
	peerMax int // the client's MaxFrame
	once    sync.Once
}

func (c *serverConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}

// feedListener hands authenticated connections to fastrpc's Serve.
type feedListener struct{ s *Server }

func (l feedListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.s.feed:
		return c, nil
	case <-l.s.done:
		return nil, net.ErrClosed // fastrpc's Serve returns nil on this one
	}
}

func (l feedListener) Close() error   { return nil }
func (l feedListener) Addr() net.Addr { return l.s.ln.Addr() }

// fastrpcLogger routes fastrpc's messages (a broken frame closes its
// connection with "error on connection ...") to the Logger.
type fastrpcLogger struct{ s *Server }

func (l fastrpcLogger) Printf(format string, args ...any) {
	l.s.log(slog.LevelWarn, "rpc: fastrpc", "detail", fmt.Sprintf(format, args...))
}

// serverCtx is fastrpc's per-request context: it reads the request, runs
// the handler and writes the response. fastrpc pools and reuses it.
type serverCtx struct {
	s      *Server
	conn   *serverConn
	f      requestFrame
	status byte
	resp   []byte // buffer handed to the handler
	out    []byte // what WriteResponse writes
	ctx    Ctx
}

func (x *serverCtx) Init(conn net.Conn, _ fasthttp.Logger) {
	x.conn, _ = conn.(*serverConn)
	x.ctx.conn = conn
	x.status = statusOK
	x.out = nil
}

func (x *serverCtx) ReadRequest(br *bufio.Reader) error {
	if err := readRequest(br, x.s.cfg.MaxFrame, &x.f); err != nil {
		return err
	}
	x.ctx.deadline = time.Time{}
	if x.f.timeout != 0 {
		x.ctx.deadline = x.s.cfg.Clock.Now().Add(time.Duration(x.f.timeout) * time.Microsecond)
	}
	return nil
}

func (x *serverCtx) ConcurrencyLimitError(concurrency int) {
	x.fail(statusBusy, fmt.Sprintf("%d handlers in flight (Concurrency)", concurrency))
}

func (x *serverCtx) WriteResponse(bw *bufio.Writer) error {
	b := bw.AvailableBuffer()
	b = append(b, x.status)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(x.out)))
	if len(x.out) <= cap(b)-len(b) {
		b = append(b, x.out...)
	} else if _, err := bw.Write(b); err != nil {
		return err
	} else {
		b = x.out
	}
	_, err := bw.Write(b)
	x.out = nil
	if cap(x.resp) > maxKeep {
		x.resp = nil
	}
	if cap(x.f.payload) > maxKeep {
		x.f.payload = nil
	}
	return err
}

// fail sets an error response with msg as its payload.
func (x *serverCtx) fail(status byte, msg string) {
	if len(msg) > maxErrorMsg {
		msg = msg[:maxErrorMsg]
	}
	if x.conn != nil && len(msg) > x.conn.peerMax {
		msg = msg[:x.conn.peerMax]
	}
	x.status = status
	x.resp = append(x.resp[:0], msg...)
	x.out = x.resp
}

// handle is fastrpc's Handler.
func (s *Server) handle(hc fastrpc.HandlerCtx) fastrpc.HandlerCtx {
	x := hc.(*serverCtx)
	s.hmu.RLock()
	if s.hclosed {
		s.hmu.RUnlock()
		x.fail(statusClosed, "server closing")
		return hc
	}
	s.handlers.Add(1)
	s.hmu.RUnlock()
	defer s.handlers.Done()
	if !x.ctx.deadline.IsZero() && s.cfg.Clock.Now().After(x.ctx.deadline) {
		x.fail(statusExpired, "")
		return hc
	}
	s.run(x)
	return hc
}

func (s *Server) run(x *serverCtx) {
	m := x.f.method
	defer func() {
		x.ctx.reset()
		if p := recover(); p != nil {
			s.log(slog.LevelError, "rpc: handler panicked", "method", m, "panic", p, "stack", string(debug.Stack()))
			x.fail(statusError, fmt.Sprintf("handler panicked: %v", p))
		}
	}()
	out, err := s.cfg.Handler(&x.ctx, m, x.f.payload, x.resp[:0])
	if err != nil {
		x.fail(statusError, err.Error())
		return
	}
	limit := s.cfg.MaxFrame
	if x.conn != nil {
		limit = min(limit, x.conn.peerMax)
	}
	if len(out) > limit {
		x.fail(statusTooLarge, fmt.Sprintf("method %d: response of %d bytes exceeds the %d-byte limit (MaxFrame)", m, len(out), limit))
		return
	}
	x.status = statusOK
	x.out = out
	switch {
	case cap(out) > 0 && cap(x.resp) > 0 && &out[:1][0] == &x.resp[:1][0]:
		x.resp = out[:0] // resp, possibly grown in place
	case len(out) > cap(x.resp) && len(out) <= maxKeep:
		// The handler appended past resp's capacity (or returned a slice
		// of its own): size resp for next time.
		x.resp = make([]byte, 0, len(out))
	}
}
