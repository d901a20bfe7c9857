package shm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// alignedMem returns n zeroed bytes of Go heap memory, 8-byte aligned.
// Tests use heap memory where they can because the race detector ignores
// accesses to mmap'd memory.
func alignedMem(n int) []byte {
	words := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
}

// ringPair creates a ring and attaches a second handle to it, as the two
// processes would.
func ringPair(t testing.TB, capacity int) (prod, cons *Ring) {
	t.Helper()
	mem := alignedMem(DoorbellSize + RingSize(capacity))
	prod, err := NewRing(mem[DoorbellSize:], capacity, NewDoorbell(mem))
	if err != nil {
		t.Fatal(err)
	}
	cons, err = AttachRing(mem[DoorbellSize:], capacity, NewDoorbell(mem))
	if err != nil {
		t.Fatal(err)
	}
	return prod, cons
}

// message fills dst with the content of message i of size n: its index
// followed by bytes derived from it, so any reordering or damage shows.
func message(dst []byte, i uint64, n int) []byte {
	dst = dst[:0]
	for j := 0; j < n; j++ {
		dst = append(dst, byte(i*131+uint64(j)*7+uint64(j>>8)))
	}
	if n >= 8 {
		binary.LittleEndian.PutUint64(dst, i)
	}
	return dst
}

// randomSize mixes small messages, ones near MaxRecord and fragmented ones
// several times the capacity.
func randomSize(rng *rand.Rand, capacity int) int {
	switch p := rng.IntN(100); {
	case p < 70:
		return rng.IntN(200)
	case p < 95:
		return rng.IntN(capacity / 2)
	default:
		return capacity + rng.IntN(3*capacity)
	}
}

