package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Errors a request can end with. Every front end returns them wrapped, so
// callers test them with errors.Is.
var (
	// ErrTimeout: the request's context deadline passed before its
	// answer came. Only that request fails: the others of its batch are
	// answered.
	ErrTimeout = errors.New("serve: request timed out")
	// ErrCancelled: the request's context was cancelled (not by its
	// deadline) before its answer came.
	ErrCancelled = errors.New("serve: request cancelled")
	// ErrBadInput: the request does not fit the model: no states, a
	// length that is not a whole number of states, more states than a
	// batch holds, or (over HTTP) a body that is not the expected JSON.
	ErrBadInput = errors.New("serve: bad input")
	// ErrModel: the model failed (returned an error or panicked) on the
	// batch that held the request.
	ErrModel = errors.New("serve: model failed")
	// ErrClosed: the batcher was closed before the request was answered.
	ErrClosed = errors.New("serve: closed")
)

// Policy says how requests are gathered into batches; both front ends
// apply it through the same Batcher.
type Policy struct {
	// MaxBatch is the most states one model call evaluates (at least 1).
	// A request is never split: it joins a batch only whole.
	MaxBatch int
	// MaxWait is the longest the oldest waiting request waits for others
	// to fill its batch; a full batch goes at once. Zero runs whatever
	// has arrived as soon as the model is free.
	MaxWait time.Duration
}

func (p Policy) validate() error {
	if p.MaxBatch < 1 || p.MaxWait < 0 {
		return fmt.Errorf("%w: policy needs MaxBatch >= 1 and MaxWait >= 0, got %+v", ErrBadInput, p)
	}
	return nil
}

// request is one caller's states waiting for their outputs.
type request struct {
	ctx     context.Context
	states  []float32
	n       int // states in the request
	arrived time.Time
	reply   chan reply // buffered: the batcher never waits for the caller
}

type reply struct {
	out []float32
	err error
}

// ended reports whether ctx is done without calling Err first (a fake
// clock's context blocks in Err until it is done).
func ended(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// contextError is the error of a request whose context ended.
func contextError(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrCancelled, err)
}

// queue is the batching policy as a state machine without goroutines or
// clock: requests come in with their arrival time, and next says, for a
// given time, which requests make the batch to run now or how long to
// wait before asking again.
type queue struct {
	policy  Policy
	pending []*request // in arrival order
}

func (q *queue) push(r *request) { q.pending = append(q.pending, r) }

// next moves the requests whose context has ended into gone, and, when a
// batch is due, its requests into run: the oldest requests that fit in
// MaxBatch states, due once no more fit or the oldest has waited MaxWait.
// When none is due and requests wait, wait is how long until one is.
func (q *queue) next(now time.Time, run, gone []*request) (runOut, goneOut []*request, wait time.Duration) {
	live := q.pending[:0]
	for _, r := range q.pending {
		if ended(r.ctx) {
			gone = append(gone, r)
			continue
		}
		live = append(live, r)
	}
	clear(q.pending[len(live):])
	q.pending = live
	if len(q.pending) == 0 {
		return run, gone, 0
	}
	take, states := 0, 0
	for take < len(q.pending) && states+q.pending[take].n <= q.policy.MaxBatch {
		states += q.pending[take].n
		take++
	}
	full := take < len(q.pending) || states == q.policy.MaxBatch
	if waited := now.Sub(q.pending[0].arrived); !full && waited < q.policy.MaxWait {
		return run, gone, q.policy.MaxWait - waited
	}
	run = append(run, q.pending[:take]...)
	rest := copy(q.pending, q.pending[take:])
	clear(q.pending[rest:])
	q.pending = q.pending[:rest]
	return run, gone, 0
}

// Batcher gathers concurrent requests into batches under a Policy and
// evaluates each batch with one call of its Model, one batch at a time.
// It is the one implementation of batching that both front ends use: the
// model actor (Deployment) and the REST baseline (Server).
type Batcher struct {
	model  Model
	policy Policy
	clock  clockwork.Clock

	mu      sync.Mutex
	queue   queue
	closing bool

	wake    chan struct{} // a request came, or Close was called
	stopped chan struct{}

	// Owned by the loop: the batch's requests, inputs and outputs.
	run, gone []*request
	in, out   []float32
}

// NewBatcher starts a batcher that evaluates m under p, timing MaxWait
// on clock (nil: the real clock). Close stops it.
func NewBatcher(m Model, p Policy, clock clockwork.Clock) (*Batcher, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if m.InputSize() < 1 || m.OutputSize() < 1 {
		return nil, fmt.Errorf("%w: model sizes %d in, %d out", ErrBadInput, m.InputSize(), m.OutputSize())
	}
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	b := &Batcher{
		model: m, policy: p, clock: clock, queue: queue{policy: p},
		wake: make(chan struct{}, 1), stopped: make(chan struct{}),
		in: make([]float32, 0, p.MaxBatch*m.InputSize()), out: make([]float32, p.MaxBatch*m.OutputSize()),
	}
	go b.loop()
	return b, nil
}

