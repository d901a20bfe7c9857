package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"manta/rpc"
	"manta/rpc/wire"
)

// ClientConfig configures a Client. Token is required.
type ClientConfig struct {
	Token []byte
	// MaxFrame bounds requests and replies. Default rpc.DefaultMaxFrame.
	MaxFrame int
	// Logger receives releases that failed. Default slog.Default().
	Logger *slog.Logger
}

// Client calls the Servers of a node's peers, two rpc connections per
// peer, dialled on first use and dropped when they break (the next call
// dials afresh): one for runs, which may take hours and fill its call
// slots (rpc.DefaultMaxPending), and one for the short requests that
// must pass them (Cancel, Release, Load). It is safe for concurrent use.
type Client struct {
	cfg    ClientConfig
	mu     sync.Mutex
	conns  map[connKey]*rpc.Client
	closed bool
}

// connKey names one of the two connections to a peer.
type connKey struct {
	addr  string
	short bool // Cancel, Release, Load; else runs
}

// NewClient returns a Client with no connection yet.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Client{cfg: cfg, conns: map[connKey]*rpc.Client{}}
}

// ErrPeerLost wraps the error of a Run whose peer could not be reached or
// went away while it ran the task: the task may run again elsewhere.
var ErrPeerLost = errors.New("peer: node lost")

// ErrProgramUnavailable wraps the error of a Run whose peer cannot get
// the caller's binary (RunRequest.Binary) to run the task: no node of
// the cluster can, since they all fetch it from the same table.
var ErrProgramUnavailable = errors.New("peer: the program's binary is unavailable")

// ErrActorNotHere wraps the error of a Run of an actor's call at a peer
// that does not host the actor: the caller's record of where it lives is
// stale (it died there, or was never there). The peer does not pass the
// call on, which could send it round in a loop.
var ErrActorNotHere = errors.New("peer: the actor does not live on this node")

// ErrPeerBusy wraps the error of a Run the peer refused without running
// it because it has as many runs in flight as it takes (ServerConfig.MaxRuns,
// or the rpc server's Concurrency): the peer is alive, and the task may be
// placed elsewhere or sent again later.
var ErrPeerBusy = errors.New("peer: node busy, the run was not started")

// runTimeout bounds a Run whose context has no deadline: a task may run
// for long, but a call must end some time.
const runTimeout = 7 * 24 * time.Hour

// Run asks the peer at addr to run req and returns its reply. An error
// wrapping ErrPeerLost says the peer died or could not be reached (its
// connection is dropped); one wrapping ErrPeerBusy that it refused the run
// for want of room, alive (retryable elsewhere); one wrapping
// rpc.ErrFrameTooLarge that the request or reply is over a MaxFrame limit
// (the message names the sizes; not retryable); one wrapping
// ErrProgramUnavailable or ErrActorNotHere why it refused; any other, that
// it refused the request or the run's deadline passed. Only ErrPeerLost
// touches the connection: the other runs on it go on.
func (c *Client) Run(ctx context.Context, addr string, req *RunRequest) (RunReply, error) {
	key := connKey{addr: addr}
	conn, err := c.conn(key)
	if err != nil {
		return RunReply{}, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, runTimeout)
		defer cancel()
	}
	resp, err := conn.Call(ctx, MethodRun, req.AppendBinary(nil), nil)
	if err != nil {
		var remote *rpc.RemoteError
		switch {
		case errors.As(err, &remote):
			for _, typed := range []error{ErrProgramUnavailable, ErrActorNotHere, ErrPeerBusy} {
				if strings.Contains(remote.Msg, typed.Error()) {
					return RunReply{}, fmt.Errorf("%w: peer %s: %s", typed, addr, remote.Msg)
				}
			}
			return RunReply{}, fmt.Errorf("peer %s: %w", addr, err)
		case errors.Is(err, rpc.ErrOverloaded):
			return RunReply{}, fmt.Errorf("%w: peer %s: %w", ErrPeerBusy, addr, err)
		case errors.Is(err, rpc.ErrFrameTooLarge):
			return RunReply{}, fmt.Errorf("peer %s: task %v: %w", addr, req.Spec.ID, err)
		case ctx.Err() != nil:
			return RunReply{}, fmt.Errorf("peer %s: %w", addr, err)
		case isLost(err):
			c.drop(key, conn)
			return RunReply{}, fmt.Errorf("%w: %s: %w", ErrPeerLost, addr, err)
		case errors.Is(err, context.DeadlineExceeded):
			// The server found the deadline passed before the run began
			// (its clock ahead of this one's): this run alone fails.
			return RunReply{}, fmt.Errorf("peer %s: task %v: the run's deadline passed before it ran: %w", addr, req.Spec.ID, err)
		}
		return RunReply{}, fmt.Errorf("peer %s: %w", addr, err)
	}
	reply, err := DecodeRunReply(resp)
	if err != nil {
		return RunReply{}, fmt.Errorf("peer %s: %w", addr, err)
	}
	return reply, nil
}

