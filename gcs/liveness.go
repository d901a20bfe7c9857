package gcs

import (
	"context"
	"slices"
	"time"
)

// Liveness decides which nodes are dead from their heartbeats, as a state
// machine without clock or I/O: Beat records a heartbeat at a time, Expire
// returns the nodes silent for longer than the timeout (once each). A
// node that beats again after being declared dead is alive again (a
// restarted node manager).
type Liveness struct {
	timeout time.Duration
	last    map[string]time.Time
	dead    map[string]bool
}

// NewLiveness returns a Liveness that declares a node dead after timeout
// without a heartbeat.
func NewLiveness(timeout time.Duration) *Liveness {
	return &Liveness{timeout: timeout, last: map[string]time.Time{}, dead: map[string]bool{}}
}

// Beat records a heartbeat from node at now. It reports whether the node
// was dead (it came back).
func (l *Liveness) Beat(node string, now time.Time) (revived bool) {
	l.last[node] = now
	if l.dead[node] {
		delete(l.dead, node)
		return true
	}
	return false
}

// Expire returns, sorted, the nodes that have become dead by now.
func (l *Liveness) Expire(now time.Time) []string {
	var out []string
	for n, t := range l.last {
		if !l.dead[n] && now.Sub(t) > l.timeout {
			l.dead[n] = true
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// NodeWatcher marks nodes dead in the Nodes table when their heartbeats
// (Puts into Heartbeats, keyed by node) stop for a timeout, and alive
// again when they resume. It runs where the cluster's monitor runs (the
// head); subscribers to Nodes see the deaths.
type NodeWatcher struct {
	g       API
	sub     *Subscription
	timeout time.Duration
}

// WatchNodes returns a NodeWatcher; heartbeats from the moment it returns
// count. Call Run.
func WatchNodes(ctx context.Context, g API, timeout time.Duration) (*NodeWatcher, error) {
	sub, err := g.Subscribe(ctx, Heartbeats, nil)
	if err != nil {
		return nil, err
	}
	return &NodeWatcher{g: g, sub: sub, timeout: timeout}, nil
}

// Run watches until ctx ends.
func (w *NodeWatcher) Run(ctx context.Context) error {
	defer w.sub.Close()
	l := NewLiveness(w.timeout)
	beats := make(chan string, 1024)
	go func() {
		defer close(beats)
		for {
			n, err := w.sub.Next(ctx)
			if err != nil {
				return
			}
			if n.Op == OpPut {
				select {
				case beats <- string(n.Key):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	tick := time.NewTicker(w.timeout / 4)
	defer tick.Stop()
	for {
		select {
		case node, ok := <-beats:
			if !ok {
				return ctx.Err()
			}
			if l.Beat(node, time.Now()) {
				if err := w.set(ctx, node, NodeAlive); err != nil {
					return err
				}
			}
		case now := <-tick.C:
			for _, node := range l.Expire(now) {
				if err := w.set(ctx, node, NodeDead); err != nil {
					return err
				}
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// set writes node's state, keeping its address and resources.
func (w *NodeWatcher) set(ctx context.Context, node string, state NodeState) error {
	cur, ok, err := w.g.Get(ctx, Nodes, []byte(node), nil)
	if err != nil {
		return err
	}
	info := NodeInfo{State: state}
	if ok {
		if old, err := DecodeNodeInfo(cur); err == nil {
			info.Addr, info.Resources = old.Addr, old.Resources
		}
	}
	return w.g.Put(ctx, Nodes, []byte(node), AppendNodeInfo(nil, info))
}
