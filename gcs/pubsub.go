package gcs

import (
	"context"
	"sync"
	"time"
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
// they were applied to each shard. Read them with Next; Close it when done.
// It is safe for concurrent use.
type Subscription struct {
	mu     sync.Mutex
	q      []Notification
	head   int
	max    int
	closed bool
	ready  chan struct{} // holds a token while q is non-empty or closed
	cancel func()        // unregisters; set once at creation
}

func newSubscription(max int) *Subscription {
	if max <= 0 {
		max = DefaultMaxQueued
	}
	return &Subscription{max: max, ready: make(chan struct{}, 1)}
}

// push queues a copy of n. Called with the publishing shard's lock held.
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

// resync drops what is queued and delivers one OpResync.
func (s *Subscription) resync() {
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
		if s.head < len(s.q) {
			n := s.q[s.head]
			s.q[s.head] = Notification{}
			s.head++
			if s.head == len(s.q) {
				s.q, s.head = s.q[:0], 0
			} else {
				s.signal()
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
	tables [NumTables][]*Subscription
	keys   [NumTables]map[string][]*Subscription
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
			s.resync()
		}
		for _, list := range h.keys[t] {
			for _, s := range list {
				s.resync()
			}
		}
	}
}

// tryNext returns a queued notification without waiting.
func (s *Subscription) tryNext() (Notification, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.head == len(s.q) {
		return Notification{}, false
	}
	n := s.q[s.head]
	s.q[s.head] = Notification{}
	s.head++
	if s.head == len(s.q) {
		s.q, s.head = s.q[:0], 0
	}
	return n, true
}

// waitNext waits up to d for a notification.
func (s *Subscription) waitNext(ctx context.Context, d time.Duration) (Notification, bool) {
	if d <= 0 {
		return s.tryNext()
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	n, err := s.Next(ctx)
	return n, err == nil
}

func (s *Subscription) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
