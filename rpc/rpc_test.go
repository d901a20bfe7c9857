package rpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

var testToken = []byte("cluster-token-for-tests")

// guardTimeout bounds how long a test waits for what should happen at
// once: a guard against hanging, never a measurement.
const guardTimeout = 10 * time.Second

// Test methods.
const (
	mEcho     Method = 1 // echoes the request
	mFail     Method = 2 // returns an error carrying the request
	mBlock    Method = 3 // signals entered, then waits for release or the server's close
	mSize     Method = 4 // responds with as many bytes as the request says (u32)
	mPanic    Method = 5
	mDeadline Method = 6 // responds with the µs left until Ctx.Deadline, and Context's deadline
)

// testServer is a Server with a handler that counts its calls, mBlock
// requests the test releases, and a log the tests read.
type testServer struct {
	*Server
	calls   atomic.Int64
	entered chan struct{} // receives as each mBlock request starts
	release chan struct{} // closing it returns every mBlock request

	logMu  sync.Mutex
	log    strings.Builder
	logged chan struct{} // closed and replaced at every record
}

// Write receives the server's log records.
func (ts *testServer) Write(p []byte) (int, error) {
	ts.logMu.Lock()
	defer ts.logMu.Unlock()
	ts.log.Write(p)
	close(ts.logged)
	ts.logged = make(chan struct{})
	return len(p), nil
}

// waitLog waits until the server's log holds sub.
func (ts *testServer) waitLog(t *testing.T, sub string) {
	t.Helper()
	guard := time.NewTimer(guardTimeout)
	defer guard.Stop()
	for {
		ts.logMu.Lock()
		text, logged := ts.log.String(), ts.logged
		ts.logMu.Unlock()
		if strings.Contains(text, sub) {
			return
		}
		select {
		case <-logged:
		case <-guard.C:
			t.Fatalf("log never mentioned %q; log:\n%s", sub, text)
		}
	}
}

func (ts *testServer) handle(ctx *Ctx, m Method, req, resp []byte) ([]byte, error) {
	ts.calls.Add(1)
	switch m {
	case mEcho:
		return append(resp, req...), nil
	case mFail:
		return resp, errors.New("failed: " + string(req))
	case mBlock:
		ts.entered <- struct{}{}
		select {
		case <-ts.release:
		case <-ctx.Done():
		}
		return append(resp, "released"...), nil
	case mSize:
		return append(resp, make([]byte, binary.LittleEndian.Uint32(req))...), nil
	case mPanic:
		panic("boom")
	case mDeadline:
		if ctx.Deadline().IsZero() {
			if d, ok := ctx.Context().Deadline(); ok {
				return resp, fmt.Errorf("no Ctx deadline, but a Context deadline %v", d)
			}
			return binary.LittleEndian.AppendUint64(resp, math.MaxUint64), nil // none
		}
		d, ok := ctx.Context().Deadline()
		if !ok || !d.Equal(ctx.Deadline()) {
			return resp, fmt.Errorf("Context deadline %v %v, Ctx deadline %v", d, ok, ctx.Deadline())
		}
		left := ctx.server.cfg.Clock.Until(ctx.Deadline())
		return binary.LittleEndian.AppendUint64(resp, uint64(left/time.Microsecond)), nil
	}
	return resp, fmt.Errorf("unknown method %d", m)
}

func startServer(t testing.TB, cfg ServerConfig) *testServer {
	t.Helper()
	ts := &testServer{entered: make(chan struct{}, 16), release: make(chan struct{}), logged: make(chan struct{})}
	if cfg.Token == nil {
		cfg.Token = testToken
	}
	cfg.Handler = ts.handle
	cfg.Logger = slog.New(slog.NewTextHandler(ts, nil))
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = s
	t.Cleanup(func() { s.Close() })
	return ts
}

func dial(t testing.TB, cfg ClientConfig) *Client {
	t.Helper()
	if cfg.Token == nil {
		cfg.Token = testToken
	}
	c, err := Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// result is what a Call returned.
type result struct {
	out []byte
	err error
}

// callAsync makes a call in a goroutine of its own; its result arrives on
// the channel.
func callAsync(c *Client, ctx context.Context, m Method, req, resp []byte) <-chan result {
	ch := make(chan result, 1)
	go func() {
		out, err := c.Call(ctx, m, req, resp)
		ch <- result{out, err}
	}()
	return ch
}

// await returns what ch delivers, failing the test if nothing comes
// within guardTimeout.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	guard := time.NewTimer(guardTimeout)
	defer guard.Stop()
	var v T
	select {
	case v = <-ch:
	case <-guard.C:
		t.Fatalf("%s: nothing within %v", what, guardTimeout)
	}
	return v
}

// blockUntil waits until n timers of fc are armed.
func blockUntil(t *testing.T, fc *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guardTimeout)
	defer cancel()
	if err := fc.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("%d timers never armed: %v", n, err)
	}
}

// armed reports whether n timers of fc are armed now, without waiting.
func armed(fc *clockwork.FakeClock, n int) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return fc.BlockUntilContext(ctx, n) == nil
}

// returned reports whether a call's result has arrived, without waiting.
func returned(ch <-chan result) (result, bool) {
	select {
	case r := <-ch:
		return r, true
	default:
		return result{}, false
	}
}

// nextChange returns the channel c closes at its next change of
// connection state.
func nextChange(c *Client) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// connected reports whether c has a live connection.
func connected(c *Client) bool {
	cn := c.cur.Load()
	return cn != nil && !cn.isDead()
}

