package serve

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/core"
)

func TestMain(m *testing.M) {
	core.WorkerMain()
	os.Exit(m.Run())
}

// recorder is a test model: every output value is the number of states
// in its batch, so a caller learns the size of the batch it was in; each
// batch's inputs are also sent on batches when it is set.
type recorder struct {
	size    int
	batches chan []float32
	fail    error
	panics  bool
}

func (m *recorder) InputSize() int  { return m.size }
func (m *recorder) OutputSize() int { return 1 }

func (m *recorder) Infer(in, out []float32) error {
	if m.batches != nil {
		m.batches <- slices.Clone(in)
	}
	if m.panics {
		panic("boom")
	}
	if m.fail != nil {
		return m.fail
	}
	for i := range out {
		out[i] = float32(len(out))
	}
	return nil
}

// state is a one-state request of value v.
func state(v float32, size int) []float32 {
	s := make([]float32, size)
	for i := range s {
		s[i] = v
	}
	return s
}

func TestQueuePolicy(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := Policy{MaxBatch: 4, MaxWait: 10 * time.Millisecond}
	req := func(n int, at time.Time) *request {
		return &request{ctx: context.Background(), n: n, arrived: at}
	}
	q := queue{policy: p}
	if run, gone, wait := q.next(t0, nil, nil); run != nil || gone != nil || wait != 0 {
		t.Fatalf("empty queue: %v %v %v", run, gone, wait)
	}

	a := req(1, t0)
	q.push(a)
	if run, _, wait := q.next(t0.Add(4*time.Millisecond), nil, nil); run != nil || wait != 6*time.Millisecond {
		t.Fatalf("one request after 4 ms: run %v, wait %v; want none, 6 ms", run, wait)
	}
	if run, _, _ := q.next(t0.Add(10*time.Millisecond), nil, nil); !slices.Equal(run, []*request{a}) {
		t.Fatalf("after MaxWait: %v", run)
	}

	four := []*request{req(1, t0), req(2, t0), req(1, t0), req(1, t0)}
	for _, r := range four {
		q.push(r)
	}
	if run, _, _ := q.next(t0, nil, nil); !slices.Equal(run, four[:3]) {
		t.Fatalf("full batch (4 states) not run at once: %d requests", len(run))
	}
	if run, _, wait := q.next(t0, nil, nil); run != nil || wait != p.MaxWait {
		t.Fatalf("the rest waits: %v %v", run, wait)
	}
	q.next(t0.Add(p.MaxWait), nil, nil)

	// A request is never split: 3 states then 2 make two batches, the
	// first at once (the second does not fit), the second after MaxWait.
	three, two := req(3, t0), req(2, t0)
	q.push(three)
	q.push(two)
	if run, _, _ := q.next(t0, nil, nil); !slices.Equal(run, []*request{three}) {
		t.Fatalf("3 then 2 states: first batch %v", run)
	}
	if run, _, _ := q.next(t0.Add(p.MaxWait), nil, nil); !slices.Equal(run, []*request{two}) {
		t.Fatalf("3 then 2 states: second batch %v", run)
	}

	// A request whose context ended leaves the queue, and the batch.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dead, live := &request{ctx: ctx, n: 1, arrived: t0}, req(1, t0)
	q.push(dead)
	q.push(live)
	run, gone, _ := q.next(t0.Add(p.MaxWait), nil, nil)
	if !slices.Equal(run, []*request{live}) || !slices.Equal(gone, []*request{dead}) {
		t.Fatalf("ended context: run %v, gone %v", run, gone)
	}

	// MaxWait 0: whatever waits runs as soon as asked.
	q = queue{policy: Policy{MaxBatch: 4}}
	q.push(a)
	if run, _, _ := q.next(t0, nil, nil); !slices.Equal(run, []*request{a}) {
		t.Fatalf("MaxWait 0: %v", run)
	}
}

