package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/internal/httpserve"
)

// DefaultAddr is where a Server listens unless ServerConfig.Addr says
// otherwise: loopback only, on a port the kernel picks.
const DefaultAddr = "127.0.0.1:0"

// InferPath is the path of a Server's one endpoint.
const InferPath = "/v1/infer"

// MaxTimeout is the longest timeout_ms a request may ask for.
const MaxTimeout = time.Hour

// ServerConfig configures a Server.
type ServerConfig struct {
	// Addr is host:port to listen on; empty means DefaultAddr. Anything
	// but loopback exposes the model, unauthenticated, to the network.
	Addr string
	// Clock times the batches' MaxWait and the requests' timeouts; nil
	// means the real clock.
	Clock clockwork.Clock
}

// Server is the REST baseline: the model behind a Batcher, reached by
// plain net/http with JSON bodies, the way a serving system outside the
// cluster (the paper's Clipper) is. One endpoint, POST InferPath:
//
//	request:  {"states": [[v, v, ...], ...], "timeout_ms": 250}
//	response: {"outputs": [[v, v, ...], ...]}           200
//	error:    {"error": "serve: ..."}                   400 bad JSON or shapes,
//	          405 not POST, 413 body too large, 415 not JSON, 500 model
//	          failed, 503 closing, 504 timed out
//
// timeout_ms is optional; the request's own connection closing cancels it
// too.
type Server struct {
	batcher *Batcher
	clock   clockwork.Clock
	maxBody int64
	http    *httpserve.Server
}

// NewServer serves m under p until Close.
func NewServer(m Model, p Policy, cfg ServerConfig) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	b, err := NewBatcher(m, p, cfg.Clock)
	if err != nil {
		return nil, err
	}
	s := &Server{batcher: b, clock: cfg.Clock, maxBody: maxRequestBytes(m.InputSize(), p.MaxBatch)}
	mux := http.NewServeMux()
	mux.HandleFunc(InferPath, s.serveInfer)
	s.http, err = httpserve.Start(cfg.Addr, mux)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("cannot serve on %s: %w", cfg.Addr, err)
	}
	return s, nil
}

// maxRequestBytes bounds a request body: a full batch of states written
// with up to 32 bytes a value, and room for the rest.
func maxRequestBytes(stateSize, maxBatch int) int64 {
	return int64(stateSize)*int64(maxBatch)*32 + 64<<10
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.http.Addr() }

// URL is the endpoint's URL, for HTTPClient.
func (s *Server) URL() string { return "http://" + s.http.Addr() + InferPath }

// Close stops listening, cuts off requests in progress and stops the
// batcher.
func (s *Server) Close() error {
	err := s.http.Close()
	s.batcher.Close()
	return err
}

// inferRequest and inferResponse are the endpoint's JSON bodies.
type inferRequest struct {
	States    [][]float32 `json:"states"`
	TimeoutMS int64       `json:"timeout_ms,omitempty"`
}

type inferResponse struct {
	Outputs [][]float32 `json:"outputs"`
}

type errorResponse struct {
	Error string `json:"error"`
}

// decodeRequest reads one request body: states of exactly stateSize
// values, at least one and at most maxStates of them, laid end to end, and
// the timeout it asks for (0: none). Anything else wraps ErrBadInput.
func decodeRequest(body io.Reader, stateSize, maxStates int) ([]float32, time.Duration, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var req inferRequest
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, 0, fmt.Errorf("%w: data after the request object", ErrBadInput)
	}
	if len(req.States) == 0 || len(req.States) > maxStates {
		return nil, 0, fmt.Errorf("%w: %d states, want 1 to %d", ErrBadInput, len(req.States), maxStates)
	}
	if req.TimeoutMS < 0 || req.TimeoutMS > MaxTimeout.Milliseconds() {
		return nil, 0, fmt.Errorf("%w: timeout_ms %d, want 0 to %d", ErrBadInput, req.TimeoutMS, MaxTimeout.Milliseconds())
	}
	states := make([]float32, 0, len(req.States)*stateSize)
	for i, st := range req.States {
		if len(st) != stateSize {
			return nil, 0, fmt.Errorf("%w: state %d has %d values, want %d", ErrBadInput, i, len(st), stateSize)
		}
		states = append(states, st...)
	}
	return states, time.Duration(req.TimeoutMS) * time.Millisecond, nil
}