// waitState waits until c's connection state satisfies ok.
func waitState(t *testing.T, c *Client, what string, ok func(connected bool, last error) bool) {
	t.Helper()
	for {
		c.mu.Lock()
		live, last, changed := connected(c), c.lastErr, c.changed
		c.mu.Unlock()
		if ok(live, last) {
			return
		}
		await(t, changed, what)
	}
}

// backOff lets the pause before c's next connection attempt run out on
// fc, c's clock (with no call of c waiting on fc), and reports whether
// the attempt connected.
func backOff(t *testing.T, c *Client, fc *clockwork.FakeClock) bool {
	t.Helper()
	next := nextChange(c)
	blockUntil(t, fc, 1)              // the pause (or, if an attempt is under way, its DialTimeout)
	fc.Advance(2 * c.cfg.Backoff.Max) // past any jittered pause
	await(t, next, "a connection attempt")
	return connected(c)
}

func TestRoundTrip(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("ordered=%v", ordered), func(t *testing.T) {
			ts := startServer(t, ServerConfig{Ordered: ordered})
			c := dial(t, ClientConfig{Addr: ts.Addr()})
			ctx := ctxTimeout(t, guardTimeout)

			out, err := c.Call(ctx, mEcho, []byte("hello"), []byte("prefix:"))
			if err != nil || string(out) != "prefix:hello" {
				t.Fatalf("echo: %q, %v", out, err)
			}
			out, err = c.Call(ctx, mEcho, nil, nil)
			if err != nil || len(out) != 0 {
				t.Fatalf("empty echo: %q, %v", out, err)
			}
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: past the buffers
			out, err = c.Call(ctx, mEcho, big, nil)
			if err != nil || !bytes.Equal(out, big) {
				t.Fatalf("1 MiB echo: %d bytes, %v", len(out), err)
			}

			out, err = c.Call(ctx, mFail, []byte("x"), []byte("keep"))
			var re *RemoteError
			if !errors.As(err, &re) || re.Method != mFail || re.Msg != "failed: x" || string(out) != "keep" {
				t.Fatalf("remote error: %q, %#v", out, err)
			}
			if _, err := c.Call(ctx, mPanic, nil, nil); !errors.As(err, &re) || !strings.Contains(re.Msg, "panicked: boom") {
				t.Fatalf("panic: %v", err)
			}
			ts.waitLog(t, "panic=boom")
			if out, err := c.Call(ctx, mEcho, []byte("still up"), nil); err != nil || string(out) != "still up" {
				t.Fatalf("after panic: %q, %v", out, err)
			}
		})
	}
}

// deadlineCase is one way a call gets its deadline.
type deadlineCase struct {
	name     string
	ctx      context.Context
	deadline time.Duration // the time a call made now has
}

// deadlineCases are a context whose deadline is d from now on fc, and one
// without a deadline, where the client's Timeout applies.
func deadlineCases(t *testing.T, fc *clockwork.FakeClock, d, timeout time.Duration) []deadlineCase {
	ctx, cancel := clockwork.WithTimeout(context.Background(), fc, d)
	t.Cleanup(cancel)
	return []deadlineCase{{"ctx deadline", ctx, d}, {"default Timeout", context.Background(), timeout}}
}