// newTestBatcher starts a batcher of the recorder on a fake clock.
func newTestBatcher(t *testing.T, m Model, p Policy) (*Batcher, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClock()
	b, err := NewBatcher(m, p, clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b, clock
}

// answer waits for a submitted request's reply.
func answer(t *testing.T, r *request) reply {
	t.Helper()
	return <-r.reply
}

func submit(t *testing.T, b *Batcher, ctx context.Context, states []float32) *request {
	t.Helper()
	r, err := b.submit(ctx, states)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBatcherWaitsMaxWaitForABatchToFill(t *testing.T) {
	m := &recorder{size: 2, batches: make(chan []float32, 4)}
	b, clock := newTestBatcher(t, m, Policy{MaxBatch: 4, MaxWait: 10 * time.Millisecond})
	ctx := t.Context()

	r := submit(t, b, ctx, state(1, 2))
	if err := clock.BlockUntilContext(ctx, 1); err != nil { // the batcher's MaxWait timer
		t.Fatal(err)
	}
	clock.Advance(9 * time.Millisecond)
	select {
	case in := <-m.batches:
		t.Fatalf("a batch of %d values ran before MaxWait", len(in))
	default:
	}
	clock.Advance(time.Millisecond)
	if rep := answer(t, r); rep.err != nil || !slices.Equal(rep.out, []float32{1}) {
		t.Fatalf("after MaxWait: %+v, want a batch of 1", rep)
	}
}

func TestBatcherRunsAFullBatchAtOnce(t *testing.T) {
	m := &recorder{size: 2, batches: make(chan []float32, 4)}
	b, clock := newTestBatcher(t, m, Policy{MaxBatch: 4, MaxWait: time.Hour})
	ctx := t.Context()

	var reqs []*request
	for i := range 6 {
		reqs = append(reqs, submit(t, b, ctx, state(float32(i), 2)))
	}
	// The first four fill a batch: answered with the clock standing still.
	for i, r := range reqs[:4] {
		if rep := answer(t, r); rep.err != nil || !slices.Equal(rep.out, []float32{4}) {
			t.Fatalf("request %d: %+v, want a batch of 4", i, rep)
		}
	}
	if in := <-m.batches; !slices.Equal(in, slices.Concat(state(0, 2), state(1, 2), state(2, 2), state(3, 2))) {
		t.Fatalf("first batch %v: not the first four requests in order", in)
	}
	// The other two wait for MaxWait.
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	for i, r := range reqs[4:] {
		if rep := answer(t, r); rep.err != nil || !slices.Equal(rep.out, []float32{2}) {
			t.Fatalf("request %d: %+v, want a batch of 2", 4+i, rep)
		}
	}
}

func TestBatcherMultiStateRequests(t *testing.T) {
	m := &recorder{size: 1}
	b, _ := newTestBatcher(t, m, Policy{MaxBatch: 4})
	out, err := b.Do(t.Context(), []float32{1, 2, 3})
	if err != nil || !slices.Equal(out, []float32{3, 3, 3}) {
		t.Fatalf("three states: %v %v", out, err)
	}
}

// expiring submits a request whose context times out on the fake clock
// after d, and returns its Do's error when it comes.
func expiring(b *Batcher, clock *clockwork.FakeClock, d time.Duration, states []float32) <-chan error {
	ctx, cancel := clockwork.WithTimeout(context.Background(), clock, d)
	errc := make(chan error, 1)
	go func() {
		defer cancel()
		_, err := b.Do(ctx, states)
		errc <- err
	}()
	return errc
}

func TestTimeoutFailsOnlyItsOwnRequest(t *testing.T) {
	m := &recorder{size: 2, batches: make(chan []float32, 4)}
	b, clock := newTestBatcher(t, m, Policy{MaxBatch: 4, MaxWait: 10 * time.Millisecond})
	ctx := t.Context()

	patient := submit(t, b, ctx, state(1, 2))
	hurried := expiring(b, clock, 5*time.Millisecond, state(2, 2))
	// The batcher's timer and the hurried request's deadline.
	if err := clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Millisecond)
	err := <-hurried
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hurried request: %v, want ErrTimeout", err)
	}
	clock.Advance(5 * time.Millisecond)
	if rep := answer(t, patient); rep.err != nil || !slices.Equal(rep.out, []float32{1}) {
		t.Fatalf("patient request: %+v, want a batch of its own state only", rep)
	}
	if in := <-m.batches; !slices.Equal(in, state(1, 2)) {
		t.Fatalf("the model saw %v, not the patient request alone", in)
	}
}

