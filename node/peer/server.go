package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"manta/rpc"
	"manta/rpc/wire"
)

// Executor runs what peers ask of a node: node/host's Host is one.
type Executor interface {
	// Execute runs a task placed on this node and returns its outcome
	// once it is done, or an error if the node cannot take it (it shut
	// down, ctx ended). req aliases the request's frame: it is valid
	// during the call only.
	Execute(ctx context.Context, req *RunRequest) (RunReply, error)
	// ReleaseLent gives back the holds earlier replies lent member on
	// ids.
	ReleaseLent(member string, ids []wire.ObjectID)
	// CancelRun cancels the task of an Execute, running or still to
	// come: its Execute then returns the reply saying it was cancelled.
	// req is valid during the call only.
	CancelRun(req *CancelRequest)
}

// LoadReporter is an Executor that reports its node's load (MethodLoad):
// a job node tells the node that started it, which adds it to its own
// heartbeats. The encoding is the reporter's.
type LoadReporter interface {
	Load() []byte
}

// ServerConfig configures a Server. Exec and Token are required.
type ServerConfig struct {
	Exec Executor
	// Addr is the address to listen on; "" means a free loopback port.
	Addr string
	// Token is the cluster token peers must prove they hold.
	Token []byte
	// MaxFrame bounds requests and replies (inline arguments and values
	// travel in them). Default rpc.DefaultMaxFrame.
	MaxFrame int
	// MaxRuns bounds the runs (MethodRun) in flight; a run over it is
	// refused at once with ErrPeerBusy, not run. The rpc server takes
	// MaxRuns+ShortRequests handlers, so that cancels, releases and loads
	// always find room while runs fill theirs. Default DefaultMaxRuns.
	MaxRuns int
	// Logger receives refused connections and broken frames. Default
	// slog.Default().
	Logger *slog.Logger
}

// Server defaults.
const (
	// DefaultMaxRuns is ServerConfig.MaxRuns' default: the rpc server's
	// default Concurrency less ShortRequests.
	DefaultMaxRuns = rpc.DefaultConcurrency - ShortRequests
	// ShortRequests is the room kept for the short requests (Cancel,
	// Release, Load), on top of MaxRuns: they run at once, so few are
	// ever in flight.
	ShortRequests = 256
)

// Server serves a node's Executor to its peers over rpc, authenticated
// by the cluster token. Each request runs on its own goroutine: a task
// may run for long.
type Server struct {
	rs      *rpc.Server
	exec    Executor
	maxRuns int64
	runs    atomic.Int64 // runs in flight
}

// NewServer starts serving cfg.Exec on cfg.Addr.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Exec == nil {
		return nil, errors.New("peer: ServerConfig.Exec is required")
	}
	if cfg.MaxRuns <= 0 {
		cfg.MaxRuns = DefaultMaxRuns
	}
	s := &Server{exec: cfg.Exec, maxRuns: int64(cfg.MaxRuns)}
	rs, err := rpc.NewServer(rpc.ServerConfig{Addr: cfg.Addr, Token: cfg.Token, Handler: s.handle, MaxFrame: cfg.MaxFrame,
		Concurrency: cfg.MaxRuns + ShortRequests, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	s.rs = rs
	return s, nil
}

// Addr is the address the server listens on: the node's peer address.
func (s *Server) Addr() string { return s.rs.Addr() }

// Close stops serving and waits for the requests being served.
func (s *Server) Close() error { return s.rs.Close() }

func (s *Server) handle(c *rpc.Ctx, m rpc.Method, req, resp []byte) ([]byte, error) {
	switch m {
	case MethodRun:
		if n := s.runs.Add(1); n > s.maxRuns {
			s.runs.Add(-1)
			return resp, fmt.Errorf("%w: %d runs in flight (MaxRuns)", ErrPeerBusy, s.maxRuns)
		}
		defer s.runs.Add(-1)
		r, err := DecodeRunRequest(req)
		if err != nil {
			return resp, err
		}
		reply, err := s.exec.Execute(c.Context(), &r)
		if err != nil {
			return resp, err
		}
		return reply.AppendBinary(resp), nil
	case MethodRelease:
		member, ids, err := DecodeRelease(req)
		if err != nil {
			return resp, err
		}
		s.exec.ReleaseLent(member, ids)
		return resp, nil
	case MethodCancel:
		r, err := DecodeCancelRequest(req)
		if err != nil {
			return resp, err
		}
		s.exec.CancelRun(&r)
		return resp, nil
	case MethodLoad:
		if lr, ok := s.exec.(LoadReporter); ok {
			return append(resp, lr.Load()...), nil
		}
		return resp, fmt.Errorf("peer: this node reports no load")
	}
	return resp, fmt.Errorf("%w: unknown method %d", ErrMalformed, m)
}
