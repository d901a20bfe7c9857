package gcs

import (
	"context"
	"sync"
)

// Notification is one change seen by a Subscription: Op applied to Key in
// Table, with the op's Value (the new value for OpPut, the member for
// OpAppend, OpAdd and OpRemove, nothing for OpDelete). Op is OpResync when
// notifications were dropped; the subscriber should re-read what it
// watches.
type Notification struct {
	Table Table
	Op    OpKind
	Key   []byte
	Value []byte
}

// DefaultMaxQueued is how many notifications a Subscription holds for a
// slow reader before it drops them and delivers one OpResync instead.
const DefaultMaxQueued = 1 << 16

// Subscription receives the changes to a key or a whole table, in the order
// they were applied to each shard. Read them with Next (or TryNext); Close
// it when done. It is safe for concurrent use.
type Subscription struct {
	mu     sync.Mutex
	q      []Notification
	head   int
	max    int
	closed bool
	ready  chan struct{} // holds a token while q is non-empty or closed
	cancel func()        // unregisters; set before the subscription is shared
}

// NewSubscription returns a Subscription that its maker feeds with Push
// and Resync: API implementations outside this package (a remote client)
// use it; readers get theirs from Subscribe. It holds up to maxQueued
// notifications (default DefaultMaxQueued) for a slow reader; cancel, if
// not nil, runs once when the reader closes it.
func NewSubscription(maxQueued int, cancel func()) *Subscription {
	if maxQueued <= 0 {
		maxQueued = DefaultMaxQueued
	}
	return &Subscription{max: maxQueued, ready: make(chan struct{}, 1), cancel: cancel}
}

// Push queues a copy of n for the reader; after Close it does nothing.
func (s *Subscription) Push(n Notification) { s.push(n.Table, n.Op, n.Key, n.Value) }

// push queues a copy of a change. Called with the publishing shard's lock
// held.
func (s *Subscription) push(t Table, op OpKind, key, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if len(s.q)-s.head >= s.max {
		// Too far behind: what is queued is replaced by one resync, after
		// which changes queue again (the reader re-reads, so seeing them
		// again is harmless).
		s.q = append(s.q[:0], Notification{Op: OpResync})
		s.head = 0
	}
	buf := make([]byte, len(key)+len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	s.q = append(s.q, Notification{Table: t, Op: op, Key: buf[:len(key):len(key)], Value: buf[len(key):]})
	s.signal()
}

// Resync drops what is queued and delivers one OpResync: the reader may
// have missed changes.
func (s *Subscription) Resync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.q = append(s.q[:0], Notification{Op: OpResync})
	s.head = 0
	s.signal()
}

func (s *Subscription) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Next returns the next notification, waiting for one until ctx is done.
// After Close it returns ErrClosed.
func (s *Subscription) Next(ctx context.Context) (Notification, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Notification{}, ErrClosed
		}
		if n, ok := s.popLocked(); ok {
			if s.head < len(s.q) {
				s.signal() // more remain: wake the next reader
			}
			s.mu.Unlock()
			return n, nil
		}
		s.mu.Unlock()
		select {
		case <-s.ready:
		case <-ctx.Done():
			return Notification{}, ctx.Err()
		}
	}
}

// TryNext returns the next notification if one is queued, without
// waiting; ok is false if none is (or the subscription is closed).
func (s *Subscription) TryNext() (n Notification, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Notification{}, false
	}
	return s.popLocked()
}

// popLocked takes the oldest queued notification; ok is false if none is.
func (s *Subscription) popLocked() (n Notification, ok bool) {
	if s.head == len(s.q) {
		return Notification{}, false
	}
	n = s.q[s.head]
	s.q[s.head] = Notification{}
	s.head++
	if s.head == len(s.q) {
		s.q, s.head = s.q[:0], 0
	}
	return n, true
}

// Close stops the subscription; Next returns ErrClosed from then on.
func (s *Subscription) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.q = nil
	s.signal()
	s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
}

// hub holds one shard's subscriptions. It is guarded by the shard's lock.
type hub struct {
	n      int
	tables [numTables][]*Subscription
	keys   [numTables]map[string][]*Subscription
}

func (h *hub) add(t Table, key []byte, s *Subscription) {
	h.n++
	if key == nil {
		h.tables[t] = append(h.tables[t], s)
		return
	}
	if h.keys[t] == nil {
		h.keys[t] = map[string][]*Subscription{}
	}
	h.keys[t][string(key)] = append(h.keys[t][string(key)], s)
}

func (h *hub) remove(t Table, key []byte, s *Subscription) {
	drop := func(list []*Subscription) []*Subscription {
		for i, x := range list {
			if x == s {
				h.n--
				return append(list[:i:i], list[i+1:]...)
			}
		}
		return list
	}
	if key == nil {
		h.tables[t] = drop(h.tables[t])
		return
	}
	if list := drop(h.keys[t][string(key)]); len(list) == 0 {
		delete(h.keys[t], string(key))
	} else {
		h.keys[t][string(key)] = list
	}
}

func (h *hub) publish(op *Op) {
	if h.n == 0 {
		return
	}
	for _, s := range h.tables[op.Table] {
		s.push(op.Table, op.Kind, op.Key, op.Value)
	}
	if m := h.keys[op.Table]; m != nil {
		for _, s := range m[string(op.Key)] {
			s.push(op.Table, op.Kind, op.Key, op.Value)
		}
	}
}

// resyncAll tells every subscriber it may have missed changes (the shard's
// state was replaced, or this replica stopped being the one whose changes
// are committed).
func (h *hub) resyncAll() {
	for t := range h.tables {
		for _, s := range h.tables[t] {
			s.Resync()
		}
		for _, list := range h.keys[t] {
			for _, s := range list {
				s.Resync()
			}
		}
	}
}