// split cuts values laid end to end into rows of size (no copy).
func split(values []float32, size int) [][]float32 {
	rows := make([][]float32, len(values)/size)
	for i := range rows {
		rows[i] = values[i*size : (i+1)*size : (i+1)*size]
	}
	return rows
}

func (s *Server) serveInfer(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("%w: method %s, want POST", ErrBadInput, r.Method))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("%w: content type %q, want application/json", ErrBadInput, ct))
			return
		}
	}
	model := s.batcher.Model()
	states, timeout, err := decodeRequest(http.MaxBytesReader(w, r.Body, s.maxBody), model.InputSize(), s.batcher.Policy().MaxBatch)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: body over %d bytes", ErrBadInput, tooLarge.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ctx := r.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = clockwork.WithTimeout(ctx, s.clock, timeout)
		defer cancel()
	}
	out, err := s.batcher.Do(ctx, states)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(inferResponse{Outputs: split(out, model.OutputSize())}) // a client gone is no error of ours
}

// statusOf is the HTTP status of a Batcher's error.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrBadInput):
		return http.StatusBadRequest
	case errors.Is(err, ErrTimeout):
		return http.StatusGatewayTimeout
	case errors.Is(err, ErrModel):
		return http.StatusInternalServerError
	}
	return http.StatusServiceUnavailable // closing, or the client went away
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorResponse{Error: err.Error()})
}

// HTTPClient calls a Server's endpoint; it is what the REST baseline's
// clients use, and what any Go program would.
type HTTPClient struct {
	// URL is the endpoint (Server.URL).
	URL string
	// StateSize is the model's input size, to cut states into JSON rows.
	StateSize int
	// HTTP makes the requests; nil means http.DefaultClient.
	HTTP *http.Client
}

// Infer sends states (end to end) and returns their outputs (end to end).
// A deadline on ctx is sent as timeout_ms too (at most MaxTimeout).
// Errors wrap the sentinel the server's status stands for (ErrBadInput,
// ErrTimeout, ErrModel, ErrClosed), or ErrTimeout/ErrCancelled when ctx
// ended first.
func (c *HTTPClient) Infer(ctx context.Context, states []float32) ([]float32, error) {
	if c.StateSize < 1 || len(states) == 0 || len(states)%c.StateSize != 0 {
		return nil, fmt.Errorf("%w: %d values are not a whole number of %d-value states", ErrBadInput, len(states), c.StateSize)
	}
	req := inferRequest{States: split(states, c.StateSize)}
	if deadline, ok := ctx.Deadline(); ok {
		// The server takes at most MaxTimeout; a later deadline still
		// holds here, through ctx.
		req.TimeoutMS = min(max(1, time.Until(deadline).Milliseconds()), MaxTimeout.Milliseconds())
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		if ended(ctx) {
			return nil, contextError(ctx)
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e errorResponse
		_ = json.NewDecoder(resp.Body).Decode(&e) // the status alone says enough
		sentinel := sentinelOfStatus(resp.StatusCode)
		return nil, fmt.Errorf("%w%s (HTTP %d)", sentinel, strings.TrimPrefix(e.Error, sentinel.Error()), resp.StatusCode)
	}
	var out inferResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		if ended(ctx) {
			return nil, contextError(ctx)
		}
		return nil, fmt.Errorf("cannot read the response: %w", err)
	}
	if len(out.Outputs) != len(req.States) {
		return nil, fmt.Errorf("cannot read the response: %d outputs for %d states", len(out.Outputs), len(req.States))
	}
	flat := make([]float32, 0, len(out.Outputs)*len(out.Outputs[0]))
	for _, row := range out.Outputs {
		flat = append(flat, row...)
	}
	return flat, nil
}

// sentinelOfStatus is the error a Server's status stands for.
func sentinelOfStatus(status int) error {
	switch status {
	case http.StatusGatewayTimeout:
		return ErrTimeout
	case http.StatusInternalServerError:
		return ErrModel
	case http.StatusServiceUnavailable:
		return ErrClosed
	}
	return ErrBadInput // the other statuses the server sends are 4xx
}
