package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"
)

// Sentinel errors. Hot paths return them unwrapped (no allocation);
// test with errors.Is.
var (
	// ErrClosed: the ring was closed (by either side or a third party);
	// for a consumer, only once everything published before is drained.
	ErrClosed = errors.New("shm: ring closed")
	// ErrTimeout: a blocking call ran out of time.
	ErrTimeout = errors.New("shm: timed out")
	// ErrCorrupt: the shared header or a record is inconsistent. The
	// memory is written by another process, so this is reported, never
	// trusted; a consumer that saw it keeps returning it.
	ErrCorrupt = errors.New("shm: ring corrupt")
)

// Ring header layout in shared memory. The producer index, the consumer
// index and the space doorbell each own a cache line so that the two
// sides do not invalidate each other's lines on every message.
const (
	offMagic    = 0  // uint32
	offVersion  = 4  // uint32
	offCapacity = 8  // uint64
	offClosed   = 16 // uint32, 0 or 1
	offTail     = 64 // uint64, producer index: bytes ever published
	offHead     = 128
	offSpace    = 192 // Doorbell the producer waits on when the ring is full
	headerSize  = 256
	ringMagic   = 0x676e726d // "mrng"
	ringVersion = 1

	minCapacity = 4096
	maxCapacity = 1 << 30
)

// Record header: one little-endian uint32, length in the low bits, flags
// on top. Records start 8-byte aligned, so a header never straddles the
// end of the data area.
const (
	recHeader = 4
	lenMask   = 1<<29 - 1
	flagAbort = 1 << 29 // drop the partly received fragmented message
	flagMore  = 1 << 30 // a fragment; more of the same message follows
	flagWrap  = 1 << 31 // skip to the start of the data area
)

// RingSize returns the bytes of shared memory a ring with a data area of
// capacity bytes occupies: a 256-byte header plus the data area.
// NewRing checks capacity.
func RingSize(capacity int) int { return headerSize + capacity }

// Ring is a single-producer single-consumer queue of variable-length
// messages in shared memory. One goroutine (in one process) may produce
// and one goroutine (in the same or another process) may consume; Close,
// Closed and MaxRecord may be called by anyone.
type Ring struct {
	data      []byte
	capacity  uint64
	mask      uint64
	maxRecord int

	closed *atomic.Uint32
	tail   *atomic.Uint64
	head   *atomic.Uint64
	bell   *Doorbell // rung after every push; the consumer waits on it
	space  *Doorbell // rung after every pop; a producer waits on it when full

	hasSpace func() bool
	notEmpty func() bool
	broken   atomic.Bool // a consumer saw ErrCorrupt; read by Empty from any goroutine

	// Producer-local state, on its own cache line: the two sides may be
	// goroutines of one process sharing this struct.
	_            [64]byte
	ptail        uint64 // own copy of tail
	pheadCache   uint64 // last head seen; refreshed only when the ring looks full
	need         uint64 // bytes a blocked producer waits for
	abortPending bool   // a fragmented message was cut short by a timeout

	// Consumer-local state.
	_          [64]byte
	chead      uint64 // own copy of head
	ctailCache uint64 // last tail seen; refreshed only when the ring looks empty
	partial    []byte // fragments of the message being reassembled
	err        error  // sticky ErrCorrupt
	_          [64]byte
}

// NewRing initialises a ring in mem (RingSize(capacity) bytes, 8-byte
// aligned, ideally 64) and returns the creator's handle. capacity must be
// a power of two in [4096, 1<<30]. consumerBell is rung after every push;
// several rings may share one.
func NewRing(mem []byte, capacity int, consumerBell *Doorbell) (*Ring, error) {
	r, err := newRing(mem, capacity, consumerBell)
	if err != nil {
		return nil, fmt.Errorf("shm: cannot create ring: %w", err)
	}
	r.tail.Store(0)
	r.head.Store(0)
	r.closed.Store(0)
	r.space.seq.Store(0)
	r.space.sleep.Store(0)
	binary.LittleEndian.PutUint32(mem[offVersion:], ringVersion)
	binary.LittleEndian.PutUint64(mem[offCapacity:], uint64(capacity))
	// The magic goes last, atomically: an attacher seeing it sees the rest.
	(*atomic.Uint32)(unsafe.Pointer(&mem[offMagic])).Store(ringMagic)
	return r, nil
}

