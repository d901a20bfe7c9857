package gcs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"manta/rpc"
)

// Subscribe watches key in t, or the whole table if key is nil, at the
// tails of the shards that hold it. Changes committed after Subscribe
// returns are delivered in order per shard. When a tail changes (or the
// connection breaks) the subscription moves to the new tail and delivers
// an OpResync first: changes in between may have been missed, and the
// subscriber should re-read what it watches.
func (c *Client) Subscribe(ctx context.Context, t Table, key []byte) (*Subscription, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("%w: unknown table %d", ErrBadOp, uint8(t))
	}
	if key != nil {
		key = append([]byte{}, key...)
	}
	shards := []int{}
	if key == nil {
		for s := range c.readers {
			shards = append(shards, s)
		}
	} else {
		shards = append(shards, ShardOf(t, key, len(c.readers)))
	}
	sub := newSubscription(0)
	pctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{}, len(shards))
	sub.cancel = func() {
		stop()
		for range shards {
			<-done
		}
	}
	for i, s := range shards {
		at, id, err := c.subscribeAt(ctx, s, t, key)
		if err != nil {
			stop()
			for range i {
				<-done
			}
			return nil, err
		}
		go func() {
			defer func() { done <- struct{}{} }()
			c.poll(pctx, s, t, key, sub, at, id)
		}()
	}
	return sub, nil
}

// subscribeAt registers a subscription at shard's tail, retrying through
// redirects until ctx ends.
func (c *Client) subscribeAt(ctx context.Context, shard int, t Table, key []byte) (*rpc.Client, uint64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
	}
	req := appendSubscribe(nil, t, key)
	var r retry
	for {
		ch, version := c.chain(shard)
		tail := ch.Tail()
		if tail.ID != 0 {
			cli, err := c.conn(tail.Addr)
			if err != nil {
				return nil, 0, err
			}
			resp, err := cli.Call(ctx, MethodSubscribe, req, nil)
			if err == nil {
				d := newDecoder(resp)
				switch status := d.Byte("status"); status {
				case 0:
					id := d.Uvarint("subscription")
					d.End("subscribe response")
					return cli, id, d.Err()
				case 1:
					var rch Chain
					d.chain(&rch)
					if !c.learn(rch) && rch.Epoch == ch.Epoch {
						c.awaitNewer(ctx, version, shard, ch.Epoch)
					}
				default:
					return nil, 0, fmt.Errorf("%w: subscribe status %d", ErrMalformed, status)
				}
			} else if errors.Is(err, rpc.ErrUnavailable) {
				c.refresh(ctx, version, tail.ID)
			} else if ctx.Err() == nil {
				return nil, 0, err
			}
		}
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("%w: cannot subscribe to shard %d: %v", ErrUnavailable, shard, ctx.Err())
		}
		c.refresh(ctx, version, 0)
		_, v := c.chain(shard)
		r.sleep(ctx, v != version)
	}
}

// poll moves notifications from a tail into sub until ctx ends, moving to
// a new tail (after an OpResync) whenever the old one stops serving it.
func (c *Client) poll(ctx context.Context, shard int, t Table, key []byte, sub *Subscription, cli *rpc.Client, id uint64) {
	defer func() {
		if cli != nil {
			uctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			cli.Call(uctx, MethodUnsubscribe, appendUvarints(nil, id), nil)
			cancel()
		}
	}()
	req := appendUvarints(nil, id, 1024, uint64(200*time.Millisecond/time.Microsecond))
	var resp []byte
	var ns []Notification
	for ctx.Err() == nil {
		if cli == nil {
			var err error
			if cli, id, err = c.subscribeAt(ctx, shard, t, key); err != nil {
				cli = nil
				if errors.Is(err, ErrClosed) {
					return
				}
				var r retry
				r.wait = 10 * time.Millisecond
				r.sleep(ctx, false)
				continue
			}
			req = appendUvarints(req[:0], id, 1024, uint64(200*time.Millisecond/time.Microsecond))
			sub.resync()
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		var err error
		resp, err = cli.Call(pctx, MethodPoll, req, resp[:0])
		cancel()
		var gone bool
		if err == nil {
			ns, gone, err = decodeNotifications(resp, ns[:0])
		}
		if err != nil || gone {
			if ctx.Err() == nil {
				cli = nil // resubscribe, wherever the tail now is
			}
			continue
		}
		for _, n := range ns {
			sub.push(n.Table, n.Op, n.Key, n.Value)
		}
	}
}
