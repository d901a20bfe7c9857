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
type peer struct {
	method  rpc.Method
	cli     *rpc.Client
	timeout time.Duration
	clock   clockwork.Clock
	onReply func(resp []byte) // the response, if the caller wants it
	onFail  func(err error)

	mu     sync.Mutex
	queue  []chain.Message
	kick   chan struct{}
	done   chan struct{}
	closed bool
	wg     sync.WaitGroup
}

func newPeer(addr string, token []byte, method rpc.Method, timeout time.Duration, maxFrame int, clock clockwork.Clock) (*peer, error) {
	cli, err := rpc.Dial(rpc.ClientConfig{
		Addr: addr, Token: token, FailFast: true, MaxFrame: maxFrame,
		Timeout: timeout, DialTimeout: timeout,
		Backoff: rpc.Backoff{Min: time.Millisecond, Max: 100 * time.Millisecond}, Clock: clock,
	})
	if err != nil {
		return nil, err
	}
	p := &peer{method: method, cli: cli, timeout: timeout, clock: clock, kick: make(chan struct{}, 1), done: make(chan struct{})}
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
	var buf, resp []byte
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
			// Captured snapshots are encoded here, outside the replica's
			// lock, and their chunks go one to a call.
			var out []chain.Message
			for i := range batch {
				out = batch[i].Expand(out)
			}
			clear(batch)
			for len(out) > 0 {
				n := 1
				if out[0].Kind != chain.MsgSnapshot {
					for n < len(out) && out[n].Kind != chain.MsgSnapshot {
						n++
					}
				}
				buf = chain.AppendMessages(buf[:0], out[:n])
				clear(out[:n])
				out = out[n:]
				if err := p.call(buf, &resp); err != nil {
					break // the rest is resent by the state machines
				}
			}
			if cap(buf) > 4<<20 {
				buf = nil
			}
		}
	}
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
