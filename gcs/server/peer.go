package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs/chain"
	"manta/rpc"
)

// peer sends chain-protocol messages to one address, in order, batching
// whatever queued while the previous call was out. Messages that cannot be
// delivered are dropped: the state machines resend what matters. A failed
// call is reported to onFail (a suspect report to the monitor).
//
// What queues while a call is out is sent as one batch, trimmed and cut so
// that a slow receiver never makes the sender's frames grow (a frame that
// takes longer than the call's timeout, or exceeds the receiver's MaxFrame,
// would never get through, and everything behind it would be resent again
// and again):
//
//   - frames hold at most frameBytes of messages (a message larger than
//     that alone); a MsgForward is split between frames by its entries;
//   - an entry the batch's frames hold already is not sent again:
//     the state machine resends its unacknowledged entries every
//     RetransmitTicks, and while a call is out those resends queue up, each
//     carrying every entry not yet acknowledged;
//   - a captured snapshot for a replica to which a snapshot was delivered
//     since the capture was queued is discarded: the joiner asked for it
//     while that one was still on its way, and the joiner keeps the first
//     snapshot it receives whole (unless the new one replaces its state;
//     those are always sent).
type peer struct {
	method     rpc.Method
	cli        *rpc.Client
	timeout    time.Duration
	clock      clockwork.Clock
	frameBytes int
	onReply    func(resp []byte) // the response, if the caller wants it
	onFail     func(err error)

	mu     sync.Mutex
	queue  []chain.Message
	queued uint64 // messages ever queued
	kick   chan struct{}
	done   chan struct{}
	closed bool
	wg     sync.WaitGroup

	// The loop's own.
	taken    uint64                     // messages ever taken from the queue
	snapDone map[chain.ReplicaID]uint64 // per joiner, queued when its last snapshot was delivered
	frame    []chain.Message
	size     int // frame's estimated encoded bytes
	sent     map[chain.ReplicaID]seqRange
	buf      []byte
	resp     []byte
}

// seqRange is the entries (lo to hi) sent to a replica in the frames of
// one batch, in order without a gap.
type seqRange struct{ lo, hi uint64 }

// maxPeerFrame bounds a peer's frames (below a quarter of its MaxFrame).
const maxPeerFrame = 1 << 20

func newPeer(addr string, token []byte, method rpc.Method, timeout time.Duration, maxFrame int, clock clockwork.Clock) (*peer, error) {
	cli, err := rpc.Dial(rpc.ClientConfig{
		Addr: addr, Token: token, FailFast: true, MaxFrame: maxFrame,
		Timeout: timeout, DialTimeout: timeout,
		Backoff: rpc.Backoff{Min: time.Millisecond, Max: 100 * time.Millisecond}, Clock: clock,
	})
	if err != nil {
		return nil, err
	}
	if maxFrame <= 0 {
		maxFrame = 64 << 20
	}
	p := &peer{
		method: method, cli: cli, timeout: timeout, clock: clock, frameBytes: min(maxFrame/4, maxPeerFrame),
		kick: make(chan struct{}, 1), done: make(chan struct{}),
		snapDone: map[chain.ReplicaID]uint64{}, sent: map[chain.ReplicaID]seqRange{},
	}
	p.wg.Add(1)
	go p.loop()
	return p, nil
}

// send queues ms (which the peer now owns).
func (p *peer) send(ms ...chain.Message) {
	p.mu.Lock()
	if p.closed {
		for i := range ms {
			ms[i].Discard()
		}
	} else {
		p.queue = append(p.queue, ms...)
		p.queued += uint64(len(ms))
	}
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *peer) loop() {
	defer p.wg.Done()
	var batch []chain.Message
	for {
		select {
		case <-p.kick:
		case <-p.done:
			return
		}
		for {
			p.mu.Lock()
			batch, p.queue = p.queue, batch[:0]
			p.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			p.sendBatch(batch)
			clear(batch)
			if cap(p.buf) > 4*p.frameBytes {
				p.buf = nil
			}
		}
	}
}