// isLost reports whether err, a Call's, means the peer is gone or cannot
// be reached: the connection broke or could not be made (ErrUnavailable),
// was closed under the call (Forget, or another run that found the peer
// lost), or the peer does not hold the cluster token.
func isLost(err error) bool {
	return errors.Is(err, rpc.ErrUnavailable) || errors.Is(err, rpc.ErrClosed) || errors.Is(err, rpc.ErrUnauthenticated)
}

// Release gives back the holds addr lent member on ids, in the
// background: a peer that is gone has dropped them anyway, and one that
// misses the release drops them when member leaves the cluster.
func (c *Client) Release(addr, member string, ids []wire.ObjectID) {
	c.tell(addr, MethodRelease, AppendRelease(nil, member, ids), "release", "objects", len(ids))
}

// Cancel asks the peer at addr to cancel a task it runs, or will run,
// for this caller, in the background: a peer that is gone runs nothing.
func (c *Client) Cancel(addr string, req *CancelRequest) {
	c.tell(addr, MethodCancel, req.AppendBinary(nil), "cancel", "task", req.Task)
}

// tellTimeout bounds a request whose answer is nothing (tell).
const tellTimeout = 10 * time.Second

// tell sends the request req of method m to addr in the background,
// logging a failure (what, with the attributes attrs) at debug level.
func (c *Client) tell(addr string, m rpc.Method, req []byte, what string, attrs ...any) {
	go func() {
		conn, err := c.conn(connKey{addr, true}) // dialling a dead peer must not hold up the caller
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), tellTimeout)
		defer cancel()
		if _, err := conn.Call(ctx, m, req, nil); err != nil {
			c.cfg.Logger.Debug("peer: "+what+" failed", append(attrs, "peer", addr, "err", err)...)
		}
	}()
}

// Load asks the peer at addr for its load (MethodLoad).
func (c *Client) Load(ctx context.Context, addr string) ([]byte, error) {
	conn, err := c.conn(connKey{addr, true})
	if err != nil {
		return nil, err
	}
	return conn.Call(ctx, MethodLoad, nil, nil)
}

// Forget closes the connections to addr, a peer that died: calls in
// flight on them fail with ErrPeerLost.
func (c *Client) Forget(addr string) {
	c.mu.Lock()
	var conns []*rpc.Client
	for _, key := range []connKey{{addr, false}, {addr, true}} {
		if conn := c.conns[key]; conn != nil {
			conns = append(conns, conn)
			delete(c.conns, key)
		}
	}
	c.mu.Unlock()
	for _, conn := range conns {
		conn.Close()
	}
}

// Close closes every connection.
func (c *Client) Close() error {
	c.mu.Lock()
	conns := c.conns
	c.conns, c.closed = map[connKey]*rpc.Client{}, true
	c.mu.Unlock()
	for _, conn := range conns {
		conn.Close()
	}
	return nil
}

func (c *Client) conn(key connKey) (*rpc.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("peer: client closed")
	}
	if conn := c.conns[key]; conn != nil {
		return conn, nil
	}
	conn, err := rpc.Dial(rpc.ClientConfig{Addr: key.addr, Token: c.cfg.Token, MaxFrame: c.cfg.MaxFrame, FailFast: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPeerLost, key.addr, err)
	}
	c.conns[key] = conn
	return conn, nil
}

func (c *Client) drop(key connKey, conn *rpc.Client) {
	c.mu.Lock()
	if c.conns[key] == conn {
		delete(c.conns, key)
	}
	c.mu.Unlock()
	conn.Close()
}