func TestRingOrderAndIntegrity(t *testing.T) {
	for _, tc := range []struct {
		name      string
		capacity  int
		n         int
		twoHandle bool
		spin      time.Duration
	}{
		{"shared handle", 4096, 3000, false, defaultMaxSpin},
		{"two handles", 4096, 3000, true, defaultMaxSpin},
		{"two handles no spin", 8192, 3000, true, 0},
		{"large", 1 << 16, 2000, true, defaultMaxSpin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prod, cons := ringPair(t, tc.capacity)
			if !tc.twoHandle {
				cons = prod
			}
			for _, r := range []*Ring{prod, cons} {
				r.bell.SetSpin(tc.spin)
				r.SpaceDoorbell().SetSpin(tc.spin)
			}
			const seed = 42
			done := make(chan error, 1)
			go func() {
				rng := rand.New(rand.NewPCG(seed, 0))
				var buf []byte
				for i := 0; i < tc.n; i++ {
					buf = message(buf, uint64(i), randomSize(rng, tc.capacity))
					if err := prod.Push(buf, 10*time.Second); err != nil {
						done <- err
						return
					}
				}
				prod.Close()
				done <- nil
			}()
			rng := rand.New(rand.NewPCG(seed, 0))
			var got, want []byte
			for i := 0; i < tc.n; i++ {
				var err error
				got, err = cons.Pop(got, 10*time.Second)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				want = message(want, uint64(i), randomSize(rng, tc.capacity))
				if !bytes.Equal(got, want) {
					t.Fatalf("message %d: got %d bytes, want %d (or content differs)", i, len(got), len(want))
				}
			}
			if _, err := cons.Pop(got, 10*time.Second); !errors.Is(err, ErrClosed) {
				t.Fatalf("after the last message: %v, want ErrClosed", err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRingWrapAround(t *testing.T) {
	const capacity = 4096
	prod, cons := ringPair(t, capacity)
	var msg, got []byte
	// Sizes that are not divisors of the capacity make records land at
	// every offset and force padding before the end.
	for i := 0; i < 500; i++ {
		n := 100 + (i*397)%(prod.MaxRecord()-100)
		msg = message(msg, uint64(i), n)
		if !prod.TryPush(msg) {
			t.Fatalf("push %d (%d bytes) into an empty ring failed", i, n)
		}
		var ok bool
		var err error
		got, ok, err = cons.TryPop(got)
		if !ok || err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("pop %d: ok=%v err=%v equal=%v", i, ok, err, bytes.Equal(got, msg))
		}
	}
	if laps := cons.chead / capacity; laps < 20 {
		t.Fatalf("only %d laps around the ring", laps)
	}
	if !cons.Empty() {
		t.Fatal("ring not empty after popping everything")
	}
}

func TestTryPushFullAndOversize(t *testing.T) {
	const capacity = 4096
	prod, cons := ringPair(t, capacity)
	if want := capacity/4 - 4; prod.MaxRecord() != want {
		t.Fatalf("MaxRecord = %d, want %d", prod.MaxRecord(), want)
	}
	if prod.TryPush(make([]byte, prod.MaxRecord()+1)) {
		t.Fatal("TryPush accepted a message longer than MaxRecord")
	}
	if !prod.TryPush(make([]byte, prod.MaxRecord())) {
		t.Fatal("TryPush refused a MaxRecord message into an empty ring")
	}
	// 60 bytes + 4 header = 64 bytes a record.
	msg := make([]byte, 60)
	pushed := 0
	for prod.TryPush(msg) {
		pushed++
	}
	if want := (capacity - capacity/4) / 64; pushed != want {
		t.Fatalf("pushed %d records before full, want %d", pushed, want)
	}
	// Popping the MaxRecord message frees room for 16 more records.
	if _, ok, err := cons.TryPop(nil); !ok || err != nil {
		t.Fatalf("TryPop on a full ring: ok=%v err=%v", ok, err)
	}
	for pushed = 0; prod.TryPush(msg); pushed++ {
	}
	if want := (capacity / 4) / 64; pushed != want {
		t.Fatalf("pushed %d records after freeing space, want %d", pushed, want)
	}
	prod.Close()
	if _, ok, err := cons.TryPop(nil); !ok || err != nil {
		t.Fatalf("TryPop on a closed ring with data: ok=%v err=%v", ok, err)
	}
	if _, err := cons.Pop(nil, 0); err != nil {
		t.Fatalf("Pop on a closed ring with data: %v", err)
	}
	for {
		if _, ok, err := cons.TryPop(nil); err != nil {
			if !errors.Is(err, ErrClosed) {
				t.Fatal(err)
			}
			break
		} else if !ok {
			t.Fatal("TryPop: no message and no error on a closed ring")
		}
	}
	if prod.TryPush(msg) {
		t.Fatal("TryPush succeeded on a closed ring")
	}
	if err := prod.Push(msg, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Push on a closed ring: %v", err)
	}
}

// awaitSleeper returns once some goroutine has set the sleeping flag of
// d, that is, is about to sleep or sleeping in the kernel.
func awaitSleeper(d *Doorbell) {
	for d.sleep.Load() == 0 {
		runtime.Gosched()
	}
}

func TestCloseWakesBlocked(t *testing.T) {
	t.Run("Pop", func(t *testing.T) {
		prod, cons := ringPair(t, 4096)
		errc := make(chan error)
		go func() {
			_, err := cons.Pop(nil, 0)
			errc <- err
		}()
		awaitSleeper(cons.bell)
		prod.Close()
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("Pop: %v, want ErrClosed", err)
		}
	})
	t.Run("Push", func(t *testing.T) {
		prod, cons := ringPair(t, 4096)
		for prod.TryPush(make([]byte, 100)) {
		}
		errc := make(chan error)
		go func() { errc <- prod.Push(make([]byte, 100), 0) }()
		awaitSleeper(prod.space)
		cons.Close()
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("Push: %v, want ErrClosed", err)
		}
	})
	t.Run("Wait", func(t *testing.T) {
		prod, cons := ringPair(t, 4096)
		woke := make(chan bool)
		go func() { woke <- cons.bell.Wait(func() bool { return !cons.Empty() }, 0) }()
		awaitSleeper(cons.bell)
		prod.Close()
		if !<-woke {
			t.Fatal("Wait returned false without a timeout")
		}
	})
}

func TestTimeout(t *testing.T) {
	const timeout = 20 * time.Millisecond
	prod, cons := ringPair(t, 4096)
	start := time.Now()
	if _, err := cons.Pop(nil, timeout); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Pop: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < timeout {
		t.Fatalf("Pop timed out after %v, before %v", d, timeout)
	}
	for prod.TryPush(make([]byte, 100)) {
	}
	start = time.Now()
	if err := prod.Push(make([]byte, 100), timeout); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Push: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < timeout {
		t.Fatalf("Push timed out after %v, before %v", d, timeout)
	}
	start = time.Now()
	if cons.bell.Wait(func() bool { return false }, timeout) {
		t.Fatal("Wait returned true")
	}
	if d := time.Since(start); d < timeout {
		t.Fatalf("Wait timed out after %v, before %v", d, timeout)
	}
}

// A fragmented Push that times out part-way must not glue its fragments
// to the next message.
func TestPushTimeoutMidMessage(t *testing.T) {
	prod, cons := ringPair(t, 4096)
	big := make([]byte, 10*4096)
	if err := prod.Push(big, 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Push into a ring nobody drains: %v, want ErrTimeout", err)
	}
	if _, ok, err := cons.TryPop(nil); ok || err != nil {
		t.Fatalf("TryPop of a cut message: ok=%v err=%v", ok, err)
	}
	want := message(nil, 7, 3000)
	if err := prod.Push(want, time.Second); err != nil {
		t.Fatal(err)
	}
	got, err := cons.Pop(nil, time.Second)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("message after the cut one: %d bytes, err=%v", len(got), err)
	}
	// Same again with TryPush carrying the abort record.
	if err := prod.Push(big, 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("second cut Push: %v", err)
	}
	cons.TryPop(nil)
	if !prod.TryPush([]byte("x")) {
		t.Fatal("TryPush after a cut message failed")
	}
	if got, err = cons.Pop(got, time.Second); err != nil || string(got) != "x" {
		t.Fatalf("got %q, %v; want \"x\"", got, err)
	}
}

func TestSharedDoorbell(t *testing.T) {
	const (
		rings    = 4
		capacity = 4096
		perRing  = 5000
	)
	mem := alignedMem(DoorbellSize + rings*RingSize(capacity))
	bell := NewDoorbell(mem)
	rs := make([]*Ring, rings)
	var wg sync.WaitGroup
	for i := range rs {
		m := mem[DoorbellSize+i*RingSize(capacity):]
		r, err := NewRing(m, capacity, bell)
		if err != nil {
			t.Fatal(err)
		}
		rs[i] = r
		wg.Go(func() {
			var msg []byte
			for j := 0; j < perRing; j++ {
				msg = message(msg, uint64(j), j%300)
				if err := r.Push(msg, 10*time.Second); err != nil {
					t.Error(err)
					return
				}
			}
			r.Close()
		})
	}
	anyReady := func() bool {
		for _, r := range rs {
			if r != nil && !r.Empty() {
				return true
			}
		}
		return false
	}
	next := make([]int, rings)
	var got, want []byte
	for open := rings; open > 0; {
		progress := false
		for i, r := range rs {
			if r == nil {
				continue
			}
			msg, ok, err := r.TryPop(got)
			got = msg
			if errors.Is(err, ErrClosed) {
				if next[i] != perRing {
					t.Fatalf("ring %d closed after %d messages", i, next[i])
				}
				rs[i] = nil
				open--
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				progress = true
				want = message(want, uint64(next[i]), next[i]%300)
				if !bytes.Equal(got, want) {
					t.Fatalf("ring %d message %d differs", i, next[i])
				}
				next[i]++
			}
		}
		if !progress && open > 0 && !bell.Wait(anyReady, 10*time.Second) {
			t.Fatal("Wait timed out")
		}
	}
	wg.Wait()
}

// Forces every hand-off through the futex: a lost wake-up hangs a round
// trip and shows as ErrTimeout.
func TestNoLostWakeups(t *testing.T) {
	a, aPeer := ringPair(t, 4096)
	b, bPeer := ringPair(t, 4096)
	for _, r := range []*Ring{a, aPeer, b, bPeer} {
		r.bell.SetSpin(0)
		r.space.SetSpin(0)
	}
	const rounds = 5000
	go func() {
		var buf []byte
		for {
			var err error
			if buf, err = aPeer.Pop(buf, 0); err != nil {
				return
			}
			if bPeer.Push(buf, 0) != nil {
				return
			}
		}
	}()
	defer a.Close()
	var buf []byte
	for i := 0; i < rounds; i++ {
		if err := a.Push([]byte{byte(i)}, 0); err != nil {
			t.Fatal(err)
		}
		var err error
		if buf, err = b.Pop(buf, 10*time.Second); err != nil || len(buf) != 1 || buf[0] != byte(i) {
			t.Fatalf("round %d: %v %v", i, buf, err)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	prod, cons := ringPair(t, 1<<16)
	msg := make([]byte, 64)
	dst := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(1000, func() {
		if !prod.TryPush(msg) {
			t.Fatal("TryPush failed")
		}
		var ok bool
		if dst, ok, _ = cons.TryPop(dst); !ok {
			t.Fatal("TryPop failed")
		}
	}); n != 0 {
		t.Errorf("TryPush+TryPop: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if err := prod.Push(msg, time.Second); err != nil {
			t.Fatal(err)
		}
		var err error
		if dst, err = cons.Pop(dst, time.Second); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Push+Pop: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, ok, _ := cons.TryPop(dst); ok {
			t.Fatal("TryPop of an empty ring succeeded")
		}
		if !cons.Empty() {
			t.Fatal("not Empty")
		}
		cons.bell.Ring()
	}); n != 0 {
		t.Errorf("empty TryPop+Empty+Ring: %v allocs, want 0", n)
	}
}

func TestNewRingErrors(t *testing.T) {
	mem := alignedMem(DoorbellSize + RingSize(8192))
	bell := NewDoorbell(mem)
	for _, tc := range []struct {
		name     string
		mem      []byte
		capacity int
		bell     *Doorbell
	}{
		{"capacity not a power of two", mem[64:], 6000, bell},
		{"capacity too small", mem[64:], 2048, bell},
		{"memory too short", mem[64 : 64+RingSize(4096)-1], 4096, bell},
		{"misaligned memory", mem[68:], 4096, bell},
		{"nil doorbell", mem[64:], 4096, nil},
	} {
		if _, err := NewRing(tc.mem, tc.capacity, tc.bell); err == nil {
			t.Errorf("NewRing: %s: no error", tc.name)
		}
		if _, err := AttachRing(tc.mem, tc.capacity, tc.bell); err == nil {
			t.Errorf("AttachRing: %s: no error", tc.name)
		}
	}
}

func TestAttachRingCorrupt(t *testing.T) {
	const capacity = 4096
	for _, tc := range []struct {
		name   string
		damage func(mem []byte)
	}{
		{"no ring", func(mem []byte) { clear(mem) }},
		{"magic", func(mem []byte) { mem[offMagic] ^= 1 }},
		{"version", func(mem []byte) { mem[offVersion] = 9 }},
		{"capacity", func(mem []byte) { binary.LittleEndian.PutUint64(mem[offCapacity:], 8192) }},
		{"closed flag", func(mem []byte) { mem[offClosed] = 7 }},
		{"head past tail", func(mem []byte) { binary.LittleEndian.PutUint64(mem[offHead:], 8) }},
		{"tail too far", func(mem []byte) { binary.LittleEndian.PutUint64(mem[offTail:], capacity+8) }},
		{"unaligned tail", func(mem []byte) { binary.LittleEndian.PutUint64(mem[offTail:], 12) }},
	} {
		mem := alignedMem(RingSize(capacity))
		bell := NewDoorbell(alignedMem(DoorbellSize))
		if _, err := NewRing(mem, capacity, bell); err != nil {
			t.Fatal(err)
		}
		tc.damage(mem)
		if _, err := AttachRing(mem, capacity, bell); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: AttachRing: %v, want ErrCorrupt", tc.name, err)
		}
	}
}

func TestPopCorruptRecord(t *testing.T) {
	const capacity = 4096
	for _, tc := range []struct {
		name   string
		header uint32
		tail   uint64
	}{
		{"length past tail", 100, 8},
		{"length over MaxRecord", 2000, 2008},
		{"wrap marker with length", flagWrap | 4, 8},
		{"abort with length", flagAbort | 4, 8},
		{"tail past capacity", 4, capacity + 16},
	} {
		prod, cons := ringPair(t, capacity)
		binary.LittleEndian.PutUint32(prod.data, tc.header)
		prod.tail.Store(tc.tail)
		for range 2 { // the error is sticky
			if _, _, err := cons.TryPop(nil); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: TryPop: %v, want ErrCorrupt", tc.name, err)
			}
		}
		if cons.Empty() {
			t.Errorf("%s: a corrupt ring is Empty", tc.name)
		}
	}
}