// AttachRing returns a handle on a ring that another process (or another
// handle) created in mem with NewRing, after checking its header.
func AttachRing(mem []byte, capacity int, consumerBell *Doorbell) (*Ring, error) {
	r, err := newRing(mem, capacity, consumerBell)
	if err != nil {
		return nil, fmt.Errorf("shm: cannot attach ring: %w", err)
	}
	if m := (*atomic.Uint32)(unsafe.Pointer(&mem[offMagic])).Load(); m != ringMagic {
		return nil, fmt.Errorf("shm: cannot attach ring: bad magic %#x: %w", m, ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint32(mem[offVersion:]); v != ringVersion {
		return nil, fmt.Errorf("shm: cannot attach ring: version %d, want %d: %w", v, ringVersion, ErrCorrupt)
	}
	if c := binary.LittleEndian.Uint64(mem[offCapacity:]); c != uint64(capacity) {
		return nil, fmt.Errorf("shm: cannot attach ring: capacity %d in header, want %d: %w", c, capacity, ErrCorrupt)
	}
	if c := r.closed.Load(); c > 1 {
		return nil, fmt.Errorf("shm: cannot attach ring: closed flag %d: %w", c, ErrCorrupt)
	}
	head := r.head.Load()
	tail := r.tail.Load()
	if head%8 != 0 || tail%8 != 0 || tail-head > r.capacity {
		return nil, fmt.Errorf("shm: cannot attach ring: head %d, tail %d: %w", head, tail, ErrCorrupt)
	}
	r.ptail, r.pheadCache = tail, head
	r.chead, r.ctailCache = head, tail
	return r, nil
}

func newRing(mem []byte, capacity int, bell *Doorbell) (*Ring, error) {
	if capacity < minCapacity || capacity > maxCapacity || capacity&(capacity-1) != 0 {
		return nil, fmt.Errorf("capacity %d is not a power of two in [%d, %d]", capacity, minCapacity, maxCapacity)
	}
	if len(mem) < RingSize(capacity) {
		return nil, fmt.Errorf("need %d bytes of memory, got %d", RingSize(capacity), len(mem))
	}
	if uintptr(unsafe.Pointer(&mem[0]))%8 != 0 {
		return nil, errors.New("memory is not 8-byte aligned")
	}
	if bell == nil {
		return nil, errors.New("nil consumer doorbell")
	}
	r := &Ring{
		data:      mem[headerSize:RingSize(capacity):RingSize(capacity)],
		capacity:  uint64(capacity),
		mask:      uint64(capacity - 1),
		maxRecord: capacity/4 - recHeader,
		closed:    (*atomic.Uint32)(unsafe.Pointer(&mem[offClosed])),
		tail:      (*atomic.Uint64)(unsafe.Pointer(&mem[offTail])),
		head:      (*atomic.Uint64)(unsafe.Pointer(&mem[offHead])),
		bell:      bell,
		space:     NewDoorbell(mem[offSpace:headerSize]),
	}
	r.hasSpace = func() bool {
		return r.closed.Load() != 0 || r.ptail+r.need-r.head.Load() <= r.capacity
	}
	r.notEmpty = func() bool { return !r.Empty() }
	return r, nil
}

// MaxRecord is the largest message TryPush accepts: a quarter of the
// capacity minus the record header, so that padding at the end of the
// data area never wastes more than that. Push fragments longer messages.
func (r *Ring) MaxRecord() int { return r.maxRecord }

// SpaceDoorbell is the doorbell, inside the ring's header, that a
// producer blocked in Push waits on; tune its spinning with SetSpin.
func (r *Ring) SpaceDoorbell() *Doorbell { return r.space }

// Closed reports whether Close was called, by any process.
func (r *Ring) Closed() bool { return r.closed.Load() != 0 }

// Close marks the ring closed in shared memory and rings both doorbells,
// so blocked Push, Pop and Wait calls on either side return. Either side
// or a third party (a driver that saw a worker die) may call it. Messages
// pushed concurrently with Close may be dropped.
func (r *Ring) Close() {
	r.closed.Store(1)
	r.bell.Ring()
	r.space.Ring()
}

// recordSpace returns the bytes a record with an n-byte payload takes
// when published at the current tail, counting the padding before it when
// it would not fit before the end of the data area.
func (r *Ring) recordSpace(n int) uint64 {
	size := align8(recHeader + uint64(n))
	if off := r.ptail & r.mask; off+size > r.capacity {
		return r.capacity - off + size
	}
	return size
}

// writeRecord publishes one record if there is room, without ringing.
func (r *Ring) writeRecord(payload []byte, flags uint32) bool {
	need := r.recordSpace(len(payload))
	// Unsigned arithmetic: a head beyond tail (only a corrupt consumer
	// writes one) looks like a full ring, never like free space.
	if r.ptail+need-r.pheadCache > r.capacity {
		r.pheadCache = r.head.Load()
		if r.ptail+need-r.pheadCache > r.capacity {
			return false
		}
	}
	off := r.ptail & r.mask
	if size := align8(recHeader + uint64(len(payload))); need != size {
		binary.LittleEndian.PutUint32(r.data[off:], flagWrap)
		off = 0
	}
	binary.LittleEndian.PutUint32(r.data[off:], uint32(len(payload))|flags)
	copy(r.data[off+recHeader:], payload)
	r.ptail += need
	// The release store orders the record bytes before the new tail.
	r.tail.Store(r.ptail)
	return true
}

// TryPush publishes msg and rings the consumer doorbell. It returns false,
// without blocking, if msg is longer than MaxRecord, if the ring lacks the
// space right now, or if the ring is closed. Producer side only.
func (r *Ring) TryPush(msg []byte) bool {
	if len(msg) > r.maxRecord || r.closed.Load() != 0 {
		return false
	}
	if r.abortPending {
		if !r.writeRecord(nil, flagAbort) {
			return false
		}
		r.abortPending = false
	}
	if !r.writeRecord(msg, 0) {
		return false
	}
	r.bell.Ring()
	return true
}

// Push publishes msg of any length, waiting for space while the ring is
// full. A message longer than MaxRecord travels as several fragments that
// the consumer reassembles; if Push fails part-way (ErrTimeout), the next
// push tells the consumer to drop the partial message. It returns
// ErrClosed if the ring is closed and ErrTimeout if timeout (> 0) passes.
// Producer side only.
func (r *Ring) Push(msg []byte, timeout time.Duration) error {
	dl := deadline{timeout: timeout}
	if r.abortPending {
		if err := r.pushRecord(nil, flagAbort, &dl); err != nil {
			return err
		}
		r.abortPending = false
	}
	for len(msg) > r.maxRecord {
		if err := r.pushRecord(msg[:r.maxRecord], flagMore, &dl); err != nil {
			return err
		}
		// From here on a failure leaves a partial message behind.
		r.abortPending = true
		msg = msg[r.maxRecord:]
	}
	if err := r.pushRecord(msg, 0, &dl); err != nil {
		return err
	}
	r.abortPending = false
	return nil
}

func (r *Ring) pushRecord(payload []byte, flags uint32, dl *deadline) error {
	for {
		if r.closed.Load() != 0 {
			return ErrClosed
		}
		if r.writeRecord(payload, flags) {
			r.bell.Ring()
			return nil
		}
		left, ok := dl.left()
		if !ok {
			return ErrTimeout
		}
		r.need = r.recordSpace(len(payload))
		if !r.space.Wait(r.hasSpace, left) {
			return ErrTimeout
		}
	}
}

// Empty reports whether TryPop has nothing to do: no record is published
// and the ring is not closed. It has no side effects and reads only shared
// words, so any goroutine may call it, also while the consumer is in
// TryPop, and it suits the ready function of a Doorbell shared by several
// rings. A closed ring is never Empty: drop it from such a set once TryPop
// says ErrClosed.
func (r *Ring) Empty() bool {
	return r.tail.Load() == r.head.Load() && r.closed.Load() == 0 && !r.broken.Load()
}

// TryPop appends the next whole message to dst[:0] and returns it, with
// ok=false if none is complete yet (fragments that did arrive are kept in
// the Ring and their space freed). err is ErrClosed once the ring is
// closed and drained, or wraps ErrCorrupt if the shared memory holds
// garbage. A reassembled message may be returned in a buffer other than
// dst when dst is too small. Consumer side only.
func (r *Ring) TryPop(dst []byte) (msg []byte, ok bool, err error) {
	if r.err != nil {
		return dst[:0], false, r.err
	}
	for {
		avail := r.ctailCache - r.chead
		if avail == 0 {
			r.ctailCache = r.tail.Load()
			if avail = r.ctailCache - r.chead; avail == 0 {
				if r.closed.Load() == 0 {
					return dst[:0], false, nil
				}
				// Close came after the last publication; read tail again
				// so that what was published before Close is drained.
				r.ctailCache = r.tail.Load()
				if avail = r.ctailCache - r.chead; avail == 0 {
					return dst[:0], false, ErrClosed
				}
			}
			if avail > r.capacity {
				return dst[:0], false, r.corrupt("tail %d is more than the capacity past head %d", r.ctailCache, r.chead)
			}
		}
		off := r.chead & r.mask
		h := binary.LittleEndian.Uint32(r.data[off:])
		if h&flagWrap != 0 {
			skip := r.capacity - off
			if h != flagWrap || skip > avail {
				return dst[:0], false, r.corrupt("bad wrap marker %#x at %d", h, r.chead)
			}
			r.consumed(skip)
			continue
		}
		n := uint64(h & lenMask)
		size := align8(recHeader + n)
		if n > uint64(r.maxRecord) || size > avail || off+size > r.capacity ||
			(h&flagAbort != 0 && h != flagAbort) {
			return dst[:0], false, r.corrupt("bad record header %#x at %d", h, r.chead)
		}
		payload := r.data[off+recHeader : off+recHeader+n]
		switch {
		case h&flagAbort != 0:
			r.partial = r.partial[:0]
		case h&flagMore != 0:
			r.partial = append(r.partial, payload...)
		default:
			msg = r.complete(dst, payload)
			r.consumed(size)
			return msg, true, nil
		}
		r.consumed(size)
	}
}

// consumed frees size bytes at head, after the record has been copied out.
func (r *Ring) consumed(size uint64) {
	r.chead += size
	r.head.Store(r.chead)
	r.space.Ring()
}

// complete returns the message whose last fragment (or only record) is
// payload. When dst cannot hold a reassembled message, the reassembly
// buffer itself is handed over rather than copied again.
func (r *Ring) complete(dst, payload []byte) []byte {
	if len(r.partial) == 0 {
		return append(dst[:0], payload...)
	}
	var msg []byte
	if total := len(r.partial) + len(payload); cap(dst) >= total {
		msg = append(append(dst[:0], r.partial...), payload...)
		r.partial = r.partial[:0]
	} else {
		msg = append(r.partial, payload...)
		r.partial = nil
	}
	return msg
}

func (r *Ring) corrupt(format string, args ...any) error {
	r.err = fmt.Errorf("shm: cannot pop: "+format+": %w", append(args, ErrCorrupt)...)
	r.broken.Store(true)
	return r.err
}

// Pop waits for the next whole message and appends it to dst[:0], like
// TryPop. It returns ErrClosed once the ring is closed and drained, and
// ErrTimeout if timeout (> 0) passes first. Consumer side only.
func (r *Ring) Pop(dst []byte, timeout time.Duration) ([]byte, error) {
	dl := deadline{timeout: timeout}
	for {
		msg, ok, err := r.TryPop(dst)
		if ok || err != nil {
			return msg, err
		}
		left, ok := dl.left()
		if !ok || !r.bell.Wait(r.notEmpty, left) {
			return dst[:0], ErrTimeout
		}
	}
}

func align8(n uint64) uint64 { return (n + 7) &^ 7 }

// deadline turns a timeout into the time left, reading the clock only
// once something has to wait.
type deadline struct {
	timeout time.Duration
	at      time.Time
}

// left returns the time left (0: no limit) and false once it ran out.
func (d *deadline) left() (time.Duration, bool) {
	if d.timeout <= 0 {
		return 0, true
	}
	if d.at.IsZero() {
		d.at = time.Now().Add(d.timeout)
		return d.timeout, true
	}
	left := time.Until(d.at)
	return left, left > 0
}
