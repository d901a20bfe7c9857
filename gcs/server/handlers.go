package server

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs"
	"manta/gcs/chain"
	"manta/gcs/internal/proto"
	"manta/rpc"
)

// handle serves every rpc method of a replica.
func (s *Replica) handle(ctx *rpc.Ctx, m rpc.Method, req, resp []byte) ([]byte, error) {
	switch m {
	case proto.MethodWrite:
		return s.handleWrite(ctx, req, resp)
	case proto.MethodRead:
		return s.handleRead(req, resp)
	case proto.MethodPeer:
		mp := msgsPool.Get().(*[]chain.Message)
		defer msgsPool.Put(mp)
		ms, err := chain.DecodeMessages(req, *mp)
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
	case proto.MethodPing:
		return resp, nil
	case proto.MethodSubscribe:
		return s.handleSubscribe(req, resp)
	case proto.MethodPoll:
		return s.handlePoll(ctx, req, resp)
	case proto.MethodUnsubscribe:
		var id uint64
		if err := proto.DecodeUvarints(req, "subscription", &id); err != nil {
			return resp, err
		}
		s.mu.Lock()
		s.dropSubLocked(id)
		s.mu.Unlock()
		return resp, nil
	}
	return resp, fmt.Errorf("gcs: replica has no method %#x", uint16(m))
}

func (s *Replica) handleWrite(ctx *rpc.Ctx, req, resp []byte) ([]byte, error) {
	b := batchWaitPool.Get().(*batchWait)
	defer func() {
		clear(b.req.Ops)
		clear(b.results)
		b.tokens = b.tokens[:0]
		batchWaitPool.Put(b)
	}()
	w := &b.req
	if err := proto.DecodeWriteRequest(req, w); err != nil {
		return resp, err
	}
	b.results = append(b.results[:0], make([]proto.Result, len(w.Ops))...)
	b.left = len(w.Ops)
	if b.left == 0 {
		return proto.AppendWriteResults(resp, nil), nil
	}
	s.mu.Lock()
	if s.closed || !s.rep.CanWrite() {
		c := s.rep.Chain().Clone()
		s.mu.Unlock()
		return proto.AppendRedirect(resp, &c), nil
	}
	for i := range w.Ops {
		op := &w.Ops[i]
		if err := s.data.Check(op); err != nil {
			b.finish(i, err)
			continue
		}
		s.lastWrite = gcs.AppendOp(s.lastWrite[:0], op)
		s.token++
		tok := s.token
		s.waits[tok] = waitRef{b, i}
		b.tokens = append(b.tokens, tok)
		if err := s.rep.Propose(tok, w.Client, w.Reqs[i], w.Acked, s.lastWrite); err != nil {
			delete(s.waits, tok)
			b.finish(i, err)
		}
	}
	s.flushLocked()
	s.mu.Unlock()

	select {
	case <-b.done:
		return proto.AppendWriteResults(resp, b.results), nil
	case <-ctx.Context().Done(): // the caller's deadline passed, or the rpc server closes
	case <-s.done:
	}
	// Give up on what has not committed yet: it may still commit, and a
	// retry will be deduplicated.
	s.mu.Lock()
	for _, tok := range b.tokens {
		if w, ok := s.waits[tok]; ok {
			delete(s.waits, tok)
			w.b.finish(w.i, fmt.Errorf("%w: write not committed in time", gcs.ErrUnavailable))
		}
	}
	s.mu.Unlock()
	<-b.done
	return proto.AppendWriteResults(resp, b.results), nil
}

// maxHandoffWait bounds how long a read at a tail handing over waits for
// the write in flight to commit before it is redirected.
const maxHandoffWait = 5 * time.Millisecond