// sendBatch sends batch, in frames. After a failed call the rest of the
// batch is dropped: the state machines resend what matters.
func (p *peer) sendBatch(batch []chain.Message) {
	first := p.taken
	p.taken += uint64(len(batch))
	clear(p.sent)
	ok := true
	for i := range batch {
		m := &batch[i]
		switch {
		case !ok:
			m.Discard()
		case m.Kind == chain.MsgForward:
			ok = p.addForward(m)
		case m.Captured():
			if !m.Flag && first+uint64(i) < p.snapDone[m.To] {
				m.Discard() // a snapshot was delivered since this one was asked for
				continue
			}
			ok = p.sendSnapshot(m)
		default:
			ok = p.add(*m, msgBytes(m))
		}
	}
	if ok {
		p.flush()
	}
	clear(p.frame)
	p.frame, p.size = p.frame[:0], 0
}

// add appends m to the frame, sending the frame first if m does not fit.
func (p *peer) add(m chain.Message, size int) bool {
	if len(p.frame) > 0 && p.size+size > p.frameBytes {
		if !p.flush() {
			return false
		}
	}
	p.frame = append(p.frame, m)
	p.size += size
	return true
}

// addForward adds m's entries that no earlier frame of the batch holds,
// split between frames as they fill.
func (p *peer) addForward(m *chain.Message) bool {
	es := m.Entries
	for len(es) > 0 {
		r, had := p.sent[m.To]
		if had && es[0].Seq >= r.lo && es[0].Seq <= r.hi {
			es = es[1:] // sent already in this batch
			continue
		}
		// The run of entries from es[0] that fits in the frame.
		size := msgOverhead
		n := 0
		for n < len(es) && !(had && es[n].Seq >= r.lo && es[n].Seq <= r.hi) {
			eb := entryBytes(&es[n])
			if n > 0 && p.size+size+eb > p.frameBytes {
				break
			}
			size += eb
			n++
		}
		if len(p.frame) > 0 && p.size+size > p.frameBytes {
			if !p.flush() {
				return false
			}
			continue // the frame is empty now: the run may be longer
		}
		part := *m
		part.Entries = es[:n:n]
		p.frame = append(p.frame, part)
		p.size += size
		for _, e := range es[:n] {
			if had && e.Seq == r.hi+1 {
				r.hi = e.Seq
			} else {
				r, had = seqRange{e.Seq, e.Seq}, true
			}
		}
		p.sent[m.To] = r
		es = es[n:]
	}
	return true
}

// sendSnapshot encodes a captured snapshot and sends its chunks, one to a
// call.
func (p *peer) sendSnapshot(m *chain.Message) bool {
	if !p.flush() {
		m.Discard()
		return false
	}
	chunks := m.Expand(nil)
	for i := range chunks {
		p.frame = append(p.frame[:0], chunks[i])
		if !p.flush() {
			return false
		}
	}
	p.mu.Lock()
	p.snapDone[m.To] = p.queued
	p.mu.Unlock()
	return true
}

// flush sends the frame, if any, and empties it.
func (p *peer) flush() bool {
	if len(p.frame) == 0 {
		return true
	}
	p.buf = chain.AppendMessages(p.buf[:0], p.frame)
	clear(p.frame)
	p.frame, p.size = p.frame[:0], 0
	return p.call(p.buf, &p.resp) == nil
}

// Estimates of encoded sizes, from above.
const (
	msgOverhead   = 4 + 1 + 5*10 + 3*10 + 4 + 1
	entryOverhead = 5 * 10
)

func entryBytes(e *chain.Entry) int { return entryOverhead + len(e.Cmd) }

func msgBytes(m *chain.Message) int {
	n := msgOverhead + len(m.Data) + len(m.Addr) + 10
	for i := range m.Entries {
		n += entryBytes(&m.Entries[i])
	}
	for _, mem := range m.Chain.Members {
		n += 20 + len(mem.Addr)
	}
	return n + 20 + len(m.Chain.Joiner.Addr)
}

// call sends one frame, reporting a failure.
func (p *peer) call(buf []byte, resp *[]byte) error {
	ctx, cancel := clockwork.WithTimeout(context.Background(), p.clock, p.timeout)
	defer cancel()
	var err error
	*resp, err = p.cli.Call(ctx, p.method, buf, (*resp)[:0])
	if err != nil {
		if p.onFail != nil && !errors.Is(err, rpc.ErrClosed) {
			p.onFail(err)
		}
		return err
	}
	if p.onReply != nil {
		p.onReply(*resp)
	}
	return nil
}

func (p *peer) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for i := range p.queue {
		p.queue[i].Discard()
	}
	p.queue = nil
	p.mu.Unlock()
	close(p.done)
	p.cli.Close()
	p.wg.Wait()
}
