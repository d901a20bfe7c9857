package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jonboulle/clockwork"
)

// Method is a service's method number. The rpc layer carries it and does
// not interpret it.
type Method uint16

// Handler serves one request: it appends the response to resp and returns
// it. An error travels back to the caller as a *RemoteError carrying
// err.Error().
//
// req is valid only until the handler returns; copy what must outlive the
// call. The server writes the returned slice and then reuses resp's memory
// for later requests, so return resp extended by append (the usual case),
// or a slice the handler will not modify afterwards.
//
// Handlers run concurrently, each request in its own goroutine, unless
// ServerConfig.Ordered is set. A panic in a handler is recovered, logged
// with its stack and returned to the caller as a *RemoteError.
type Handler func(ctx *Ctx, m Method, req []byte, resp []byte) ([]byte, error)

// Errors. Every error a Call returns is one of these (test with errors.Is
// or errors.As), a context error, or a wrapped combination.
var (
	// ErrUnauthenticated: the peer refused this side's token, or did not
	// prove it holds the token. Calls fail fast with it rather than wait.
	ErrUnauthenticated = errors.New("rpc: unauthenticated")
	// ErrUnavailable: the peer could not be reached, or the connection
	// broke, within the call's deadline. A call that fails with it alone was
	// never sent and is safe to retry; see ErrConnectionLost.
	ErrUnavailable = errors.New("rpc: peer unavailable")
	// ErrConnectionLost (always together with ErrUnavailable): the
	// connection broke after the request was written, so the handler may or
	// may not have run.
	ErrConnectionLost = errors.New("rpc: connection lost with the call in flight")
	// ErrFrameTooLarge: a request or response is over a MaxFrame limit;
	// the message names the limit.
	ErrFrameTooLarge = errors.New("rpc: frame too large")
	// ErrOverloaded: the server had Concurrency handlers in flight and
	// refused the request without running it.
	ErrOverloaded = errors.New("rpc: server overloaded")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("rpc: client closed")
)

// RemoteError is a handler's error, as the caller sees it.
type RemoteError struct {
	Method Method
	Msg    string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("rpc: method %d: remote error: %s", e.Method, e.Msg)
}

// Ctx is what a handler knows about its request. It is valid only until the
// handler returns.
type Ctx struct {
	conn     net.Conn
	server   *Server
	deadline time.Time
	cctx     context.Context
	cancel   context.CancelFunc
}

// RemoteAddr is the address of the client that sent the request.
func (c *Ctx) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// Deadline is when the caller stops waiting for the response (sent along
// with every request, relative to its arrival so clocks need not agree),
// on the server's Clock; zero if the caller sent none.
func (c *Ctx) Deadline() time.Time { return c.deadline }

// Done is closed when the server is closing; a handler that blocks should
// watch it, since Server.Close waits for running handlers.
func (c *Ctx) Done() <-chan struct{} { return c.server.done }

// Context returns a context that carries the request's deadline (ending
// by the server's Clock) and is cancelled when the handler returns or the
// server closes: the context to pass to calls a handler makes on behalf of
// its caller (a chain replica forwarding an update, say). It allocates on
// first use.
func (c *Ctx) Context() context.Context {
	if c.cctx == nil {
		if c.deadline.IsZero() {
			c.cctx, c.cancel = context.WithCancel(c.server.baseCtx)
		} else {
			c.cctx, c.cancel = clockwork.WithDeadline(c.server.baseCtx, c.server.cfg.Clock, c.deadline)
		}
	}
	return c.cctx
}

func (c *Ctx) reset() {
	if c.cancel != nil {
		c.cancel()
	}
	c.cctx, c.cancel = nil, nil
}
