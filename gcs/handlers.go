package gcs

import (
	"fmt"
	"sync"
	"time"

	"manta/rpc"
)

// handle serves every rpc method of a replica.
func (s *ReplicaServer) handle(ctx *rpc.Ctx, m rpc.Method, req, resp []byte) ([]byte, error) {
	switch m {
	case MethodWrite:
		return s.handleWrite(ctx, req, resp)
	case MethodRead:
		return s.handleRead(req, resp)
	case MethodPeer:
		mp := msgsPool.Get().(*[]Message)
		defer msgsPool.Put(mp)
		ms, err := DecodeMessages(req, *mp)
		*mp = ms
		if err != nil {
			return resp, err
		}
		s.mu.Lock()
		for _, msg := range ms {
			if msg.To == s.cfg.ID {
				s.rep.Step(msg)
			}
		}
		s.flushLocked()
		s.mu.Unlock()
		return resp, nil
	case MethodPing:
		return resp, nil
	case MethodSubscribe:
		return s.handleSubscribe(req, resp)
	case MethodPoll:
		return s.handlePoll(ctx, req, resp)
	case MethodUnsubscribe:
		var id uint64
		if err := decodeUvarints(req, "subscription", &id); err != nil {
			return resp, err
		}
		s.mu.Lock()
		s.dropSubLocked(id)
		s.mu.Unlock()
		return resp, nil
	}
	return resp, fmt.Errorf("gcs: replica has no method %#x", uint16(m))
}

func (s *ReplicaServer) handleWrite(ctx *rpc.Ctx, req, resp []byte) ([]byte, error) {
	b := batchWaitPool.Get().(*batchWait)
	defer func() {
		clear(b.req.ops)
		clear(b.results)
		b.tokens = b.tokens[:0]
		batchWaitPool.Put(b)
	}()
	w := &b.req
	if err := decodeWriteRequest(req, w); err != nil {
		return resp, err
	}
	b.results = append(b.results[:0], make([]result, len(w.ops))...)
	b.left = len(w.ops)
	if b.left == 0 {
		return appendWriteResults(resp, nil), nil
	}
	s.mu.Lock()
	if s.closed || !s.rep.CanWrite() {
		chain := s.rep.Chain().Clone()
		s.mu.Unlock()
		return appendRedirect(resp, &chain), nil
	}
	for i := range w.ops {
		op := &w.ops[i]
		if err := op.check(&s.cfg.Limits); err != nil {
			b.finish(i, err)
			continue
		}
		s.lastWrite = AppendOp(s.lastWrite[:0], op)
		s.token++
		tok := s.token
		s.waits[tok] = waitRef{b, i}
		b.tokens = append(b.tokens, tok)
		if err := s.rep.Propose(tok, w.client, w.reqs[i], w.acked, s.lastWrite); err != nil {
			delete(s.waits, tok)
			b.finish(i, err)
		}
	}
	s.flushLocked()
	s.mu.Unlock()

	var timeout <-chan time.Time
	if d := ctx.Deadline(); !d.IsZero() {
		t := time.NewTimer(time.Until(d))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-b.done:
		return appendWriteResults(resp, b.results), nil
	case <-timeout:
	case <-ctx.Done():
	case <-s.done:
	}
	// Give up on what has not committed yet: it may still commit, and a
	// retry will be deduplicated.
	s.mu.Lock()
	for _, tok := range b.tokens {
		if w, ok := s.waits[tok]; ok {
			delete(s.waits, tok)
			w.b.finish(w.i, fmt.Errorf("%w: write not committed in time", ErrUnavailable))
		}
	}
	s.mu.Unlock()
	<-b.done
	return appendWriteResults(resp, b.results), nil
}