func TestDoorbellMisuse(t *testing.T) {
	for _, mem := range [][]byte{alignedMem(DoorbellSize - 1), alignedMem(DoorbellSize + 4)[4:]} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewDoorbell(%d bytes) did not panic", len(mem))
				}
			}()
			NewDoorbell(mem)
		}()
	}
}

// The spin budget shrinks when full spins keep failing, probes now and
// then, and grows back once spinning pays again.
func TestSpinAdapts(t *testing.T) {
	d := NewDoorbell(alignedMem(DoorbellSize))
	if _, kind := d.spinBudget(); kind != spinFull {
		t.Fatalf("a new doorbell spins %v, want full", kind)
	}
	never := func() bool { return false }
	// About a dozen failed full spins bring the rate down; waits whose spin
	// lost its CPU (a loaded test machine) count for nothing, so allow many.
	waits := 0
	for ; waits < 500 && d.hits.Load() >= hitOne/4; waits++ {
		d.Wait(never, 50*time.Microsecond)
	}
	if d.hits.Load() >= hitOne/4 {
		t.Fatalf("hit rate %d/%d after %d failed waits", d.hits.Load(), hitOne, waits)
	}
	var kinds [3]int
	for i := 0; i < 32; i++ {
		_, kind := d.spinBudget()
		kinds[kind]++
	}
	if kinds[spinFull] != 0 || kinds[spinProbe] != 2 || kinds[spinShort] != 30 {
		t.Fatalf("full/short/probe spins in 32 waits: %v, want [0 30 2]", kinds)
	}
	// Readiness found while spinning counts as a hit, and leaves the
	// sleeping flag alone (else the next Ring makes a needless syscall).
	d.sleep.Store(0)
	for i := 0; i < 200 && d.hits.Load() < hitOne/4; i++ {
		polls := 0
		d.Wait(func() bool { polls++; return polls > 2 }, 0)
		if d.sleep.Load() != 0 {
			t.Fatal("a wait that ended while spinning set the sleeping flag")
		}
	}
	if d.hits.Load() < hitOne/4 {
		t.Fatalf("hit rate %d/%d after 200 quick waits", d.hits.Load(), hitOne)
	}
	d.SetSpin(0)
	if budget, _ := d.spinBudget(); budget != 0 {
		t.Fatalf("spin budget %v after SetSpin(0)", budget)
	}
}