// TestDeadlineTravels: the handler sees the time its caller has left. The
// client and the server share a fake clock that stands still, so exactly
// the whole budget is left.
func TestDeadlineTravels(t *testing.T) {
	fc := clockwork.NewFakeClock()
	ts := startServer(t, ServerConfig{Clock: fc})
	c := dial(t, ClientConfig{Addr: ts.Addr(), Timeout: 3 * time.Second, Clock: fc})
	for _, tc := range deadlineCases(t, fc, 2*time.Second, c.cfg.Timeout) {
		out, err := c.Call(tc.ctx, mDeadline, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if left := time.Duration(binary.LittleEndian.Uint64(out)) * time.Microsecond; left != tc.deadline {
			t.Errorf("%s: handler saw %v left, want %v", tc.name, left, tc.deadline)
		}
	}
}

// TestLongDeadlineIsTheCallers: a deadline further off than the frame's
// timeout holds (2^32 µs, 71 minutes) is not cut to it at the server,
// which would end a long call early: the handler sees none, and the
// caller's deadline alone bounds the call.
func TestLongDeadlineIsTheCallers(t *testing.T) {
	fc := clockwork.NewFakeClock()
	ts := startServer(t, ServerConfig{Clock: fc})
	c := dial(t, ClientConfig{Addr: ts.Addr(), Clock: fc})
	for _, d := range []time.Duration{math.MaxUint32 * time.Microsecond, 3 * time.Hour} {
		ctx, cancel := clockwork.WithTimeout(context.Background(), fc, d)
		out, err := c.Call(ctx, mDeadline, nil, nil)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		left := binary.LittleEndian.Uint64(out)
		want := uint64(d / time.Microsecond)
		if d > math.MaxUint32*time.Microsecond {
			want = math.MaxUint64 // none
		}
		if left != want {
			t.Errorf("a %v deadline: the handler saw %d µs left, want %d", d, left, want)
		}
	}
}

func TestConcurrentPipelinedCallers(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("ordered=%v", ordered), func(t *testing.T) {
			ts := startServer(t, ServerConfig{Ordered: ordered})
			c := dial(t, ClientConfig{Addr: ts.Addr(), MaxPending: 32})
			const callers, calls = 64, 200
			var wg sync.WaitGroup
			errs := make(chan error, callers)
			for g := range callers {
				wg.Go(func() {
					var out []byte
					for i := range calls {
						req := fmt.Appendf(nil, "caller %d call %d", g, i)
						var err error
						out, err = c.Call(context.Background(), mEcho, req, out[:0])
						if err != nil || !bytes.Equal(out, req) {
							errs <- fmt.Errorf("%s: got %q, %v", req, out, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if n := ts.calls.Load(); n != callers*calls {
				t.Fatalf("handler ran %d times, want %d", n, callers*calls)
			}
		})
	}
}

// TestOrderedIsFIFO: with Ordered, one connection's requests run in the
// order they were sent.
func TestOrderedIsFIFO(t *testing.T) {
	var mu sync.Mutex
	var seen []uint32
	s, err := NewServer(ServerConfig{Token: testToken, Ordered: true, Handler: func(_ *Ctx, _ Method, req, resp []byte) ([]byte, error) {
		mu.Lock()
		seen = append(seen, binary.LittleEndian.Uint32(req))
		mu.Unlock()
		return resp, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nc := authedConn(t, s.Addr())
	const n = 500
	var frames []byte
	for i := range n {
		frames = append(frames, requestBytes(uint32(i+1), 1, u32(uint32(i)))...)
	}
	if _, err := nc.Write(frames); err != nil {
		t.Fatal(err)
	}
	rr := responseReader{br: bufio.NewReader(nc), maxFrame: DefaultMaxFrame}
	for i := range n {
		if id, _, _, err := rr.next(); err != nil || id != uint32(i+1) {
			t.Fatalf("response %d: id %d, %v", i, id, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, v := range seen {
		if v != uint32(i) {
			t.Fatalf("request %d ran in place %d", v, i)
		}
	}
}

func TestWrongTokenRefused(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	// The client's clock stands still: a call that waited for its deadline
	// would never return.
	c := dial(t, ClientConfig{Addr: ts.Addr(), Token: []byte("not the token"), Clock: clockwork.NewFakeClock()})
	r := await(t, callAsync(c, context.Background(), mEcho, []byte("x"), nil), "a call with the wrong token")
	if !errors.Is(r.err, ErrUnauthenticated) {
		t.Fatalf("wrong token: %v", r.err)
	}
	ts.waitLog(t, "wrong token")
	if n := ts.calls.Load(); n != 0 {
		t.Fatalf("handler ran %d times for an unauthenticated client", n)
	}
	if _, err := Dial(ClientConfig{Addr: ts.Addr()}); err == nil {
		t.Fatal("Dial without a token succeeded")
	}
	if _, err := NewServer(ServerConfig{Handler: ts.handle}); err == nil {
		t.Fatal("NewServer without a token succeeded")
	}
}

// TestRefusalsAreLogged: a connection refused for its token is logged as
// a warning, with the peer's address and the reason.
func TestRefusalsAreLogged(t *testing.T) {
	lines := make(chan string, 16)
	s, err := NewServer(ServerConfig{Token: testToken, Handler: echoHandler,
		Logger: slog.New(slog.NewTextHandler(lineWriter(lines), nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := dial(t, ClientConfig{Addr: s.Addr(), Token: []byte("not the token"), Clock: clockwork.NewFakeClock()})
	await(t, callAsync(c, context.Background(), mEcho, nil, nil), "a call with the wrong token")
	line := await(t, lines, "a log line")
	if !strings.Contains(line, `level=WARN msg="rpc: refused connection" remote=127.0.0.1:`) || !strings.Contains(line, "wrong token") {
		t.Fatalf("log line %q", line)
	}
}

// lineWriter sends each record a text handler writes to a channel.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

// testLogger logs to t.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// rawConn connects to ts without the rpc client.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, guardTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(guardTimeout))
	return nc
}

// requestBytes is one request as it goes on the wire, fastrpc's ID first.
func requestBytes(id uint32, m Method, payload []byte) []byte {
	return appendRequest(binary.LittleEndian.AppendUint32(nil, id), m, 0, payload)
}

// expectClosed reads until the server closes nc.
func expectClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	if _, err := io.Copy(io.Discard, nc); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("connection not closed by the server: %v", err)
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

func TestRawClientWithoutTokenRefused(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	fastrpcHdr := append([]byte(sniffHeader), fastrpcVersion, compressNone, 0)

	// No handshake at all: a fastrpc header and requests straight away.
	nc := rawConn(t, ts.Addr())
	var junk []byte
	junk = append(junk, fastrpcHdr...)
	for i := range 10 {
		junk = append(junk, requestBytes(uint32(i+1), mEcho, []byte("let me in"))...)
	}
	nc.Write(junk)
	hello := make([]byte, helloSize)
	if _, err := io.ReadFull(nc, hello); err != nil {
		t.Fatal(err)
	}
	if _, err := parseHello(hello); err != nil {
		t.Fatal(err)
	}
	verdict := make([]byte, 1)
	if _, err := io.ReadFull(nc, verdict); err != nil || verdict[0] != verdictRefused {
		t.Fatalf("verdict %v, %v; want refused", verdict, err)
	}
	expectClosed(t, nc)

	// A client that connects and sends nothing is dropped at the timeout.
	fc := clockwork.NewFakeClock()
	ts2 := startServer(t, ServerConfig{HandshakeTimeout: 50 * time.Millisecond, Clock: fc})
	nc2 := rawConn(t, ts2.Addr())
	if _, err := io.ReadFull(nc2, hello); err != nil { // the server now waits for the token proof
		t.Fatal(err)
	}
	blockUntil(t, fc, 1) // the handshake's timeout
	fc.Advance(50 * time.Millisecond)
	expectClosed(t, nc2)
	ts2.waitLog(t, "no token proof")

	ts.waitLog(t, "wrong token")
	if n := ts.calls.Load() + ts2.calls.Load(); n != 0 {
		t.Fatalf("handler ran %d times", n)
	}
}

// authedConn is a raw connection through the handshake.
func authedConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc := rawConn(t, addr)
	if _, err := clientHandshake(nc, testToken, DefaultMaxFrame, newNonce()); err != nil {
		t.Fatal(err)
	}
	return nc
}

func TestBadFramesCloseOnlyTheirConnection(t *testing.T) {
	ts := startServer(t, ServerConfig{MaxFrame: 1 << 20})
	good := dial(t, ClientConfig{Addr: ts.Addr()})
	check := func() {
		t.Helper()
		if out, err := good.Call(ctxTimeout(t, guardTimeout), mEcho, []byte("ok"), nil); err != nil || string(out) != "ok" {
			t.Fatalf("the good client: %q, %v", out, err)
		}
	}
	check()

	forged := binary.LittleEndian.AppendUint32(nil, 1)
	forged = appendRequest(forged, mEcho, 0, nil)
	binary.LittleEndian.PutUint32(forged[4+7:], 1<<30) // a length over MaxFrame, and no payload

	flags := requestBytes(1, mEcho, []byte("x"))
	flags[4+2] = 0x80

	cases := []struct {
		name  string
		bytes []byte
		log   string
	}{
		{"reserved flags", flags, "reserved flags"},
		{"forged length", forged, "exceeds the 1048576-byte limit"},
		{"truncated header", requestBytes(1, mEcho, []byte("x"))[:8], "truncated request header"},
		{"truncated payload", requestBytes(1, mEcho, make([]byte, 100))[:60], "truncated request payload"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc := authedConn(t, ts.Addr())
			// A good request first, answered; then the bad frame closes
			// the connection.
			nc.Write(requestBytes(7, mEcho, []byte("first")))
			rr := responseReader{br: bufio.NewReader(nc), maxFrame: DefaultMaxFrame}
			id, status, payload, err := rr.next()
			if err != nil || id != 7 || status != statusOK || string(payload) != "first" {
				t.Fatalf("first response: %d %d %q %v", id, status, payload, err)
			}
			nc.Write(tc.bytes)
			if strings.HasPrefix(tc.name, "truncated") {
				nc.(*net.TCPConn).CloseWrite()
			}
			if _, _, _, err := rr.next(); err != io.EOF && !isReset(err) {
				t.Fatalf("after the bad frame: %v, want the connection closed", err)
			}
			ts.waitLog(t, tc.log)
			check()
		})
	}
}

func TestOversized(t *testing.T) {
	ts := startServer(t, ServerConfig{MaxFrame: 1024})
	c := dial(t, ClientConfig{Addr: ts.Addr(), MaxFrame: 2048})
	ctx := ctxTimeout(t, guardTimeout)

	_, err := c.Call(ctx, mEcho, make([]byte, 1025), nil)
	if !errors.Is(err, ErrFrameTooLarge) || !strings.Contains(err.Error(), "1024-byte limit") {
		t.Fatalf("request over the server's limit: %v", err)
	}
	_, err = c.Call(ctx, mEcho, make([]byte, 2049), nil)
	if !errors.Is(err, ErrFrameTooLarge) || !strings.Contains(err.Error(), "2048-byte limit") {
		t.Fatalf("request over the client's limit: %v", err)
	}
	if n := ts.calls.Load(); n != 0 {
		t.Fatalf("handler ran %d times", n)
	}
	if out, err := c.Call(ctx, mEcho, make([]byte, 1024), nil); err != nil || len(out) != 1024 {
		t.Fatalf("request at the limit: %d bytes, %v", len(out), err)
	}

	// Responses: the server holds them to the smaller of the two limits.
	c2 := dial(t, ClientConfig{Addr: ts.Addr(), MaxFrame: 512})
	_, err = c2.Call(ctx, mSize, u32(513), nil)
	if !errors.Is(err, ErrFrameTooLarge) || !strings.Contains(err.Error(), "512-byte limit") {
		t.Fatalf("response over the client's limit: %v", err)
	}
	if out, err := c2.Call(ctx, mSize, u32(512), nil); err != nil || len(out) != 512 {
		t.Fatalf("response at the limit: %d bytes, %v", len(out), err)
	}
	if _, err := NewServer(ServerConfig{Token: testToken, Handler: ts.handle, MaxFrame: MaxFrameLimit + 1}); err == nil {
		t.Fatal("MaxFrame over MaxFrameLimit accepted")
	}
}

// TestDeadlineExceeded: a call the server does not answer returns at its
// deadline, not before, with the caller's buffer unchanged.
func TestDeadlineExceeded(t *testing.T) {
	fc := clockwork.NewFakeClock()
	ts := startServer(t, ServerConfig{})
	c := dial(t, ClientConfig{Addr: ts.Addr(), Timeout: 100 * time.Millisecond, Clock: fc})
	// Connect first, so the deadlines below apply to the calls alone.
	if _, err := c.Call(ctxTimeout(t, guardTimeout), mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range deadlineCases(t, fc, 50*time.Millisecond, c.cfg.Timeout) {
		res := callAsync(c, tc.ctx, mBlock, nil, []byte("keep"))
		await(t, ts.entered, tc.name+": the request reaching the handler")
		fc.Advance(tc.deadline - time.Nanosecond)
		if r, ok := returned(res); ok {
			t.Fatalf("%s: returned before its deadline: %v", tc.name, r.err)
		}
		fc.Advance(time.Nanosecond)
		if r := await(t, res, tc.name); !errors.Is(r.err, context.DeadlineExceeded) || string(r.out) != "keep" {
			t.Fatalf("%s: %q, %v", tc.name, r.out, r.err)
		}
	}
	cctx, cancelCall := context.WithCancel(context.Background())
	res := callAsync(c, cctx, mBlock, nil, nil)
	await(t, ts.entered, "cancelled: the request reaching the handler")
	cancelCall()
	if r := await(t, res, "cancelled"); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled: %v", r.err)
	}
	expired, cancelExpired := context.WithDeadline(context.Background(), fc.Now().Add(-time.Second))
	defer cancelExpired()
	if _, err := c.Call(expired, mEcho, nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired context: %v", err)
	}
	// The connection survives abandoned calls, and late responses are
	// dropped.
	if out, err := c.Call(ctxTimeout(t, guardTimeout), mEcho, []byte("after"), nil); err != nil || string(out) != "after" {
		t.Fatalf("after deadlines: %q, %v", out, err)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestServerGoneUnavailable(t *testing.T) {
	fc := clockwork.NewFakeClock()
	c := dial(t, ClientConfig{Addr: freeAddr(t), Timeout: 50 * time.Millisecond, Clock: fc,
		Backoff: Backoff{Min: time.Millisecond, Max: 20 * time.Millisecond}})
	waitState(t, c, "a failed attempt", func(_ bool, last error) bool { return last != nil })
	res := callAsync(c, context.Background(), mEcho, nil, nil)
	blockUntil(t, fc, 2) // the call's Timeout and the pause before the next attempt
	fc.Advance(50 * time.Millisecond)
	err := await(t, res, "a call with no server").err
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrConnectionLost) {
		t.Fatalf("no server: %v", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error does not carry the dial error: %v", err)
	}

	// FailFast: no waiting once an attempt has failed. The clock stands
	// still, so a call that waited for its deadline would never return.
	ff := dial(t, ClientConfig{Addr: freeAddr(t), FailFast: true, Clock: clockwork.NewFakeClock()})
	waitState(t, ff, "a failed attempt", func(_ bool, last error) bool { return last != nil })
	if r := await(t, callAsync(ff, context.Background(), mEcho, nil, nil), "a FailFast call"); !errors.Is(r.err, ErrUnavailable) {
		t.Fatalf("FailFast: %v", r.err)
	}

	// A call in flight when the server goes away.
	ts := startServer(t, ServerConfig{})
	c2 := dial(t, ClientConfig{Addr: ts.Addr()})
	res = callAsync(c2, ctxTimeout(t, guardTimeout), mBlock, nil, nil)
	await(t, ts.entered, "the request reaching the handler")
	ts.Close() // the handler sees Ctx.Done and returns; Close waits for it
	if r := await(t, res, "the call in flight"); !errors.Is(r.err, ErrUnavailable) || !errors.Is(r.err, ErrConnectionLost) {
		t.Fatalf("call in flight: %v", r.err)
	}
}

func TestReconnectAfterRestart(t *testing.T) {
	fc := clockwork.NewFakeClock()
	ts := startServer(t, ServerConfig{})
	addr := ts.Addr()
	c := dial(t, ClientConfig{Addr: addr, Timeout: time.Second, Clock: fc,
		Backoff: Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}})
	if _, err := c.Call(ctxTimeout(t, guardTimeout), mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	ts.Close()
	waitState(t, c, "the lost connection", func(connected bool, last error) bool { return !connected && last != nil })
	res := callAsync(c, context.Background(), mEcho, nil, nil)
	blockUntil(t, fc, 2) // the call's Timeout and the pause before the next attempt
	fc.Advance(time.Second)
	if r := await(t, res, "a call with the server down"); !errors.Is(r.err, ErrUnavailable) {
		t.Fatalf("server down: %v", r.err)
	}
	for range 3 { // failed attempts, backing off
		if backOff(t, c, fc) {
			t.Fatal("connected with the server down")
		}
	}
	ts2 := startServer(t, ServerConfig{Addr: addr})
	// An attempt under way when the server came back may still fail.
	for i := 0; !backOff(t, c, fc); i++ {
		if i == 2 {
			t.Fatal("no reconnection to the restarted server")
		}
	}
	out, err := c.Call(ctxTimeout(t, guardTimeout), mEcho, []byte("back"), nil)
	if err != nil || string(out) != "back" {
		t.Fatalf("after restart: %q, %v", out, err)
	}
	if ts2.calls.Load() != 1 {
		t.Fatalf("the new server ran %d calls", ts2.calls.Load())
	}
}

// TestFaultInjection runs the client on a fake clock that moves only when
// the test says: a call that returns without an Advance was not delayed.
func TestFaultInjection(t *testing.T) {
	fc := clockwork.NewFakeClock()
	ts := startServer(t, ServerConfig{})
	var fi FaultInjection
	c := dial(t, ClientConfig{Addr: ts.Addr(), Fault: &fi, Timeout: 40 * time.Millisecond, Clock: fc})
	ctx := ctxTimeout(t, guardTimeout)
	if _, err := c.Call(ctx, mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	fi.Set(mEcho, Fault{Delay: 60 * time.Millisecond, Jitter: 10 * time.Millisecond})
	fi.Set(mFail, Fault{Drop: 1})

	res := callAsync(c, ctx, mEcho, nil, nil)
	blockUntil(t, fc, 1) // the delay
	fc.Advance(60*time.Millisecond - time.Nanosecond)
	if r, ok := returned(res); ok {
		t.Fatalf("delayed call returned before its delay: %v", r.err)
	}
	fc.Advance(10 * time.Millisecond) // past the largest jitter
	if r := await(t, res, "the delayed call"); r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := c.Call(ctx, mSize, u32(1), nil); err != nil {
		t.Fatalf("a method without a fault: %v", err)
	}

	before := ts.calls.Load()
	res = callAsync(c, context.Background(), mFail, nil, nil)
	blockUntil(t, fc, 1) // the call's Timeout
	fc.Advance(40*time.Millisecond - time.Nanosecond)
	if r, ok := returned(res); ok {
		t.Fatalf("dropped call returned before its deadline: %v", r.err)
	}
	fc.Advance(time.Nanosecond)
	if r := await(t, res, "the dropped call"); !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("dropped call: %v", r.err)
	}
	if ts.calls.Load() != before {
		t.Fatal("a dropped request reached the handler")
	}

	// A delay past the deadline is a deadline exceeded.
	res = callAsync(c, context.Background(), mEcho, nil, nil)
	blockUntil(t, fc, 2) // the call's Timeout and the delay
	fc.Advance(40 * time.Millisecond)
	if r := await(t, res, "a call delayed past its deadline"); !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("delay past the deadline: %v", r.err)
	}

	fi.Set(mEcho, Fault{})
	fi.Reset()
	if _, err := c.Call(ctx, mFail, nil, nil); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after Reset: %v", err)
	}
	if _, err := c.Call(ctx, mEcho, nil, nil); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
}

func TestListenAddresses(t *testing.T) {
	for _, addr := range []string{"", ":0", "127.0.0.1:0"} {
		ts := startServer(t, ServerConfig{Addr: addr})
		if !strings.HasPrefix(ts.Addr(), "127.0.0.1:") {
			t.Errorf("Addr %q listens on %s, want loopback", addr, ts.Addr())
		}
	}
	if _, err := NewServer(ServerConfig{Addr: "no port", Token: testToken, Handler: (&testServer{}).handle}); err == nil {
		t.Error("a bad address was accepted")
	}
}

func TestOverloadedAndMaxPending(t *testing.T) {
	ts := startServer(t, ServerConfig{Concurrency: 1})
	c := dial(t, ClientConfig{Addr: ts.Addr()})
	ctx := ctxTimeout(t, guardTimeout)
	// The first call: fastrpc frees a handler's slot only after queueing
	// its response, so a call right after another may find it taken.
	res := callAsync(c, ctx, mBlock, nil, nil)
	await(t, ts.entered, "the blocking request")
	if _, err := c.Call(ctx, mEcho, nil, nil); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("second call with Concurrency 1: %v", err)
	}
	close(ts.release)
	if r := await(t, res, "the released call"); r.err != nil {
		t.Fatal(r.err)
	}

	// MaxPending makes callers wait for a slot, not fail.
	fc := clockwork.NewFakeClock()
	ts2 := startServer(t, ServerConfig{})
	c2 := dial(t, ClientConfig{Addr: ts2.Addr(), MaxPending: 1, Timeout: 20 * time.Millisecond, Clock: fc})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c2.Call(ctx, mEcho, nil, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// ... within their deadlines.
	hold := callAsync(c2, ctx, mBlock, nil, nil)
	await(t, ts2.entered, "the request holding the slot")
	res = callAsync(c2, context.Background(), mEcho, nil, nil)
	blockUntil(t, fc, 1) // the waiting call's Timeout
	fc.Advance(20 * time.Millisecond)
	if r := await(t, res, "the call waiting for a slot"); !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("waiting for a slot past the deadline: %v", r.err)
	}
	close(ts2.release)
	if r := await(t, hold, "the call holding the slot"); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestClose(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	c, err := Dial(ClientConfig{Addr: ts.Addr(), Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctxTimeout(t, guardTimeout), mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	res := callAsync(c, ctxTimeout(t, guardTimeout), mBlock, nil, nil)
	await(t, ts.entered, "the request reaching the handler")
	c.Close()
	if r := await(t, res, "the call in flight at Close"); !errors.Is(r.err, ErrClosed) {
		t.Fatalf("call in flight at Close: %v", r.err)
	}
	if _, err := c.Call(context.Background(), mEcho, nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	c.Close()
	ts.Close()
	ts.Close()
	if left := blockedGoroutines(); len(left) > 0 {
		t.Fatalf("%d goroutines left blocked after Close:\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

// blockedGoroutines returns the stacks of the blocked goroutines that the
// package's code, not its tests, started. Close waits for each of them to
// signal its end, after which it only exits: one still there may be
// runnable, never blocked. fastrpc's per-connection goroutines end on
// their own just after their connection closes and are not counted.
func blockedGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var blocked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		exiting := strings.Contains(header, "[running]") || strings.Contains(header, "[runnable]")
		if _, creator, ok := strings.Cut(g, "\ncreated by manta/rpc."); ok && !exiting && !strings.Contains(creator, "_test.go:") {
			blocked = append(blocked, g)
		}
	}
	return blocked
}

// TestServerCloseWaitsForHandlers: Close returns only after running
// handlers have, and no handler starts after it.
func TestServerCloseWaitsForHandlers(t *testing.T) {
	var running, after atomic.Int32
	var closed atomic.Bool
	entered, sawDone, finish := make(chan struct{}, 4), make(chan struct{}, 4), make(chan struct{})
	s, err := NewServer(ServerConfig{Token: testToken, Logger: testLogger(t), Handler: func(ctx *Ctx, m Method, req, resp []byte) ([]byte, error) {
		if closed.Load() {
			after.Add(1)
		}
		running.Add(1)
		defer running.Add(-1)
		entered <- struct{}{}
		<-ctx.Done()
		sawDone <- struct{}{}
		<-finish // still finishing up while Close runs
		return resp, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, ClientConfig{Addr: s.Addr()})
	for range 4 {
		go c.Call(context.Background(), 1, nil, nil)
	}
	for range 4 {
		await(t, entered, "a handler starting")
	}
	closeDone := make(chan struct{})
	go func() {
		s.Close()
		close(closeDone)
	}()
	for range 4 {
		await(t, sawDone, "a handler seeing Done")
	}
	select {
	case <-closeDone:
		t.Fatal("Close returned while handlers were running")
	default:
	}
	close(finish)
	await(t, closeDone, "Close")
	closed.Store(true)
	if n := running.Load(); n != 0 {
		t.Fatalf("%d handlers still running after Close", n)
	}
	if after.Load() != 0 {
		t.Fatal("a handler started after Close")
	}
}

// TestReconnectBacksOff: a server that drops every connection (at once, or
// right after the handshake) sees attempts spaced by the doubling,
// jittered backoff, not a storm.
func TestReconnectBacksOff(t *testing.T) {
	for _, afterHandshake := range []bool{false, true} {
		t.Run(fmt.Sprintf("afterHandshake=%v", afterHandshake), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var attempts atomic.Int32
			go func() {
				for {
					nc, err := ln.Accept()
					if err != nil {
						return
					}
					attempts.Add(1)
					if afterHandshake {
						nc.SetDeadline(time.Now().Add(guardTimeout))
						if _, err := serverHandshake(nc, testToken, DefaultMaxFrame, newNonce()); err == nil {
							fastrpcServerHeader(nc, io.Discard)
						}
					}
					nc.Close()
				}
			}()
			fc := clockwork.NewFakeClock()
			backoff := Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}
			c := dial(t, ClientConfig{Addr: ln.Addr().String(), Clock: fc, Backoff: backoff})
			disconnected := func(connected bool, last error) bool { return !connected && last != nil }
			waitState(t, c, "the first attempt failing", disconnected)
			const pauses = 6
			for k := range pauses {
				// c pauses: its timer is the only one armed.
				want := min(backoff.Min<<k, backoff.Max)
				blockUntil(t, fc, 1)
				next := nextChange(c)
				fc.Advance(want*8/10 - time.Microsecond)
				// A pause that ended early fails this check, unless the
				// next attempt has armed its DialTimeout already, which
				// it hardly ever has this soon.
				if !armed(fc, 1) {
					t.Fatalf("pause %d ended before %v (-20%% of %v)", k, want*8/10, want)
				}
				fc.Advance(want*4/10 + 2*time.Microsecond)
				await(t, next, fmt.Sprintf("an attempt after pause %d, by %v (+20%% of %v)", k, want*12/10, want))
				waitState(t, c, "the attempt failing", disconnected)
			}
			if n := attempts.Load(); n != pauses+1 {
				t.Fatalf("%d connection attempts around %d pauses", n, pauses)
			}
		})
	}
}

// A large response the caller has room for is read straight into the
// caller's buffer; one it has no room for still arrives whole.
func TestLargeResponseIntoCallersBuffer(t *testing.T) {
	s, err := NewServer(ServerConfig{Token: testToken, Handler: echoHandler})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := dial(t, ClientConfig{Addr: s.Addr()})
	req := make([]byte, 1<<20)
	for i := range req {
		req[i] = byte(i * 7)
	}
	ctx := ctxTimeout(t, 10*time.Second)
	buf := make([]byte, 3, 3+len(req))
	resp, err := c.Call(ctx, 1, req, buf)
	if err != nil || !bytes.Equal(resp[3:], req) {
		t.Fatalf("Call into a buffer with room: %d bytes, %v", len(resp), err)
	}
	if &resp[0] != &buf[0] {
		t.Fatal("the response did not land in the caller's buffer")
	}
	small := make([]byte, 0, 16)
	if resp, err = c.Call(ctx, 1, req, small); err != nil || !bytes.Equal(resp, req) {
		t.Fatalf("Call into a small buffer: %d bytes, %v", len(resp), err)
	}
}

// A large response that stalls half-way while being read into the
// caller's buffer still ends the call at its deadline: the connection goes.
func TestStalledLargeResponseKeepsTheDeadline(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stall := make(chan struct{})
	defer close(stall)
	go func() { // a proxy that stops passing the server's bytes after 512 KiB
		cc, err := ln.Accept()
		if err != nil {
			return
		}
		defer cc.Close()
		sc, err := net.Dial("tcp", ts.Addr())
		if err != nil {
			return
		}
		defer sc.Close()
		go io.Copy(sc, cc)
		io.CopyN(cc, sc, 512<<10)
		<-stall
	}()
	c := dial(t, ClientConfig{Addr: ln.Addr().String()})
	req := make([]byte, 1<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	buf := make([]byte, 0, len(req))
	res := callAsync(c, ctx, mEcho, req, buf)
	r := await(t, res, "a call whose response stalled")
	if !errors.Is(r.err, context.DeadlineExceeded) || len(r.out) != 0 {
		t.Fatalf("stalled response: %d bytes, %v", len(r.out), r.err)
	}
}

// stallServer accepts connections, authenticates them, and then never
// reads a byte: a peer that stopped reading.
func stallServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, nc := range conns {
			nc.Close()
		}
	})
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			go func() {
				if _, err := serverHandshake(nc, testToken, DefaultMaxFrame, newNonce()); err == nil {
					fastrpcHeaders(nc)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// queuedBytes is the size of the frames c's connection cn holds queued.
func queuedBytes(cn *clientConn) int {
	cn.qmu.Lock()
	defer cn.qmu.Unlock()
	n := 0
	for _, cl := range cn.queue {
		n += len(cl.frame)
	}
	return n
}

// TestStalledServerFailsTheConnection: a server that stops reading
// blocks the writer on the socket. The calls that time out meanwhile do
// not leave their frames queued (the queue holds at most MaxPending
// frames), and once the writer has been stuck for WriteTimeout a call
// that gives up fails the connection, which is replaced.
func TestStalledServerFailsTheConnection(t *testing.T) {
	const maxPending, size = 8, 1 << 20
	fc := clockwork.NewFakeClock()
	c := dial(t, ClientConfig{Addr: stallServer(t), MaxPending: maxPending, Timeout: 20 * time.Millisecond,
		WriteTimeout: 100 * time.Millisecond, Clock: fc})
	waitState(t, c, "the first connection", func(live bool, _ error) bool { return live })
	cn := c.cur.Load()
	req := make([]byte, size)
	for round := range 40 { // 320 calls of 1 MiB: 315 MiB queued before the fix
		var res []<-chan result
		for range maxPending {
			res = append(res, callAsync(c, context.Background(), mEcho, req, nil))
		}
		blockUntil(t, fc, maxPending) // their Timeouts
		fc.Advance(20 * time.Millisecond)
		for _, ch := range res {
			if r := await(t, ch, "a call to a stalled server"); !errors.Is(r.err, context.DeadlineExceeded) {
				t.Fatalf("round %d: %v, want a deadline error", round, r.err)
			}
		}
		if n := queuedBytes(cn); n > maxPending*(size+64) {
			t.Fatalf("round %d: %d MiB queued for a server that reads nothing, want at most MaxPending (%d) frames", round, n>>20, maxPending)
		}
		if cn.isDead() {
			t.Logf("the connection failed in round %d: %v", round, cn.cause)
			return
		}
	}
	t.Fatal("the connection to a server that reads nothing is still up after 40 rounds")
}

// TestServerToldTimeLeft: a call that waited (here for a MaxPending
// slot) tells the server the time it has left when its request goes, not
// the budget it began with.
func TestServerToldTimeLeft(t *testing.T) {
	fc := clockwork.NewFakeClock()
	ts := startServer(t, ServerConfig{Clock: fc})
	c := dial(t, ClientConfig{Addr: ts.Addr(), MaxPending: 1, Timeout: 3 * time.Second, Clock: fc})
	hold := callAsync(c, ctxTimeout(t, guardTimeout), mBlock, nil, nil) // its deadline is not on fc
	await(t, ts.entered, "the call holding the slot")
	res := callAsync(c, context.Background(), mDeadline, nil, nil)
	blockUntil(t, fc, 1) // its Timeout: it has begun, and waits for the slot
	fc.Advance(time.Second)
	close(ts.release)
	if r := await(t, hold, "the call holding the slot"); r.err != nil {
		t.Fatal(r.err)
	}
	r := await(t, res, "the call that waited")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if left := time.Duration(binary.LittleEndian.Uint64(r.out)) * time.Microsecond; left != 2*time.Second {
		t.Fatalf("after waiting 1s of its 3s, the handler saw %v left, want 2s", left)
	}
}

// Connections that never authenticate do not take the slots of clients
// that hold the token: with Ordered, Concurrency bounds the authenticated
// connections alone.
func TestUnauthenticatedConnectionsLeaveRoom(t *testing.T) {
	ts := startServer(t, ServerConfig{Ordered: true, Concurrency: 2, HandshakeTimeout: time.Hour})
	for range 8 {
		nc, err := net.Dial("tcp", ts.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close() // says nothing until the test ends
	}
	deadline := time.Now().Add(guardTimeout)
	for {
		ts.mu.Lock()
		n := ts.handshaking
		ts.mu.Unlock()
		if n == 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server tracks %d of the 8 connections", n)
		}
		runtime.Gosched()
	}
	ctx := ctxTimeout(t, 5*time.Second)
	for i := range 2 {
		c := dial(t, ClientConfig{Addr: ts.Addr()})
		if _, err := c.Call(ctx, mEcho, []byte("x"), nil); err != nil {
			t.Fatalf("client %d beside 8 connections that never authenticate: %v", i, err)
		}
	}
}