func (s *Replica) handleRead(req, resp []byte) ([]byte, error) {
	var r proto.ReadRequest
	if err := proto.DecodeReadRequest(req, &r); err != nil {
		return resp, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed && !s.rep.CanRead() && s.rep.IsTail() {
		// Handing over to a joiner with a write not yet committed: its
		// commit is a round trip away.
		timeout := s.clock.NewTimer(maxHandoffWait)
		defer timeout.Stop()
	wait:
		for !s.closed && !s.rep.CanRead() && s.rep.IsTail() {
			progress := s.progress
			s.mu.Unlock()
			select {
			case <-progress:
				s.mu.Lock()
			case <-timeout.Chan():
				s.mu.Lock()
				break wait
			}
		}
	}
	if s.closed || !s.rep.CanRead() {
		c := s.rep.Chain().Clone()
		return proto.AppendRedirect(resp, &c), nil
	}
	resp = proto.AppendReadResults(resp, len(r.Keys))
	for i, key := range r.Keys {
		resp = proto.AppendReadResult(resp, func(dst []byte) ([]byte, bool, error) {
			return s.data.Get(r.Tables[i], key, dst)
		})
	}
	return resp, nil
}

func (s *Replica) handleSubscribe(req, resp []byte) ([]byte, error) {
	t, key, err := proto.DecodeSubscribe(req)
	if err != nil {
		return resp, err
	}
	if key != nil {
		key = append([]byte{}, key...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.rep.CanPublish() {
		c := s.rep.Chain().Clone()
		return proto.AppendRedirect(resp, &c), nil
	}
	sub := gcs.NewSubscription(0, nil)
	s.nextSub++
	id := s.nextSub
	s.data.Subscribe(t, key, sub)
	s.subs[id] = &serverSub{sub: sub, t: t, key: key, polled: true}
	return proto.AppendSubscribed(resp, id), nil
}

// maxPollWait bounds how long a poll waits for a first notification.
const maxPollWait = time.Second

func (s *Replica) handlePoll(ctx *rpc.Ctx, req, resp []byte) ([]byte, error) {
	var id, maxN, waitMicros uint64
	if err := proto.DecodeUvarints(req, "poll", &id, &maxN, &waitMicros); err != nil {
		return resp, err
	}
	s.mu.Lock()
	ss := s.subs[id]
	if ss != nil {
		ss.polled = true
	}
	s.mu.Unlock()
	if ss == nil {
		return proto.AppendGone(resp), nil
	}
	sub := ss.sub
	defer func() {
		s.mu.Lock()
		ss.polled = true // a long poll counts until it ends
		s.mu.Unlock()
	}()
	wait := min(time.Duration(waitMicros)*time.Microsecond, maxPollWait)
	if d := ctx.Deadline(); !d.IsZero() {
		wait = min(wait, s.clock.Until(d)-time.Millisecond) // answer before the caller gives up
	}
	maxN = max(min(maxN, 4096), 1)
	var ns []gcs.Notification
	wctx, cancel := clockwork.WithTimeout(ctx.Context(), s.clock, max(wait, 0))
	n, err := sub.Next(wctx)
	cancel()
	switch {
	case errors.Is(err, gcs.ErrClosed):
		return proto.AppendGone(resp), nil
	case err == nil:
		ns = append(ns, n)
	}
	for uint64(len(ns)) < maxN {
		n, ok := sub.TryNext()
		if !ok {
			break
		}
		ns = append(ns, n)
	}
	return proto.AppendNotifications(resp, ns), nil
}

// serverSub is a client's subscription held at this replica.
type serverSub struct {
	sub    *gcs.Subscription
	t      gcs.Table
	key    []byte
	polled bool // since the last sweep (or subscribed since)
}

// subSweep is how often a replica drops the subscriptions nobody polled
// since the previous sweep: one is dropped after 15 to 30 s without a
// poll. A client polls each one at least every second (its poll timeout),
// and unsubscribes when it moves on; this reclaims those of a client that
// died, or whose unsubscribe was lost. A poll of a dropped subscription
// is answered "gone", and the client subscribes again (with a resync).
const subSweep = 15 * time.Second

// sweepSubsLocked drops the subscriptions nobody polled since the last
// sweep, and starts the next period.
func (s *Replica) sweepSubsLocked() {
	for id, ss := range s.subs {
		if !ss.polled {
			s.dropSubLocked(id)
			continue
		}
		ss.polled = false
	}
}

func (s *Replica) dropSubLocked(id uint64) {
	ss, ok := s.subs[id]
	if !ok {
		return
	}
	delete(s.subs, id)
	s.data.Unsubscribe(ss.t, ss.key, ss.sub)
	ss.sub.Close()
}

var msgsPool = sync.Pool{New: func() any { return new([]chain.Message) }}
