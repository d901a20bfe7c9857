package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs"
	"manta/gcs/chain"
)

// NodeWatcherConfig configures a NodeWatcher.
type NodeWatcherConfig struct {
	// GCS holds the Heartbeats it watches and the Nodes it updates.
	// Required.
	GCS gcs.API
	// Timeout is how long a node may go without a heartbeat before it is
	// marked dead. Required.
	Timeout time.Duration
	// Clock times heartbeats, deaths and the retries of failed writes;
	// nil means the real clock.
	Clock clockwork.Clock
	// Logger receives the writes that failed; nil means slog.Default().
	Logger *slog.Logger
}

// writeRetry is how long the watcher waits before it tries a failed write
// to Nodes again.
const writeRetry = time.Second

// NodeWatcher marks nodes dead in the Nodes table when their heartbeats
// (Puts into Heartbeats, keyed by node) stop for a timeout, and alive
// again when they resume, using a chain.Liveness. It runs where the
// cluster's monitor runs (the head); subscribers to Nodes see the deaths.
type NodeWatcher struct {
	cfg NodeWatcherConfig
	sub *gcs.Subscription
}

// WatchNodes returns a NodeWatcher; heartbeats from the moment it returns
// count. Call Run.
func WatchNodes(ctx context.Context, cfg NodeWatcherConfig) (*NodeWatcher, error) {
	cfg.Clock = clockOrReal(cfg.Clock)
	cfg.Logger = loggerOrDefault(cfg.Logger)
	sub, err := cfg.GCS.Subscribe(ctx, gcs.Heartbeats, nil)
	if err != nil {
		return nil, err
	}
	return &NodeWatcher{cfg: cfg, sub: sub}, nil
}

// Run watches until ctx ends, and then returns ctx's error. One timer is
// set, for the next node that would die if it stays silent. A write to
// Nodes that fails (its shard unavailable for longer than the client's
// timeout) is logged and tried again every writeRetry, until it succeeds
// or a newer state of the node replaces it: a death must not go
// unrecorded, nor end the watching.
func (w *NodeWatcher) Run(ctx context.Context) error {
	defer w.sub.Close()
	l := chain.NewLiveness(w.cfg.Timeout)
	beats := make(chan string, 1024)
	go func() {
		defer close(beats)
		for {
			n, err := w.sub.Next(ctx)
			if err != nil {
				return
			}
			if n.Op == gcs.OpPut {
				select {
				case beats <- string(n.Key):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	var expiry clockwork.Timer // set while some node is alive
	var retry clockwork.Timer  // set while some write failed
	failed := map[string]gcs.NodeState{}
	defer func() {
		for _, t := range []clockwork.Timer{expiry, retry} {
			if t != nil {
				t.Stop()
			}
		}
	}()
	for {
		var expired, retried <-chan time.Time
		if expiry != nil {
			expired = expiry.Chan()
		}
		if retry != nil {
			retried = retry.Chan()
		}
		select {
		case node, ok := <-beats:
			if !ok {
				return ctx.Err()
			}
			if l.Beat(node, w.cfg.Clock.Now()) {
				w.write(ctx, failed, node, gcs.NodeAlive)
			}
			if expiry == nil {
				expiry = w.arm(l, nil)
			}
		case now := <-expired:
			for _, node := range l.Expire(now) {
				w.write(ctx, failed, node, gcs.NodeDead)
			}
			expiry = w.arm(l, expiry)
		case <-retried:
			retry = nil
			for node, state := range failed {
				w.write(ctx, failed, node, state)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		if len(failed) > 0 && retry == nil {
			retry = w.cfg.Clock.NewTimer(writeRetry)
		}
	}
}

// write records node's state, or keeps it in failed (replacing an older
// one) to be tried again.
func (w *NodeWatcher) write(ctx context.Context, failed map[string]gcs.NodeState, node string, state gcs.NodeState) {
	err := w.set(ctx, node, state)
	if err == nil {
		delete(failed, node)
		return
	}
	failed[node] = state
	if ctx.Err() == nil {
		w.cfg.Logger.Warn("gcs: cannot record a node's state; will retry", "node", node, "state", state, "retry", writeRetry, "err", err)
	}
}

// arm sets t (a new timer if t is nil) for l's next deadline, and returns
// it; nil when no node is alive.
func (w *NodeWatcher) arm(l *chain.Liveness, t clockwork.Timer) clockwork.Timer {
	deadline, ok := l.Deadline()
	if !ok {
		return nil
	}
	d := w.cfg.Clock.Until(deadline)
	if t == nil {
		return w.cfg.Clock.NewTimer(d)
	}
	t.Reset(d)
	return t
}

// set writes node's state, keeping its address and resources.
func (w *NodeWatcher) set(ctx context.Context, node string, state gcs.NodeState) error {
	cur, ok, err := w.cfg.GCS.Get(ctx, gcs.Nodes, []byte(node), nil)
	if err != nil {
		return err
	}
	info := gcs.NodeInfo{State: state}
	if ok {
		if old, err := gcs.DecodeNodeInfo(cur); err == nil {
			info.Addr, info.Resources = old.Addr, old.Resources
		}
	}
	return w.cfg.GCS.Put(ctx, gcs.Nodes, []byte(node), gcs.AppendNodeInfo(nil, info))
}
