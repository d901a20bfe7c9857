package server

import (
	"context"
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
	// Clock times heartbeats and deaths; nil means the real clock.
	Clock clockwork.Clock
}

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
	sub, err := cfg.GCS.Subscribe(ctx, gcs.Heartbeats, nil)
	if err != nil {
		return nil, err
	}
	return &NodeWatcher{cfg: cfg, sub: sub}, nil
}

// Run watches until ctx ends. One timer is set, for the next node that
// would die if it stays silent.
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
	defer func() {
		if expiry != nil {
			expiry.Stop()
		}
	}()
	for {
		var expired <-chan time.Time
		if expiry != nil {
			expired = expiry.Chan()
		}
		select {
		case node, ok := <-beats:
			if !ok {
				return ctx.Err()
			}
			if l.Beat(node, w.cfg.Clock.Now()) {
				if err := w.set(ctx, node, gcs.NodeAlive); err != nil {
					return err
				}
			}
			if expiry == nil {
				expiry = w.arm(l, nil)
			}
		case now := <-expired:
			for _, node := range l.Expire(now) {
				if err := w.set(ctx, node, gcs.NodeDead); err != nil {
					return err
				}
			}
			expiry = w.arm(l, expiry)
		case <-ctx.Done():
			return ctx.Err()
		}
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
