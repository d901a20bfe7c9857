package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

type createResult struct {
	sl  Slot
	err error
}

// newWaitStore is a store of capacity bytes whose waits run on a fake
// clock, which moves only when the test advances it.
func newWaitStore(t *testing.T, capacity int64, timeout time.Duration) (*testStore, *clockwork.FakeClock) {
	fc := clockwork.NewFakeClock()
	return newTestStore(t, Config{Capacity: capacity, PutTimeout: timeout, Clock: fc}), fc
}

// fillPinned fills a 64 KiB store with four pinned objects.
func fillPinned(t *testing.T, timeout time.Duration) (*testStore, *clockwork.FakeClock) {
	s, fc := newWaitStore(t, 64<<10, timeout)
	for n := uint64(1); n <= 4; n++ {
		s.put(t, idOf(n), content(n, quarter))
		if _, err := s.Pin(context.Background(), idOf(n)); err != nil {
			t.Fatal(err)
		}
	}
	return s, fc
}

// createAsync starts a Create and returns where its result will arrive.
func (s *testStore) createAsync(ctx context.Context, id ID, size int64) <-chan createResult {
	ch := make(chan createResult, 1)
	go func() {
		sl, err := s.Create(ctx, id, size)
		ch <- createResult{sl, err}
	}()
	return ch
}

// waiting waits until n Create or Pin calls wait for memory, their
// timeouts armed on fc.
func waiting(t *testing.T, fc *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fc.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("%d calls never waited: %v", n, err)
	}
}

// TestFullTimesOutAndLosesNothing: a Create in a store full of pinned
// objects fails when its timeout has passed on the store's clock, and not
// before; nothing stored is lost.
func TestFullTimesOutAndLosesNothing(t *testing.T) {
	s, fc := fillPinned(t, 50*time.Millisecond)
	before := s.Stats()
	res := s.createAsync(context.Background(), idOf(5), quarter)
	waiting(t, fc, 1)
	fc.Advance(50*time.Millisecond - time.Nanosecond)
	select {
	case r := <-res:
		t.Fatalf("gave up before its timeout: %v", r.err)
	default:
	}
	fc.Advance(time.Nanosecond)
	err := (<-res).err
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Create in a pinned-full store: %v", err)
	}
	for _, want := range []string{"16384 bytes", "after waiting 50ms", "capacity 65536", "pinned 65536"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("message lacks %q: %v", want, err)
		}
	}
	st := s.Stats()
	if st.Used != before.Used || st.Objects != 4 || st.Spilled != 0 || st.Waits != 1 {
		t.Fatalf("after the failed Create: %+v", st)
	}
	for n := uint64(1); n <= 4; n++ {
		s.check(t, idOf(n), content(n, quarter))
	}
	s.checkInvariants(t)
}

func TestFullNoWait(t *testing.T) {
	s, _ := fillPinned(t, -1)
	if _, err := s.Create(context.Background(), idOf(5), 1); !errors.Is(err, ErrFull) {
		t.Fatalf("got %v", err)
	}
}

func TestCreateWaitEndsWithContext(t *testing.T) {
	s, fc := fillPinned(t, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	res := s.createAsync(ctx, idOf(5), quarter)
	waiting(t, fc, 1)
	cancel()
	r := <-res
	if !errors.Is(r.err, ErrFull) || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("got %v", r.err)
	}
	s.checkInvariants(t)
}

// A waiting Create is released when a pin goes: it spills the unpinned
// object and takes its place; the spilled object reads back intact.
func TestCreateReleasedByUnpin(t *testing.T) {
	s, fc := fillPinned(t, time.Hour)
	res := s.createAsync(context.Background(), idOf(5), quarter)
	waiting(t, fc, 1)
	s.Unpin(idOf(2))
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	w, err := s.v.Writable(r.sl)
	if err != nil {
		t.Fatal(err)
	}
	copy(w, content(5, quarter))
	if err := s.Seal(idOf(5)); err != nil {
		t.Fatal(err)
	}
	if mem, disk := s.location(t, idOf(2)); mem || !disk {
		t.Fatalf("object 2: in memory %v, on disk %v", mem, disk)
	}
	s.Unpin(idOf(1)) // room to restore 2
	s.check(t, idOf(2), content(2, quarter))
	s.check(t, idOf(5), content(5, quarter))
	s.checkInvariants(t)
}

func TestCreateReleasedByDelete(t *testing.T) {
	s, fc := fillPinned(t, time.Hour)
	res := s.createAsync(context.Background(), idOf(5), quarter)
	waiting(t, fc, 1)
	s.Delete(idOf(3)) // pinned: freed at the Unpin
	s.Unpin(idOf(3))
	if r := <-res; r.err != nil {
		t.Fatal(r.err)
	}
	if st := s.Stats(); st.Spilled != 0 || st.Objects != 4 {
		t.Fatalf("%+v", st)
	}
	s.checkInvariants(t)
}

// Objects being written cannot be spilled; Abort or Seal releases a
// waiting Create.
func TestCreateReleasedByAbortAndSeal(t *testing.T) {
	s, fc := newWaitStore(t, 64<<10, time.Hour)
	ctx := context.Background()
	for n := uint64(1); n <= 4; n++ {
		if _, err := s.Create(ctx, idOf(n), quarter); err != nil {
			t.Fatal(err)
		}
	}
	res := s.createAsync(ctx, idOf(5), quarter)
	waiting(t, fc, 1)
	s.Abort(idOf(1))
	if r := <-res; r.err != nil {
		t.Fatal(r.err)
	}
	res = s.createAsync(ctx, idOf(6), quarter)
	waiting(t, fc, 1)
	if err := s.Seal(idOf(2)); err != nil { // sealed: now it can be spilled
		t.Fatal(err)
	}
	if r := <-res; r.err != nil {
		t.Fatal(r.err)
	}
	if mem, disk := s.location(t, idOf(2)); mem || !disk {
		t.Fatalf("object 2: in memory %v, on disk %v", mem, disk)
	}
	s.checkInvariants(t)
}

func TestCloseReleasesWaiters(t *testing.T) {
	s, fc := fillPinned(t, time.Hour)
	res := s.createAsync(context.Background(), idOf(5), quarter)
	waiting(t, fc, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if r := <-res; !errors.Is(r.err, ErrClosed) {
		t.Fatalf("got %v", r.err)
	}
}

// A Pin that must restore waits for room like Create does.
func TestRestoreWaitsForRoom(t *testing.T) {
	s, fc := newWaitStore(t, 64<<10, time.Hour)
	ctx := context.Background()
	for n := uint64(1); n <= 5; n++ { // 1 is spilled
		s.put(t, idOf(n), content(n, quarter))
	}
	for n := uint64(2); n <= 5; n++ {
		if _, err := s.Pin(ctx, idOf(n)); err != nil {
			t.Fatal(err)
		}
	}
	res := make(chan error, 1)
	go func() {
		_, err := s.Pin(ctx, idOf(1))
		res <- err
	}()
	waiting(t, fc, 1)
	s.Unpin(idOf(4))
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	s.Unpin(idOf(1))
	s.check(t, idOf(1), content(1, quarter))
	s.checkInvariants(t)
}
