package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs"
	"manta/gcs/chain"
	"manta/gcs/internal/proto"
	"manta/rpc"
)

// Polling: each poll asks for up to pollMax notifications, which the tail
// waits up to pollWait for; pollTimeout bounds the call. A healthy
// subscription so polls at least every pollTimeout; a tail drops one not
// polled for far longer (see gcs/server).
const (
	pollMax     = 1024
	pollWait    = 200 * time.Millisecond
	pollTimeout = time.Second
)

// Subscribe watches key in t, or the whole table if key is nil, at the
// tails of the shards that hold it. Changes committed after Subscribe
// returns are delivered in order per shard. When a tail changes (or the
// connection breaks) the subscription moves to the new tail and delivers
// an OpResync first: changes in between may have been missed, and the
// subscriber should re-read what it watches.
func (c *Client) Subscribe(ctx context.Context, t gcs.Table, key []byte) (*gcs.Subscription, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("%w: unknown table %d", gcs.ErrBadOp, uint8(t))
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
		shards = append(shards, gcs.ShardOf(t, key, len(c.readers)))
	}
	pctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{}, len(shards))
	sub := gcs.NewSubscription(0, func() {
		stop()
		for range shards {
			<-done
		}
	})
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
func (c *Client) subscribeAt(ctx context.Context, shard int, t gcs.Table, key []byte) (*rpc.Client, uint64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = clockwork.WithTimeout(ctx, c.clock, c.cfg.Timeout)
		defer cancel()
	}
	req := proto.AppendSubscribe(nil, t, key)
	r := retry{clock: c.clock}
	for {
		ch, version := c.chain(shard)
		tail := ch.Tail()
		if tail.ID != 0 {
			cli, err := c.conn(tail.Addr)
			if errors.Is(err, errLeft) {
				continue // the chain changed: go where it says
			}
			if err != nil {
				return nil, 0, err
			}
			resp, err := cli.Call(ctx, proto.MethodSubscribe, req, nil)
			switch {
			case err == nil:
				var rch chain.Chain
				id, redirect, err := proto.DecodeSubscribed(resp, &rch)
				if err != nil {
					return nil, 0, err
				}
				if !redirect {
					return cli, id, nil
				}
				if !c.learn(rch) && rch.Epoch == ch.Epoch {
					c.awaitNewer(ctx, version, shard, ch.Epoch)
				}
			case errors.Is(err, rpc.ErrUnavailable):
				c.refresh(ctx, version, tail.ID)
			case errors.Is(err, rpc.ErrClosed):
				// The tail left its chain and its connection was closed
				// (or the client is closing: conn says so next).
			case !expired(ctx):
				return nil, 0, err
			}
		}
		if expired(ctx) {
			return nil, 0, fmt.Errorf("%w: cannot subscribe to shard %d: %v", gcs.ErrUnavailable, shard, ctx.Err())
		}
		c.refresh(ctx, version, 0)
		_, v := c.chain(shard)
		r.sleep(ctx, v != version)
	}
}

// poll moves notifications from a tail into sub until ctx ends, moving to
// a new tail (after an OpResync) whenever the old one stops serving it.
func (c *Client) poll(ctx context.Context, shard int, t gcs.Table, key []byte, sub *gcs.Subscription, cli *rpc.Client, id uint64) {
	defer func() {
		if cli != nil {
			c.unsubscribe(cli, id)
		}
	}()
	req := proto.AppendUvarints(nil, id, pollMax, uint64(pollWait/time.Microsecond))
	var resp []byte
	var ns []gcs.Notification
	for ctx.Err() == nil {
		if cli == nil {
			var err error
			if cli, id, err = c.subscribeAt(ctx, shard, t, key); err != nil {
				cli = nil
				if errors.Is(err, gcs.ErrClosed) {
					return
				}
				r := retry{clock: c.clock, wait: 10 * time.Millisecond}
				r.sleep(ctx, false)
				continue
			}
			req = proto.AppendUvarints(req[:0], id, pollMax, uint64(pollWait/time.Microsecond))
			sub.Resync()
		}
		pctx, cancel := clockwork.WithTimeout(ctx, c.clock, pollTimeout)
		var err error
		resp, err = cli.Call(pctx, proto.MethodPoll, req, resp[:0])
		cancel()
		var gone bool
		if err == nil {
			ns, gone, err = proto.DecodeNotifications(resp, ns[:0])
		}
		if err != nil || gone {
			if ctx.Err() == nil {
				if !gone {
					// The tail may hold it still (the poll was only slow):
					// it must not pile up there.
					c.unsubscribe(cli, id)
				}
				cli = nil // resubscribe, wherever the tail now is
			}
			continue
		}
		for _, n := range ns {
			sub.Push(n)
		}
	}
}

// unsubscribe drops subscription id at cli's replica, if it can within a
// short while: one it cannot reach drops it when it goes unpolled.
func (c *Client) unsubscribe(cli *rpc.Client, id uint64) {
	ctx, cancel := clockwork.WithTimeout(context.Background(), c.clock, 100*time.Millisecond)
	cli.Call(ctx, proto.MethodUnsubscribe, proto.AppendUvarints(nil, id), nil)
	cancel()
}