func (s *ReplicaServer) handleRead(req, resp []byte) ([]byte, error) {
	var r readRequest
	if err := decodeReadRequest(req, &r); err != nil {
		return resp, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed && !s.rep.CanRead() && s.rep.IsTail() {
		// Handing over to a joiner with a write not yet committed: its
		// commit is a round trip away.
		deadline := time.Now().Add(maxHandoffWait)
		for !s.closed && !s.rep.CanRead() && s.rep.IsTail() && time.Now().Before(deadline) {
			progress := s.progress
			s.mu.Unlock()
			select {
			case <-progress:
			case <-time.After(time.Until(deadline)):
			}
			s.mu.Lock()
		}
	}
	if s.closed || !s.rep.CanRead() {
		chain := s.rep.Chain().Clone()
		return appendRedirect(resp, &chain), nil
	}
	resp = append(resp, 0)
	resp = appendUvarints(resp, uint64(len(r.keys)))
	for i, key := range r.keys {
		at := len(resp)
		resp = append(resp, 1, 0, 0, 0, 0, 0) // tag, then room for a length
		start := len(resp)
		var ok bool
		var err error
		resp, ok, err = s.data.get(r.tables[i], key, resp)
		switch {
		case err != nil:
			resp = append(resp[:at], 2, errorCode(err))
			resp = appendBytes(resp, []byte(err.Error()))
		case !ok:
			resp = append(resp[:at], 0)
		default:
			resp = fixLength(resp, at+1, start)
		}
	}
	return resp, nil
}

// fixLength turns the value appended at start into a length-prefixed
// field at lenAt, where 5 bytes were reserved: it writes the uvarint
// length there and moves the value down over the unused bytes.
func fixLength(b []byte, lenAt, start int) []byte {
	n := len(b) - start
	var tmp [10]byte
	k := putUvarint(tmp[:], uint64(n))
	copy(b[lenAt:], tmp[:k])
	copy(b[lenAt+k:], b[start:])
	return b[:lenAt+k+n]
}

func putUvarint(b []byte, v uint64) int {
	i := 0
	for v >= 0x80 {
		b[i] = byte(v) | 0x80
		v >>= 7
		i++
	}
	b[i] = byte(v)
	return i + 1
}

func (s *ReplicaServer) handleSubscribe(req, resp []byte) ([]byte, error) {
	t, key, err := decodeSubscribe(req)
	if err != nil {
		return resp, err
	}
	if key != nil {
		key = append([]byte{}, key...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.rep.CanPublish() {
		chain := s.rep.Chain().Clone()
		return appendRedirect(resp, &chain), nil
	}
	sub := newSubscription(0)
	s.nextSub++
	id := s.nextSub
	s.data.hub.add(t, key, sub)
	s.subs[id] = serverSub{sub, t, key}
	resp = append(resp, 0)
	return appendUvarints(resp, id), nil
}

// maxHandoffWait bounds how long a read at a tail handing over waits for
// the write in flight to commit before it is redirected.
const maxHandoffWait = 5 * time.Millisecond

// maxPollWait bounds how long a poll waits for a first notification.
const maxPollWait = time.Second

func (s *ReplicaServer) handlePoll(ctx *rpc.Ctx, req, resp []byte) ([]byte, error) {
	var id, maxN, waitMicros uint64
	if err := decodeUvarints(req, "poll", &id, &maxN, &waitMicros); err != nil {
		return resp, err
	}
	s.mu.Lock()
	sub := s.subs[id].sub
	s.mu.Unlock()
	if sub == nil {
		return append(resp, 1), nil
	}
	wait := min(time.Duration(waitMicros)*time.Microsecond, maxPollWait)
	if d := ctx.Deadline(); !d.IsZero() {
		wait = min(wait, time.Until(d)-time.Millisecond)
	}
	maxN = max(min(maxN, 4096), 1)
	var ns []Notification
	pctx := ctx.Context()
	for uint64(len(ns)) < maxN {
		var n Notification
		var ok bool
		if len(ns) == 0 {
			n, ok = sub.waitNext(pctx, wait)
		} else {
			n, ok = sub.tryNext()
		}
		if !ok {
			break
		}
		ns = append(ns, n)
	}
	if len(ns) == 0 && sub.isClosed() {
		return append(resp, 1), nil
	}
	return appendNotifications(resp, ns), nil
}

// serverSub is a client's subscription held at this replica.
type serverSub struct {
	sub *Subscription
	t   Table
	key []byte
}

func (s *ReplicaServer) dropSubLocked(id uint64) {
	ss, ok := s.subs[id]
	if !ok {
		return
	}
	delete(s.subs, id)
	s.data.hub.remove(ss.t, ss.key, ss.sub)
	ss.sub.Close() // its cancel is nil: the hub is done above
}

var msgsPool = sync.Pool{New: func() any { return new([]Message) }}
