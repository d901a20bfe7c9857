package gcs

import (
	"context"
	"errors"
	"sync"
	"time"

	"manta/rpc"
)

// peer sends chain-protocol messages to one address, in order, batching
// whatever queued while the previous call was out. Messages that cannot be
// delivered are dropped: the state machines resend what matters. A failed
// call is reported to onFail (a suspect report to the monitor).
type peer struct {
	addr    string
	method  rpc.Method
	cli     *rpc.Client
	timeout time.Duration
	onReply func(resp []byte) // the response, if the caller wants it
	onFail  func(err error)

	mu     sync.Mutex
	queue  []Message
	kick   chan struct{}
	done   chan struct{}
	closed bool
	wg     sync.WaitGroup
}

func newPeer(addr string, token []byte, method rpc.Method, timeout time.Duration, maxFrame int) (*peer, error) {
	cli, err := rpc.Dial(rpc.ClientConfig{
		Addr: addr, Token: token, FailFast: true, MaxFrame: maxFrame,
		Timeout: timeout, DialTimeout: timeout,
		Backoff: rpc.Backoff{Min: time.Millisecond, Max: 100 * time.Millisecond},
	})
	if err != nil {
		return nil, err
	}
	p := &peer{addr: addr, method: method, cli: cli, timeout: timeout, kick: make(chan struct{}, 1), done: make(chan struct{})}
	p.wg.Add(1)
	go p.loop()
	return p, nil
}

// send queues ms (which the peer now owns).
func (p *peer) send(ms ...Message) {
	p.mu.Lock()
	if p.closed {
		for i := range ms {
			ms[i].discard()
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
	var batch []Message
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
			var out []Message
			for i := range batch {
				out = batch[i].expand(out)
			}
			clear(batch)
			for len(out) > 0 {
				n := 1
				if out[0].Kind != MsgSnapshot {
					for n < len(out) && out[n].Kind != MsgSnapshot {
						n++
					}
				}
				buf = AppendMessages(buf[:0], out[:n])
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
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
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
		p.queue[i].discard()
	}
	p.queue = nil
	p.mu.Unlock()
	close(p.done)
	p.cli.Close()
	p.wg.Wait()
}
