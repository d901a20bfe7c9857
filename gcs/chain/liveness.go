package chain

import (
	"slices"
	"time"
)

// Liveness decides which nodes are dead from their heartbeats, as a state
// machine without clock or I/O: Beat records a heartbeat at a time, Expire
// returns the nodes silent for the timeout or longer (once each), and
// Deadline says when Expire next has one to return, so a driver sets one
// timer. A node that beats again after being declared dead is alive again
// (a restarted node manager).
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
		if !l.dead[n] && now.Sub(t) >= l.timeout {
			l.dead[n] = true
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Deadline is when the live node heard from least recently becomes dead
// if it stays silent; ok is false when no node is alive.
func (l *Liveness) Deadline() (deadline time.Time, ok bool) {
	for n, t := range l.last {
		if !l.dead[n] && (!ok || t.Before(deadline)) {
			deadline, ok = t, true
		}
	}
	return deadline.Add(l.timeout), ok
}
