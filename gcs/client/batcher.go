package client

import (
	"sync"
	"time"

	"manta/gcs"
)

// call is one operation of a Client waiting in a batcher.
type call struct {
	op       gcs.Op // a write, or for a read its Table and Key
	req      uint64
	deadline time.Time
	dst      []byte // reads append the value here
	found    bool
	err      error
	ch       chan bool // true: done; false: lead, sending batch
	batch    []*call
	leading  bool // guarded by the batcher's mu: this caller is sending batches
}

var callPool = sync.Pool{New: func() any { return &call{ch: make(chan bool, 1)} }}

func getCall() *call { return callPool.Get().(*call) }

func putCall(c *call) {
	ch := c.ch
	*c = call{ch: ch}
	callPool.Put(c)
}

// batcher coalesces concurrent operations into frames without a goroutine
// of its own (leader/follower): a caller that finds fewer than max frames
// in flight sends the oldest queued operations itself, up to maxBatch of
// them; the others wait, and each finishing sender hands the next batch
// to the oldest waiter. So under load frames fill with whatever arrived
// while the previous ones were out (pipelining), and alone a call goes
// out at once.
type batcher struct {
	send     func(batch []*call) // completes each call's result fields
	max      int
	maxBatch int

	mu       sync.Mutex
	queue    []*call
	inflight int
}

// do runs c through the batcher and returns once its result is set.
func (b *batcher) do(c *call) {
	b.mu.Lock()
	b.queue = append(b.queue, c)
	var batch []*call
	if b.inflight < b.max {
		b.inflight++
		c.leading = true
		batch = b.takeLocked()
	}
	b.mu.Unlock()
	for {
		if batch == nil {
			if <-c.ch {
				return
			}
			batch, c.batch = c.batch, nil // c.leading was set by whoever handed it over
		}
		b.send(batch)
		done := false
		for _, x := range batch {
			if x == c {
				done = true
			} else {
				x.ch <- true
			}
		}
		if !done {
			// Another sender may have had c; nobody hands a batch to a
			// caller that is sending, so what is there says done.
			select {
			case <-c.ch:
				done = true
			default:
			}
		}
		b.mu.Lock()
		var next []*call
		if len(b.queue) > 0 {
			next = b.takeLocked()
		}
		if next == nil {
			b.inflight--
			c.leading = false
			b.mu.Unlock()
			if done {
				return
			}
			batch = nil
			continue
		}
		var heir *call
		if done {
			for _, x := range next {
				if !x.leading {
					heir = x
					break
				}
			}
		}
		if heir == nil {
			// Not done yet (or every caller in next is itself sending):
			// send next too.
			b.mu.Unlock()
			batch = next
			continue
		}
		c.leading = false
		heir.leading = true
		heir.batch = next
		b.mu.Unlock()
		heir.ch <- false
		return
	}
}

func (b *batcher) takeLocked() []*call {
	n := min(len(b.queue), b.maxBatch)
	batch := make([]*call, n)
	copy(batch, b.queue)
	m := copy(b.queue, b.queue[n:])
	clear(b.queue[m:])
	b.queue = b.queue[:m]
	return batch
}
