package rpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testToken = []byte("cluster-token-for-tests")

// Test methods.
const (
	mEcho     Method = 1 // echoes the request
	mFail     Method = 2 // returns an error carrying the request
	mSleep    Method = 3 // sleeps for the duration in the request (ms, u32), or until the server closes
	mSize     Method = 4 // responds with as many bytes as the request says (u32)
	mPanic    Method = 5
	mDeadline Method = 6 // responds with the µs left until Ctx.Deadline, and Context's deadline
)

// testServer is a Server with a handler that counts its calls and a log
// the tests read.
type testServer struct {
	*Server
	calls atomic.Int64
	logMu sync.Mutex
	log   strings.Builder
}

func (ts *testServer) logf(format string, args ...any) {
	ts.logMu.Lock()
	fmt.Fprintf(&ts.log, format+"\n", args...)
	ts.logMu.Unlock()
}

func (ts *testServer) logged() string {
	ts.logMu.Lock()
	defer ts.logMu.Unlock()
	return ts.log.String()
}

// waitLog waits until the server's log holds sub.
func (ts *testServer) waitLog(t *testing.T, sub string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(ts.logged(), sub) {
		if time.Now().After(deadline) {
			t.Fatalf("log never mentioned %q; log:\n%s", sub, ts.logged())
		}
		time.Sleep(time.Millisecond)
	}
}

func (ts *testServer) handle(ctx *Ctx, m Method, req, resp []byte) ([]byte, error) {
	ts.calls.Add(1)
	switch m {
	case mEcho:
		return append(resp, req...), nil
	case mFail:
		return resp, errors.New("failed: " + string(req))
	case mSleep:
		select {
		case <-time.After(time.Duration(binary.LittleEndian.Uint32(req)) * time.Millisecond):
		case <-ctx.Done():
		}
		return append(resp, "slept"...), nil
	case mSize:
		return append(resp, make([]byte, binary.LittleEndian.Uint32(req))...), nil
	case mPanic:
		panic("boom")
	case mDeadline:
		d, ok := ctx.Context().Deadline()
		if !ok || !d.Equal(ctx.Deadline()) {
			return resp, fmt.Errorf("Context deadline %v %v, Ctx deadline %v", d, ok, ctx.Deadline())
		}
		return binary.LittleEndian.AppendUint64(resp, uint64(time.Until(ctx.Deadline())/time.Microsecond)), nil
	}
	return resp, fmt.Errorf("unknown method %d", m)
}

func startServer(t testing.TB, cfg ServerConfig) *testServer {
	t.Helper()
	ts := &testServer{}
	if cfg.Token == nil {
		cfg.Token = testToken
	}
	cfg.Handler = ts.handle
	cfg.Logf = ts.logf
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

func TestRoundTrip(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("ordered=%v", ordered), func(t *testing.T) {
			ts := startServer(t, ServerConfig{Ordered: ordered})
			c := dial(t, ClientConfig{Addr: ts.Addr()})
			ctx := ctxTimeout(t, 5*time.Second)

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
			ts.waitLog(t, "handler for method 5 panicked: boom")
			if out, err := c.Call(ctx, mEcho, []byte("still up"), nil); err != nil || string(out) != "still up" {
				t.Fatalf("after panic: %q, %v", out, err)
			}
		})
	}
}