// Policy returns the batcher's policy.
func (b *Batcher) Policy() Policy { return b.policy }

// Model returns the model the batcher evaluates.
func (b *Batcher) Model() Model { return b.model }

// Do evaluates states (one or more of the model's inputs, end to end) in
// the next batch they fit in, and returns their outputs, end to end. When
// ctx ends first, Do returns at once with an error wrapping ErrTimeout (a
// deadline) or ErrCancelled, and the request leaves the batch it waited
// for; other requests are not affected.
func (b *Batcher) Do(ctx context.Context, states []float32) ([]float32, error) {
	r, err := b.submit(ctx, states)
	if err != nil {
		return nil, err
	}
	select {
	case rep := <-r.reply:
		return rep.out, rep.err
	case <-ctx.Done():
		return nil, contextError(ctx)
	}
}

// submit queues a request and returns it; its reply comes on r.reply.
func (b *Batcher) submit(ctx context.Context, states []float32) (*request, error) {
	size := b.model.InputSize()
	if len(states) == 0 || len(states)%size != 0 {
		return nil, fmt.Errorf("%w: %d values are not a whole number of %d-value states", ErrBadInput, len(states), size)
	}
	n := len(states) / size
	if n > b.policy.MaxBatch {
		return nil, fmt.Errorf("%w: %d states in one request, a batch holds %d", ErrBadInput, n, b.policy.MaxBatch)
	}
	r := &request{ctx: ctx, states: states, n: n, reply: make(chan reply, 1)}
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	r.arrived = b.clock.Now()
	b.queue.push(r)
	b.mu.Unlock()
	b.signal()
	return r, nil
}

func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Close stops the batcher: a batch being evaluated finishes, requests
// still waiting fail with ErrClosed, and so do later ones.
func (b *Batcher) Close() {
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
	b.signal()
	<-b.stopped
}

// loop forms batches as the queue says and evaluates them. Its timer is
// set for the moment the oldest request's MaxWait ends and left alone
// while that moment stays the same: arriving requests do not move it, so
// the wait is not measured again from a later reading of the clock.
func (b *Batcher) loop() {
	defer close(b.stopped)
	var timer clockwork.Timer
	var timerAt time.Time
	stopTimer := func() {
		if timer != nil {
			timer.Stop()
			timer = nil
		}
	}
	defer stopTimer()
	for {
		b.mu.Lock()
		now := b.clock.Now()
		var wait time.Duration
		b.run, b.gone, wait = b.queue.next(now, b.run[:0], b.gone[:0])
		closing := b.closing
		if closing {
			b.run = append(b.run, b.queue.pending...)
			b.queue.pending = nil
		}
		b.mu.Unlock()

		for _, r := range b.gone {
			r.reply <- reply{err: contextError(r.ctx)}
		}
		clear(b.gone)
		if closing {
			for _, r := range b.run {
				r.reply <- reply{err: ErrClosed}
			}
			return
		}
		if len(b.run) > 0 {
			b.evaluate(b.run)
			clear(b.run) // keep no request (nor its states) until the next batch
			continue
		}
		switch at := now.Add(wait); {
		case wait == 0:
			stopTimer()
		case timer == nil || !at.Equal(timerAt):
			stopTimer()
			timer, timerAt = b.clock.NewTimer(wait), at
		}
		var due <-chan time.Time
		if timer != nil {
			due = timer.Chan()
		}
		select {
		case <-b.wake:
		case <-due:
			timer = nil // fired
		}
	}
}

// evaluate runs the model on the requests' states laid end to end and
// answers each with its own outputs.
func (b *Batcher) evaluate(run []*request) {
	in, states := b.in[:0], 0
	for _, r := range run {
		in = append(in, r.states...)
		states += r.n
	}
	b.in = in
	outSize := b.model.OutputSize()
	out := b.out[:states*outSize]
	if err := b.infer(in, out, states); err != nil {
		for _, r := range run {
			r.reply <- reply{err: err}
		}
		return
	}
	at := 0
	for _, r := range run {
		own := make([]float32, r.n*outSize)
		copy(own, out[at:])
		at += len(own)
		r.reply <- reply{out: own}
	}
}

// infer calls the model, turning a panic into an error so that one bad
// batch cannot take the server down.
func (b *Batcher) infer(in, out []float32, states int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w on a batch of %d states: panic: %v", ErrModel, states, p)
		}
	}()
	if err := b.model.Infer(in, out); err != nil {
		return fmt.Errorf("%w on a batch of %d states: %w", ErrModel, states, err)
	}
	return nil
}
