package client

import (
	"sync"
	"sync/atomic"
	"time"

	"manta/gcs"
)

// call is one operation of a Client waiting in a batcher.
type call struct {
	op       gcs.Op // a write, or for a read its Table and Key; bytes in buf
	buf      []byte // the op's key and value, copied: the caller may leave first
	req      uint64
	deadline time.Time
	dst      []byte // reads append the value here
	found    bool
	err      error
	state    atomic.Uint32 // callWaiting, then callDone or callAbandoned
	done     chan struct{} // receives once the sender has set the result
}

// Call states: a call is waiting until either its sender sets its result
// (done) or its caller gives up on it (abandoned), whichever comes first;
// only the winner touches the result fields and dst.
const (
	callWaiting = iota
	callDone
	callAbandoned
)

// maxKeep bounds the buffer a pooled call keeps.
const maxKeep = 64 << 10

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

// getCall returns a waiting call for op, holding a copy of its bytes.
func getCall(op gcs.Op) *call {
	c := callPool.Get().(*call)
	c.buf = append(append(c.buf[:0], op.Key...), op.Value...)
	c.op = op
	c.op.Key = c.buf[:len(op.Key):len(op.Key)]
	c.op.Value = nil
	if op.Value != nil {
		c.op.Value = c.buf[len(op.Key):]
	}
	return c
}

// putCall pools a call whose result its caller has taken. An abandoned
// call is never pooled: its sender may still hold it.
func putCall(c *call) {
	done, buf := c.done, c.buf[:0]
	if cap(buf) > maxKeep {
		buf = nil
	}
	*c = call{done: done, buf: buf}
	callPool.Put(c)
}

// finish claims c for its sender, which then sets the result and calls
// wake; false if the caller abandoned it.
func (c *call) finish() bool { return c.state.CompareAndSwap(callWaiting, callDone) }

// wake tells the caller its result is set.
func (c *call) wake() { c.done <- struct{}{} }

// abandon gives up on c for its caller; false if the sender set its result
// first (then done says when it is complete).
func (c *call) abandon() bool { return c.state.CompareAndSwap(callWaiting, callAbandoned) }

// abandoned reports whether the caller gave up on c.
func (c *call) abandoned() bool { return c.state.Load() == callAbandoned }

// batcher coalesces concurrent operations into frames: while operations
// are queued, up to max sender goroutines each take the oldest of them, up
// to maxBatch, and send them as one batch, then take the next. So under
// load frames fill with whatever arrived while the previous ones were out
// (pipelining), and alone a call goes out at once. The senders exit when
// the queue is empty, and run apart from the callers, each of whom waits
// for its own result only until its own deadline or cancellation.
type batcher struct {
	send     func(batch []*call) // sets each waiting call's result
	max      int
	maxBatch int

	mu      sync.Mutex
	queue   []*call
	senders int
}

// add queues c for a sender, starting one if fewer than max run.
func (b *batcher) add(c *call) {
	b.mu.Lock()
	b.queue = append(b.queue, c)
	start := b.senders < b.max
	if start {
		b.senders++
	}
	b.mu.Unlock()
	if start {
		go b.run()
	}
}

// run sends batches until the queue is empty.
func (b *batcher) run() {
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.senders--
			b.mu.Unlock()
			return
		}
		batch := b.takeLocked()
		b.mu.Unlock()
		b.send(batch)
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
