package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/rpc"
	"manta/shm/store"
)

var testToken = []byte("transfer-test-token")

func newStore(t testing.TB, capacity int64) *store.Store {
	t.Helper()
	s, err := store.New(store.Config{Capacity: capacity, SpillDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// put stores data as object id, sealed.
func put(t testing.TB, s *store.Store, id store.ID, data []byte) {
	t.Helper()
	sl, err := s.Create(context.Background(), id, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := store.NewView(s.Segment())
	if err != nil {
		t.Fatal(err)
	}
	w, err := v.Writable(sl)
	if err != nil {
		t.Fatal(err)
	}
	copy(w, data)
	if err := s.Seal(id); err != nil {
		t.Fatal(err)
	}
}

// read returns a copy of object id's bytes.
func read(t testing.TB, s *store.Store, id store.ID) []byte {
	t.Helper()
	sl, err := s.Pin(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unpin(id)
	v, err := store.NewView(s.Segment())
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.BytesOf(id, sl)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(b)
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func newServer(t testing.TB, s *store.Store, hook func(*rpc.Ctx, Request) error) *Server {
	t.Helper()
	srv, err := NewServer(ServerConfig{Store: s, Token: testToken, beforeChunk: hook})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func newPuller(t testing.TB, cfg PullerConfig) *Puller {
	t.Helper()
	if cfg.Token == nil {
		cfg.Token = testToken
	}
	p, err := NewPuller(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func absent(t *testing.T, s *store.Store, id store.ID) {
	t.Helper()
	if _, err := s.Pin(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("object %v: Pin = %v, want ErrNotFound (nothing half-written)", id, err)
	}
}

func TestPullSizes(t *testing.T) {
	const chunk = 64 << 10
	sizes := []int{0, 1, chunk - 1, chunk, chunk + 1, 5*chunk + 17, 64 << 20}
	src, dst := newStore(t, 96<<20), newStore(t, 96<<20)
	srv := newServer(t, src, nil)
	for _, cs := range []int{chunk, 0} {
		p := newPuller(t, PullerConfig{Store: dst, ChunkSize: cs})
		for i, n := range sizes {
			if cs != 0 && n > 1<<20 {
				continue // the 64 MiB object once, with the defaults
			}
			id := store.ID{1, byte(i), byte(cs >> 16)}
			data := pattern(n, byte(i))
			put(t, src, id, data)
			if err := p.Pull(context.Background(), id, int64(n), []string{srv.Addr()}, PriorityGet); err != nil {
				t.Fatalf("chunk %d, size %d: %v", cs, n, err)
			}
			if got := read(t, dst, id); !bytes.Equal(got, data) {
				t.Fatalf("chunk %d, size %d: bytes differ", cs, n)
			}
			// A second pull finds it there.
			if err := p.Pull(context.Background(), id, int64(n), []string{srv.Addr()}, PriorityGet); err != nil {
				t.Fatalf("chunk %d, size %d, again: %v", cs, n, err)
			}
			src.Delete(id)
			dst.Delete(id)
		}
	}
}

func TestDuplicatePullsMerged(t *testing.T) {
	const chunk, n = 64 << 10, 10*64<<10 + 3
	src, dst := newStore(t, 4<<20), newStore(t, 4<<20)
	id := store.ID{2}
	data := pattern(n, 2)
	put(t, src, id, data)
	var requests atomic.Int64
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := newServer(t, src, func(*rpc.Ctx, Request) error {
		requests.Add(1)
		once.Do(func() { close(entered); <-release })
		return nil
	})
	p := newPuller(t, PullerConfig{Store: dst, ChunkSize: chunk})
	joined := make(chan struct{}, 2)
	p.onJoin = func() { joined <- struct{}{} }

	errs := make(chan error, 3)
	pull := func(prio Priority) {
		errs <- p.Pull(context.Background(), id, n, []string{srv.Addr()}, prio)
	}
	go pull(PriorityArg)
	<-entered
	go pull(PriorityWait)
	go pull(PriorityGet)
	<-joined
	<-joined
	close(release)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := read(t, dst, id); !bytes.Equal(got, data) {
		t.Fatal("bytes differ")
	}
	if got, want := requests.Load(), int64((n+chunk-1)/chunk); got != want {
		t.Fatalf("%d chunk requests, want %d (one pull)", got, want)
	}
}

func TestWrongTokenRefused(t *testing.T) {
	src, dst := newStore(t, 1<<20), newStore(t, 1<<20)
	id := store.ID{3}
	put(t, src, id, pattern(1000, 3))
	srv := newServer(t, src, nil)
	p := newPuller(t, PullerConfig{Store: dst, Token: []byte("wrong token")})
	err := p.Pull(context.Background(), id, 1000, []string{srv.Addr()}, PriorityGet)
	if !errors.Is(err, ErrTransferFailed) || !errors.Is(err, rpc.ErrUnauthenticated) {
		t.Fatalf("Pull = %v, want ErrTransferFailed wrapping rpc.ErrUnauthenticated", err)
	}
	absent(t, dst, id)
}

func TestMissingObject(t *testing.T) {
	src, dst := newStore(t, 1<<20), newStore(t, 1<<20)
	srv := newServer(t, src, nil)
	p := newPuller(t, PullerConfig{Store: dst})
	ctx := context.Background()

	err := p.Pull(ctx, store.ID{4}, 100, []string{srv.Addr()}, PriorityGet)
	if !errors.Is(err, ErrTransferFailed) || !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("missing: Pull = %v, want ErrTransferFailed wrapping ErrObjectNotFound", err)
	}
	absent(t, dst, store.ID{4})

	if _, err := src.Create(ctx, store.ID{5}, 100); err != nil {
		t.Fatal(err)
	}
	err = p.Pull(ctx, store.ID{5}, 100, []string{srv.Addr()}, PriorityGet)
	if !errors.Is(err, ErrNotSealed) {
		t.Fatalf("unsealed: Pull = %v, want ErrNotSealed", err)
	}
	absent(t, dst, store.ID{5})

	put(t, src, store.ID{6}, pattern(100, 6))
	err = p.Pull(ctx, store.ID{6}, 99, []string{srv.Addr()}, PriorityGet)
	if !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("wrong size: Pull = %v, want ErrSizeMismatch", err)
	}
	absent(t, dst, store.ID{6})
}

func TestPeerDiesFallsBack(t *testing.T) {
	const chunk, n = 64 << 10, 16*64<<10 + 5
	// One request at a time: the first peer serves exactly 4 chunks. The
	// defaults: many in flight when it dies (some of the first 4 may be
	// queued behind the dying one and lost with it).
	for _, tc := range []struct {
		conns, depth int
		served       int64 // -1: any
	}{{1, 1, 4}, {0, 0, -1}} {
		t.Run(fmt.Sprintf("conns=%d,depth=%d", tc.conns, tc.depth), func(t *testing.T) {
			src, dst := newStore(t, 4<<20), newStore(t, 4<<20)
			id := store.ID{7}
			data := pattern(n, 7)
			put(t, src, id, data)
			second := newServer(t, src, nil)
			var first *Server
			var once sync.Once
			var served atomic.Int64
			first = newServer(t, src, func(c *rpc.Ctx, r Request) error {
				if r.Offset < 4*chunk {
					served.Add(1)
					return nil
				}
				// The peer dies in the middle of the object.
				once.Do(func() { go first.Close() })
				<-c.Done()
				return errors.New("dying")
			})
			p := newPuller(t, PullerConfig{Store: dst, ChunkSize: chunk, ConnsPerPeer: tc.conns, Depth: tc.depth})
			if err := p.Pull(context.Background(), id, n, []string{first.Addr(), second.Addr()}, PriorityGet); err != nil {
				t.Fatal(err)
			}
			if got := read(t, dst, id); !bytes.Equal(got, data) {
				t.Fatal("bytes differ")
			}
			if tc.served >= 0 && served.Load() != tc.served {
				t.Fatalf("the first peer served %d chunks, want %d", served.Load(), tc.served)
			}

			// Both dead: a typed error, nothing left behind.
			second.Close()
			id2 := store.ID{8}
			put(t, src, id2, data)
			err := p.Pull(context.Background(), id2, n, []string{first.Addr(), second.Addr()}, PriorityGet)
			if !errors.Is(err, ErrTransferFailed) || !errors.Is(err, rpc.ErrUnavailable) {
				t.Fatalf("Pull = %v, want ErrTransferFailed wrapping rpc.ErrUnavailable", err)
			}
			absent(t, dst, id2)
			p.mu.Lock()
			left := len(p.peers)
			p.mu.Unlock()
			if left != 0 {
				t.Fatalf("%d dead peers still kept", left)
			}
		})
	}
}

func TestStalledPeerFallsBack(t *testing.T) {
	const chunk, n = 64 << 10, 4*64<<10 + 1
	src, dst := newStore(t, 4<<20), newStore(t, 4<<20)
	data := pattern(n, 9)
	stalled := newServer(t, src, func(c *rpc.Ctx, r Request) error {
		<-c.Done() // never answers
		return errors.New("closed")
	})
	good := newServer(t, src, nil)
	p := newPuller(t, PullerConfig{Store: dst, ChunkSize: chunk, StallTimeout: 50 * time.Millisecond})
	// Without a deadline, and with one far later than StallTimeout.
	long, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for i, ctx := range []context.Context{context.Background(), long} {
		id := store.ID{9, byte(i)}
		put(t, src, id, data)
		if err := p.Pull(ctx, id, n, []string{stalled.Addr(), good.Addr()}, PriorityGet); err != nil {
			t.Fatal(err)
		}
		if got := read(t, dst, id); !bytes.Equal(got, data) {
			t.Fatal("bytes differ")
		}
	}
}

// waitForStoreWait returns once a Create on s is waiting for memory.
func waitForStoreWait(t *testing.T, s *store.Store, waits int64, errs <-chan error) {
	t.Helper()
	for s.Stats().Waits <= waits {
		select {
		case err := <-errs:
			t.Fatalf("Pull returned %v before waiting for room", err)
		default:
		}
		runtime.Gosched()
	}
}

func TestFullStoreWaits(t *testing.T) {
	const n = 512 << 10
	src, dst := newStore(t, 2<<20), newStore(t, 1<<20)
	srv := newServer(t, src, nil)
	p := newPuller(t, PullerConfig{Store: dst, ChunkSize: 64 << 10})
	ctx := context.Background()
	// Fill the local store with an object being written: it cannot be spilled.
	filler := store.ID{10}
	if _, err := dst.Create(ctx, filler, 900<<10); err != nil {
		t.Fatal(err)
	}
	id := store.ID{11}
	data := pattern(n, 11)
	put(t, src, id, data)

	errs := make(chan error, 1)
	go func() { errs <- p.Pull(ctx, id, n, []string{srv.Addr()}, PriorityGet) }()
	waitForStoreWait(t, dst, 0, errs)
	dst.Abort(filler)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if got := read(t, dst, id); !bytes.Equal(got, data) {
		t.Fatal("bytes differ")
	}
	dst.Delete(id)

	// Still full when the caller gives up: ctx's error.
	if _, err := dst.Create(ctx, filler, 900<<10); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { errs <- p.Pull(cctx, id, n, []string{srv.Addr()}, PriorityGet) }()
	waitForStoreWait(t, dst, 1, errs)
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) || !errors.Is(err, store.ErrFull) {
		t.Fatalf("Pull = %v, want context.Canceled and store.ErrFull", err)
	}
	absent(t, dst, id)
}

func TestPriorityOrder(t *testing.T) {
	pe := &peer{free: []int{0}}
	ctx := context.Background()
	s, err := pe.acquire(ctx, PriorityArg)
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan Priority, 3)
	var wg sync.WaitGroup
	for i, prio := range []Priority{PriorityArg, PriorityWait, PriorityGet} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := pe.acquire(ctx, prio)
			if err != nil {
				t.Error(err)
				return
			}
			order <- prio
			pe.release(s)
		}()
		for { // wait until it is queued
			pe.mu.Lock()
			q := len(pe.waiting)
			pe.mu.Unlock()
			if q == i+1 {
				break
			}
			runtime.Gosched()
		}
	}
	// A cancelled waiter leaves the queue.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := pe.acquire(cctx, PriorityGet); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled acquire = %v", err)
	}
	pe.release(s)
	wg.Wait()
	close(order)
	var got []Priority
	for p := range order {
		got = append(got, p)
	}
	if fmt.Sprint(got) != fmt.Sprint([]Priority{PriorityGet, PriorityWait, PriorityArg}) {
		t.Fatalf("served in order %v, want Get, Wait, Arg", got)
	}
	if len(pe.free) != 1 || len(pe.waiting) != 0 {
		t.Fatalf("free %v, waiting %d after all released", pe.free, len(pe.waiting))
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, r := range []Request{{}, {ID: store.ID{1}, Size: 10, Offset: 3, Length: 7}, {Size: 1 << 40, Offset: 1 << 30, Length: 4 << 20}} {
		b, err := r.AppendBinary(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, RequestSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		if r.Offset < 0 || r.Length < 0 || r.Offset+int64(r.Length) > r.Size {
			t.Fatalf("decoded a bad range: %+v", r)
		}
		again, err := r.AppendBinary(nil)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", r, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("round trip: %x != %x", again, b)
		}
	})
}

// A merged Pull whose leader's caller gives up takes the pull over.
func TestMergedPullTakesOver(t *testing.T) {
	const chunk, n = 64 << 10, 3*64<<10 + 9
	src, dst := newStore(t, 4<<20), newStore(t, 4<<20)
	id := store.ID{12}
	data := pattern(n, 12)
	put(t, src, id, data)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := newServer(t, src, func(*rpc.Ctx, Request) error {
		once.Do(func() { close(entered); <-release })
		return nil
	})
	p := newPuller(t, PullerConfig{Store: dst, ChunkSize: chunk})
	joined := make(chan struct{}, 1)
	p.onJoin = func() { joined <- struct{}{} }

	lctx, cancel := context.WithCancel(context.Background())
	leader, follower := make(chan error, 1), make(chan error, 1)
	go func() { leader <- p.Pull(lctx, id, n, []string{srv.Addr()}, PriorityArg) }()
	<-entered
	go func() { follower <- p.Pull(context.Background(), id, n, []string{srv.Addr()}, PriorityGet) }()
	<-joined
	cancel()
	if err := <-leader; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-follower; err != nil {
		t.Fatalf("follower: %v", err)
	}
	if got := read(t, dst, id); !bytes.Equal(got, data) {
		t.Fatal("bytes differ")
	}
}

// Close fails the pulls in flight with ErrClosed and leaves nothing behind.
func TestCloseFailsPulls(t *testing.T) {
	src, dst := newStore(t, 4<<20), newStore(t, 4<<20)
	id := store.ID{13}
	put(t, src, id, pattern(1000, 13))
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := newServer(t, src, func(*rpc.Ctx, Request) error {
		once.Do(func() { close(entered); <-release })
		return nil
	})
	defer close(release)
	p := newPuller(t, PullerConfig{Store: dst})
	errs := make(chan error, 1)
	go func() { errs <- p.Pull(context.Background(), id, 1000, []string{srv.Addr()}, PriorityGet) }()
	<-entered
	p.Close()
	if err := <-errs; !errors.Is(err, ErrClosed) {
		t.Fatalf("Pull = %v, want ErrClosed", err)
	}
	absent(t, dst, id)
	if err := p.Pull(context.Background(), id, 1000, []string{srv.Addr()}, PriorityGet); !errors.Is(err, ErrClosed) {
		t.Fatalf("Pull after Close = %v, want ErrClosed", err)
	}
}

// A cached copy (store.Cache) that a peer pulls stays cached: the
// server's pins claim nothing, so when the store runs short of memory
// the copy is dropped, not spilled to a file nobody deletes.
func TestServedCachedCopyStaysCached(t *testing.T) {
	const quarter = 16<<10 - store.HeaderSize // four fill a 64 KiB store
	src, dst := newStore(t, 64<<10), newStore(t, 1<<20)
	srv := newServer(t, src, nil)
	p := newPuller(t, PullerConfig{Store: dst, ChunkSize: 4 << 10})
	id := store.ID{14}
	data := pattern(quarter, 14)
	put(t, src, id, data)
	src.Cache(id)
	if err := p.Pull(context.Background(), id, quarter, []string{srv.Addr()}, PriorityGet); err != nil {
		t.Fatal(err)
	}
	if got := read(t, dst, id); !bytes.Equal(got, data) {
		t.Fatal("bytes differ")
	}
	for n := range byte(4) {
		put(t, src, store.ID{15, n}, pattern(quarter, n))
	}
	if st := src.Stats(); st.CachedDropped != 1 || st.SpillWrites != 0 || st.Spilled != 0 {
		t.Fatalf("cached copies dropped %d, spill writes %d, spilled %d; want 1, 0 and 0", st.CachedDropped, st.SpillWrites, st.Spilled)
	}
	if _, err := src.Pin(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the cached copy after memory ran short: Pin = %v, want ErrNotFound", err)
	}
}

// A pull into a store full of pinned objects gives up, as a local Create
// does, once the store's PutTimeout has passed on its clock, however
// long its caller's context lasts.
func TestFullStoreGivesUpAfterPutTimeout(t *testing.T) {
	const quarter = 16<<10 - store.HeaderSize // four fill a 64 KiB store
	fc := clockwork.NewFakeClock()
	dst, err := store.New(store.Config{Capacity: 64 << 10, SpillDir: t.TempDir(), PutTimeout: 20 * time.Millisecond, Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for n := range byte(4) {
		id := store.ID{16, n}
		put(t, dst, id, pattern(quarter, n))
		if _, err := dst.Pin(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	src := newStore(t, 1<<20)
	srv := newServer(t, src, nil)
	p := newPuller(t, PullerConfig{Store: dst})
	id := store.ID{17}
	put(t, src, id, pattern(quarter, 17))

	errs := make(chan error, 1)
	go func() { errs <- p.Pull(ctx, id, quarter, []string{srv.Addr()}, PriorityGet) }()
	if err := fc.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("the pull never waited for room: %v", err)
	}
	fc.Advance(20 * time.Millisecond)
	err = <-errs
	if !errors.Is(err, store.ErrFull) || ctx.Err() != nil {
		t.Fatalf("Pull = %v (its context: %v); want store.ErrFull before its context ends", err, ctx.Err())
	}
	absent(t, dst, id)
}