// Empty may be called from any goroutine while the consumer pops (the
// race detector checks this).
func TestEmptyFromAnyGoroutine(t *testing.T) {
	prod, cons := ringPair(t, 4096)
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
				cons.Empty()
			}
		}
	}()
	go func() {
		for i := 0; i < 2000; i++ {
			if prod.Push(message(nil, uint64(i), i%100), 10*time.Second) != nil {
				return
			}
		}
		prod.Close()
	}()
	var buf []byte
	var err error
	for n := 0; ; n++ {
		if buf, err = cons.Pop(buf, 10*time.Second); err != nil {
			if !errors.Is(err, ErrClosed) || n != 2000 {
				t.Fatalf("after %d messages: %v", n, err)
			}
			break
		}
	}
	close(stop)
	<-watched
	if cons.Empty() {
		t.Fatal("a closed ring is Empty")
	}
}

// Several goroutines sleep on one doorbell, each for its own ring: four
// ping-pong pairs whose outbound rings share one doorbell and whose return
// rings share another, every hand-off through the futex. A lost wake-up
// shows as ErrTimeout.
func TestDoorbellManyWaiters(t *testing.T) {
	const (
		pairs  = 4
		rounds = 1000
	)
	mem := alignedMem(2*DoorbellSize + 2*pairs*RingSize(4096))
	there, back := NewDoorbell(mem), NewDoorbell(mem[DoorbellSize:])
	there.SetSpin(0)
	back.SetSpin(0)
	var wg sync.WaitGroup
	for i := 0; i < pairs; i++ {
		m := mem[2*DoorbellSize+2*i*RingSize(4096):]
		out, err := NewRing(m, 4096, there)
		if err != nil {
			t.Fatal(err)
		}
		in, err := NewRing(m[RingSize(4096):], 4096, back)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { // echo
			var buf []byte
			for {
				var err error
				if buf, err = out.Pop(buf, 10*time.Second); err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("echo %d: %v", i, err)
					}
					return
				}
				if err := in.Push(buf, 10*time.Second); err != nil {
					t.Errorf("echo %d: %v", i, err)
					return
				}
			}
		})
		wg.Go(func() {
			defer out.Close()
			var buf []byte
			for j := 0; j < rounds; j++ {
				if err := out.Push([]byte{byte(j)}, 10*time.Second); err != nil {
					t.Errorf("pair %d round %d: %v", i, j, err)
					return
				}
				var err error
				if buf, err = in.Pop(buf, 10*time.Second); err != nil || buf[0] != byte(j) {
					t.Errorf("pair %d round %d: %v %v", i, j, buf, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// A spin that finds the clock jumped between two of its readings (the
// thread lost its CPU) stops at once instead of spinning its budget out.
func TestSpinStopsWhenPreempted(t *testing.T) {
	d := NewDoorbell(alignedMem(DoorbellSize))
	polls := 0
	descheduled := func() bool {
		if polls++; polls == 100 {
			time.Sleep(2 * preemptGap) // stands for losing the CPU
		}
		return false
	}
	start := time.Now()
	ok, _, preempted := d.spin(descheduled, time.Minute, 0)
	if ok || !preempted {
		t.Fatalf("spin: ok=%v preempted=%v, want false, true", ok, preempted)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("spin went on for %v after losing the CPU", d)
	}
	// Losing the CPU says nothing about the peer: the hit rate stays.
	hits := d.hits.Load()
	polls = 0
	if d.Wait(descheduled, time.Millisecond); d.hits.Load() != hits {
		t.Fatalf("hit rate %d after a preempted wait, want %d", d.hits.Load(), hits)
	}
}