func TestDeadlineTravels(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	c := dial(t, ClientConfig{Addr: ts.Addr(), Timeout: 3 * time.Second})
	out, err := c.Call(ctxTimeout(t, 2*time.Second), mDeadline, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Duration(binary.LittleEndian.Uint64(out)) * time.Microsecond; left < time.Second || left > 2*time.Second {
		t.Errorf("handler saw %v left of a 2 s deadline", left)
	}
	out, err = c.Call(context.Background(), mDeadline, nil, nil) // the client's default Timeout
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Duration(binary.LittleEndian.Uint64(out)) * time.Microsecond; left < 2*time.Second || left > 3*time.Second {
		t.Errorf("handler saw %v left of the 3 s default", left)
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
	c := dial(t, ClientConfig{Addr: ts.Addr(), Token: []byte("not the token")})
	start := time.Now()
	_, err := c.Call(ctxTimeout(t, 5*time.Second), mEcho, []byte("x"), nil)
	if !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("wrong token: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusal took %v; it should not wait for the deadline", d)
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

// rawConn connects to ts without the rpc client.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(5 * time.Second))
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
	ts2 := startServer(t, ServerConfig{HandshakeTimeout: 50 * time.Millisecond})
	nc2 := rawConn(t, ts2.Addr())
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
		if out, err := good.Call(ctxTimeout(t, 5*time.Second), mEcho, []byte("ok"), nil); err != nil || string(out) != "ok" {
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
	ctx := ctxTimeout(t, 5*time.Second)

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

func TestDeadlineExceeded(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	c := dial(t, ClientConfig{Addr: ts.Addr(), Timeout: 100 * time.Millisecond})
	// Connect first, so the deadline below measures the call alone.
	if _, err := c.Call(context.Background(), mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want time.Duration
	}{
		{"ctx deadline", ctxTimeout(t, 50*time.Millisecond), 50 * time.Millisecond},
		{"default Timeout", context.Background(), 100 * time.Millisecond},
	} {
		start := time.Now()
		out, err := c.Call(tc.ctx, mSleep, u32(2000), []byte("keep"))
		d := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) || string(out) != "keep" {
			t.Fatalf("%s: %q, %v", tc.name, out, err)
		}
		if d < tc.want || d > tc.want+time.Second {
			t.Errorf("%s: returned after %v, deadline %v", tc.name, d, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := c.Call(ctx, mSleep, u32(2000), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if _, err := c.Call(expired, mEcho, nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired context: %v", err)
	}
	// The connection survives abandoned calls, and late responses are
	// dropped.
	if out, err := c.Call(ctxTimeout(t, 5*time.Second), mEcho, []byte("after"), nil); err != nil || string(out) != "after" {
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
	c := dial(t, ClientConfig{Addr: freeAddr(t), Backoff: Backoff{Min: time.Millisecond, Max: 20 * time.Millisecond}})
	for _, d := range []time.Duration{20 * time.Millisecond, 200 * time.Millisecond} {
		start := time.Now()
		_, err := c.Call(ctxTimeout(t, d), mEcho, nil, nil)
		took := time.Since(start)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrConnectionLost) {
			t.Fatalf("no server: %v", err)
		}
		if !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("error does not carry the dial error: %v", err)
		}
		if took < d || took > d+time.Second {
			t.Errorf("returned after %v, deadline %v", took, d)
		}
	}

	// FailFast: no waiting once an attempt has failed.
	ff := dial(t, ClientConfig{Addr: freeAddr(t), FailFast: true})
	deadline := time.Now().Add(5 * time.Second)
	for {
		start := time.Now()
		_, err := ff.Call(ctxTimeout(t, time.Second), mEcho, nil, nil)
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("FailFast: %v", err)
		}
		if time.Since(start) < 500*time.Millisecond {
			break // failed fast, once the first attempt had failed
		}
		if time.Now().After(deadline) {
			t.Fatal("FailFast calls keep waiting for their deadlines")
		}
	}

	// A call in flight when the server goes away.
	ts := startServer(t, ServerConfig{})
	c2 := dial(t, ClientConfig{Addr: ts.Addr()})
	if _, err := c2.Call(ctxTimeout(t, 5*time.Second), mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c2.Call(ctxTimeout(t, 10*time.Second), mSleep, u32(60_000), nil)
		errc <- err
	}()
	for ts.calls.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	ts.Close() // the handler sees Ctx.Done and returns; Close waits for it
	select {
	case err := <-errc:
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrConnectionLost) {
			t.Fatalf("call in flight: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("call in flight hung after the server closed")
	}
}

func TestReconnectAfterRestart(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	addr := ts.Addr()
	c := dial(t, ClientConfig{Addr: addr, Backoff: Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}})
	if _, err := c.Call(ctxTimeout(t, 5*time.Second), mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	ts.Close()
	if _, err := c.Call(ctxTimeout(t, 50*time.Millisecond), mEcho, nil, nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("server down: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // several failed attempts, backing off
	ts2 := startServer(t, ServerConfig{Addr: addr})
	// The first call waits for the reconnection within its deadline.
	out, err := c.Call(ctxTimeout(t, 5*time.Second), mEcho, []byte("back"), nil)
	if err != nil || string(out) != "back" {
		t.Fatalf("after restart: %q, %v", out, err)
	}
	if ts2.calls.Load() != 1 {
		t.Fatalf("the new server ran %d calls", ts2.calls.Load())
	}
}

func TestFaultInjection(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	var fi FaultInjection
	c := dial(t, ClientConfig{Addr: ts.Addr(), Fault: &fi})
	ctx := ctxTimeout(t, 5*time.Second)
	if _, err := c.Call(ctx, mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	fi.Set(mEcho, Fault{Delay: 60 * time.Millisecond, Jitter: 10 * time.Millisecond})
	fi.Set(mFail, Fault{Drop: 1})

	start := time.Now()
	if _, err := c.Call(ctx, mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("delayed call took %v, want ≥ 60ms", d)
	}
	start = time.Now()
	if _, err := c.Call(ctx, mSize, u32(1), nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("a method without a fault took %v", d)
	}
	before := ts.calls.Load()
	start = time.Now()
	if _, err := c.Call(ctxTimeout(t, 40*time.Millisecond), mFail, nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dropped call: %v", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("dropped call returned after %v, before its deadline", d)
	}
	if ts.calls.Load() != before {
		t.Fatal("a dropped request reached the handler")
	}
	// A delay past the deadline is a deadline exceeded.
	if _, err := c.Call(ctxTimeout(t, 20*time.Millisecond), mEcho, nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delay past the deadline: %v", err)
	}
	fi.Set(mEcho, Fault{})
	fi.Reset()
	start = time.Now()
	if _, err := c.Call(ctx, mFail, nil, nil); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after Reset: %v", err)
	}
	if _, err := c.Call(ctx, mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("calls after Reset took %v", d)
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
	ctx := ctxTimeout(t, 5*time.Second)
	if _, err := c.Call(ctx, mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.Call(ctx, mSleep, u32(300), nil); done <- err }()
	for ts.calls.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	if _, err := c.Call(ctx, mEcho, nil, nil); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("second call with Concurrency 1: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// MaxPending makes callers wait for a slot, not fail.
	c2 := dial(t, ClientConfig{Addr: startServer(t, ServerConfig{}).Addr(), MaxPending: 1})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c2.Call(ctx, mSleep, u32(5), nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// ... within their deadlines.
	c2.Call(ctx, mEcho, nil, nil)
	hold := make(chan struct{})
	go func() { c2.Call(ctx, mSleep, u32(300), nil); close(hold) }()
	time.Sleep(20 * time.Millisecond)
	if _, err := c2.Call(ctxTimeout(t, 20*time.Millisecond), mEcho, nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for a slot past the deadline: %v", err)
	}
	<-hold
}

func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	ts := startServer(t, ServerConfig{})
	c, err := Dial(ClientConfig{Addr: ts.Addr(), Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctxTimeout(t, 5*time.Second), mEcho, nil, nil); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(ctxTimeout(t, 10*time.Second), mSleep, u32(60_000), nil)
		errc <- err
	}()
	for ts.calls.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	c.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("call in flight at Close: %v", err)
	}
	if _, err := c.Call(context.Background(), mEcho, nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	c.Close()
	ts.Close()
	ts.Close()
	// Nothing is left running (fastrpc's per-connection goroutines exit
	// just after their connection closes).
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestServerCloseWaitsForHandlers: Close returns only after running
// handlers have, and no handler starts after it.
func TestServerCloseWaitsForHandlers(t *testing.T) {
	var running, after atomic.Int32
	var closed atomic.Bool
	release := make(chan struct{})
	s, err := NewServer(ServerConfig{Token: testToken, Logf: t.Logf, Handler: func(ctx *Ctx, m Method, req, resp []byte) ([]byte, error) {
		if closed.Load() {
			after.Add(1)
		}
		running.Add(1)
		defer running.Add(-1)
		select {
		case <-release:
		case <-ctx.Done():
			time.Sleep(20 * time.Millisecond) // finish up
		}
		return resp, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, ClientConfig{Addr: s.Addr()})
	for range 4 {
		go c.Call(context.Background(), 1, nil, nil)
	}
	for running.Load() < 4 {
		time.Sleep(time.Millisecond)
	}
	s.Close()
	closed.Store(true)
	if n := running.Load(); n != 0 {
		t.Fatalf("%d handlers still running after Close", n)
	}
	if after.Load() != 0 {
		t.Fatal("a handler started after Close")
	}
	close(release)
}

// TestReconnectBacksOff: a server that drops every connection (at once, or
// right after the handshake) sees attempts spaced by the doubling backoff,
// not a storm.
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
						nc.SetDeadline(time.Now().Add(time.Second))
						if _, err := serverHandshake(nc, testToken, DefaultMaxFrame, newNonce()); err == nil {
							fastrpcServerHeader(nc, io.Discard)
						}
					}
					nc.Close()
				}
			}()
			c := dial(t, ClientConfig{Addr: ln.Addr().String(), Backoff: Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}})
			time.Sleep(500 * time.Millisecond)
			c.Close()
			// 10+20+40+80+80+... ms (±20%) in 500 ms: about 9 attempts.
			if n := attempts.Load(); n < 4 || n > 20 {
				t.Fatalf("%d connection attempts in 500 ms with a 10–80 ms backoff", n)
			}
		})
	}
}
