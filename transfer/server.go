package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"manta/rpc"
	"manta/shm/store"
)

// ServerConfig configures a Server. Store and Token are required.
type ServerConfig struct {
	// Store is the local object store whose sealed objects are served.
	Store *store.Store
	// Addr is the address to listen on; "" means a free loopback port
	// (rpc's default: "0.0.0.0:port" listens on every interface).
	Addr string
	// Token is the cluster token peers must prove they hold.
	Token []byte
	// MaxChunk is the largest chunk served (it bounds the response
	// frames). Default DefaultMaxChunk.
	MaxChunk int
	// Logger receives refused connections and broken frames. Default
	// slog.Default().
	Logger *slog.Logger

	// beforeChunk, if set (tests), runs before each chunk is read; an
	// error fails the request with it.
	beforeChunk func(c *rpc.Ctx, r Request) error
}

// DefaultMaxChunk is the default largest chunk a Server serves.
const DefaultMaxChunk = 64 << 20

// Server serves the objects of one local store to peers' Pullers over rpc:
// each request names an object and a byte range; the object is pinned for
// the read, the bytes copied into the response, and the pin released.
// Requests run in arrival order on their connection's reader goroutine
// (rpc's Ordered mode, the fastest for a handler that only copies): a
// chunk of an object spilled to disk waits for its restore, and holds up
// that connection meanwhile.
type Server struct {
	st   *store.Store
	view *store.View
	rs   *rpc.Server
	cfg  ServerConfig

	ctx    context.Context // ends at Close: bounds a Pin's wait for a restore
	cancel context.CancelFunc
}

// NewServer starts serving cfg.Store on cfg.Addr.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("transfer: ServerConfig.Store is required")
	}
	if cfg.MaxChunk == 0 {
		cfg.MaxChunk = DefaultMaxChunk
	}
	if cfg.MaxChunk < 0 || cfg.MaxChunk > maxChunk {
		return nil, fmt.Errorf("transfer: MaxChunk %d out of range (1..%d)", cfg.MaxChunk, maxChunk)
	}
	view, err := store.NewView(cfg.Store.Segment())
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	s := &Server{st: cfg.Store, view: view, cfg: cfg}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.rs, err = rpc.NewServer(rpc.ServerConfig{
		Addr:     cfg.Addr,
		Token:    cfg.Token,
		Handler:  s.handle,
		MaxFrame: cfg.MaxChunk,
		Logger:   cfg.Logger,
		Ordered:  true,
	})
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("transfer: %w", err)
	}
	return s, nil
}

// Addr is the address the server listens on, for Pullers' peer lists.
func (s *Server) Addr() string { return s.rs.Addr() }

// Close stops serving: it closes every connection and waits for the
// requests being served. It does not close the store.
func (s *Server) Close() error {
	s.cancel()
	return s.rs.Close()
}

// handle serves one chunk request.
func (s *Server) handle(c *rpc.Ctx, m rpc.Method, req, resp []byte) ([]byte, error) {
	if m != MethodChunk {
		return resp, fmt.Errorf("%w: unknown method %d", errMalformed, m)
	}
	r, err := DecodeRequest(req)
	if err != nil {
		return resp, err
	}
	if r.Length > s.cfg.MaxChunk {
		return resp, fmt.Errorf("%w: chunk of %d bytes over the server's MaxChunk %d", ErrBadRange, r.Length, s.cfg.MaxChunk)
	}
	if s.cfg.beforeChunk != nil {
		if err := s.cfg.beforeChunk(c, r); err != nil {
			return resp, err
		}
	}
	// Pin waits only to restore a spilled object, within the store's
	// PutTimeout; the server's own context (ended by Close) rather than
	// the request's saves making a context per chunk. PinForPeer: a
	// cached copy served stays cached, as nobody here holds it after.
	sl, err := s.st.PinForPeer(s.ctx, r.ID)
	if err != nil {
		return resp, pinError(r.ID, err)
	}
	defer s.st.Unpin(r.ID)
	if sl.Size != r.Size {
		return resp, fmt.Errorf("%w: object %v has %d bytes, the request says %d", ErrSizeMismatch, r.ID, sl.Size, r.Size)
	}
	data, err := s.view.BytesOf(r.ID, sl)
	if err != nil {
		return resp, fmt.Errorf("%w: object %v: %v", ErrPeer, r.ID, err)
	}
	return append(resp, data[r.Offset:r.Offset+int64(r.Length)]...), nil
}

// pinError turns a store error into the code a Puller understands.
func pinError(id store.ID, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: object %v", ErrObjectNotFound, id)
	case errors.Is(err, store.ErrNotSealed):
		return fmt.Errorf("%w: object %v", ErrNotSealed, id)
	case errors.Is(err, store.ErrLost):
		return fmt.Errorf("%w: object %v", ErrObjectLost, id)
	}
	return fmt.Errorf("%w: object %v: %v", ErrPeer, id, err)
}