func TestCancelledRequest(t *testing.T) {
	b, _ := newTestBatcher(t, &recorder{size: 1}, Policy{MaxBatch: 4, MaxWait: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Do(ctx, []float32{1}); !errors.Is(err, ErrCancelled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestBatcherBadInput(t *testing.T) {
	b, _ := newTestBatcher(t, &recorder{size: 2}, Policy{MaxBatch: 2})
	for name, states := range map[string][]float32{
		"empty":       nil,
		"half state":  {1, 2, 3},
		"over batch":  make([]float32, 6),
		"single half": {1},
	} {
		if _, err := b.Do(t.Context(), states); !errors.Is(err, ErrBadInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, p := range []Policy{{MaxBatch: 0}, {MaxBatch: 1, MaxWait: -1}} {
		if _, err := NewBatcher(&recorder{size: 1}, p, nil); !errors.Is(err, ErrBadInput) {
			t.Errorf("policy %+v: %v", p, err)
		}
	}
	if _, err := NewBatcher(&recorder{size: 0}, Policy{MaxBatch: 1}, nil); !errors.Is(err, ErrBadInput) {
		t.Errorf("model of 0-value states: %v", err)
	}
}

func TestModelFailureFailsItsBatchOnly(t *testing.T) {
	for name, m := range map[string]*recorder{
		"error": {size: 1, fail: errors.New("out of memory")},
		"panic": {size: 1, panics: true},
	} {
		b, _ := newTestBatcher(t, m, Policy{MaxBatch: 2})
		reqs := []*request{submit(t, b, t.Context(), []float32{1}), submit(t, b, t.Context(), []float32{2})}
		for _, r := range reqs {
			if rep := answer(t, r); !errors.Is(rep.err, ErrModel) {
				t.Errorf("%s: %+v, want ErrModel", name, rep)
			}
		}
		m.fail, m.panics = nil, false
		if out, err := b.Do(t.Context(), []float32{3}); err != nil || len(out) != 1 {
			t.Errorf("%s: the next batch: %v %v", name, out, err)
		}
	}
}

func TestCloseFailsWaitingRequests(t *testing.T) {
	b, err := NewBatcher(&recorder{size: 1}, Policy{MaxBatch: 4, MaxWait: time.Hour}, clockwork.NewFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	r := submit(t, b, t.Context(), []float32{1})
	b.Close()
	if rep := answer(t, r); !errors.Is(rep.err, ErrClosed) {
		t.Fatalf("waiting request: %+v", rep)
	}
	if _, err := b.Do(t.Context(), []float32{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestResidual(t *testing.T) {
	if _, err := NewResidual(100, 0, 1); !errors.Is(err, ErrBadInput) {
		t.Fatalf("100-value states: %v", err)
	}
	m, err := NewResidual(2*ResidualFeatures, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 2*m.InputSize())
	for i := range in {
		in[i] = float32(i)
	}
	out := make([]float32, 2*m.OutputSize())
	if err := m.Infer(in, out); err != nil {
		t.Fatal(err)
	}
	again := make([]float32, len(out))
	if err := m.Infer(in, again); err != nil || !slices.Equal(out, again) {
		t.Fatalf("not deterministic: %v", err)
	}
	// With W₂ = 0 the residual branch adds nothing: the output is the
	// pooled state, the mean of each pair of values.
	clear(m.w2)
	if err := m.Infer(in, out); err != nil {
		t.Fatal(err)
	}
	for s := range 2 {
		for j := range ResidualFeatures {
			base := s*m.InputSize() + 2*j
			if want := (in[base] + in[base+1]) / 2; out[s*ResidualFeatures+j] != want {
				t.Fatalf("state %d feature %d: %v, want %v", s, j, out[s*ResidualFeatures+j], want)
			}
		}
	}
	if err := m.Infer(in[:3], out); !errors.Is(err, ErrBadInput) {
		t.Fatalf("partial state: %v", err)
	}
}

// TestBatcherConcurrentClients runs many clients against the batcher at
// once (for the race detector): every request gets its own outputs back.
func TestBatcherConcurrentClients(t *testing.T) {
	const clients, each = 16, 20
	m, err := NewResidual(ResidualFeatures, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	inputs, wants := make([][]float32, clients*each), make([][]float32, clients*each)
	for i := range inputs {
		inputs[i], wants[i] = state(float32(i), ResidualFeatures), make([]float32, ResidualFeatures)
		if err := m.Infer(inputs[i], wants[i]); err != nil {
			t.Fatal(err)
		}
	}
	b, err := NewBatcher(m, Policy{MaxBatch: 8, MaxWait: 100 * time.Microsecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := c * each; i < (c+1)*each; i++ {
				out, err := b.Do(t.Context(), inputs[i])
				if err != nil || !slices.Equal(out, wants[i]) {
					t.Errorf("client %d, request %d: %v", c, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
