package events

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"manta/internal/release"
)

// EnvDir names the environment variable that carries the directory
// events are written to from a node to its worker processes.
const EnvDir = "MANTA_EVENTS_DIR"

// ringSlots is the size of the ring of each P (each of the Go
// scheduler's processors) that records: with two Ps 10 MiB in all,
// enough for a burst of 25,000 tasks' events between two flushes, and
// 26 million events a second. Past it events are dropped (and counted)
// rather than the recording goroutine waiting.
const ringSlots = 1 << 17

// FlushEvery is how often a recorder writes its rings to its file: a
// timeline of a running program lags it by about this much.
const FlushEvery = 10 * time.Millisecond

// shard is one P's ring. Only a goroutine pinned to that P appends (so
// an append is a store, with no compare-and-swap and no cache line
// shared with another core's appends); only the flusher takes from it.
type shard struct {
	// head is the next slot to fill: the P's goroutines store it with
	// release.Store64 after the slot (its XCHG would cost a third of an
	// event), the flusher loads it with atomic.LoadUint64.
	head uint64
	_    [56]byte      // keeps the flusher's stores to tail off head's line
	tail atomic.Uint64 // next slot to write out; only the flusher stores it
	ring []Event
}

// Recorder is this process's recording: a lock-free ring per P that the
// goroutines running on it append to, and a goroutine that writes them
// to the process's file every FlushEvery.
type Recorder struct {
	shards  atomic.Pointer[[]*shard] // by P; grown under mu
	slots   int                      // each shard's ring size, a power of two
	dropped atomic.Uint64

	names  names
	phases *phaseTracker // nil in a worker; under mu
	clock  stampClock    // under mu
	heads  []uint64      // the rings' heads a drain writes up to; under mu
	every  time.Duration // how often loop flushes

	mu     sync.Mutex // the file, the writer, closed, growing shards
	f      *os.File
	err    error
	closed bool
	buf    []byte
	stop   chan struct{}
	done   chan struct{}
}

var rec atomic.Pointer[Recorder]

// Role says what a process is, for its track's name in a timeline.
type Role uint8

// Roles.
const (
	RoleNode   Role = iota + 1 // the node manager's process (a driver's, or `manta start`'s)
	RoleWorker                 // a worker process
)

// Open begins this process's recording into dir/PID.mev (dir is made
// if missing), with label naming the process in a timeline. Recording
// is still off until Enable; Close ends it. One recorder per process.
func Open(dir string, role Role, label string) (*Recorder, error) {
	return open(dir, role, label, ringSlots, FlushEvery)
}

// open is Open with the rings' size (a power of two) and the flush
// interval chosen.
func open(dir string, role Role, label string, slots int, every time.Duration) (*Recorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	pid := os.Getpid()
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(pid)+FileExt), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	r := &Recorder{slots: slots, every: every, clock: newStampClock(), f: f,
		stop: make(chan struct{}), done: make(chan struct{})}
	r.shards.Store(new([]*shard))
	if role == RoleNode {
		r.phases = newPhaseTracker() // a worker records none of LocalPhases' ends
	}
	r.names.ids.Store(&map[string]uint32{})
	// The header now, not at the first flush: a process killed before
	// that leaves a file a reader knows (Parse), not an empty one.
	if _, err := f.Write(appendHeader(nil, header{PID: uint32(pid), Role: role, Label: label})); err != nil {
		f.Close()
		return nil, fmt.Errorf("events: %w", err)
	}
	if !rec.CompareAndSwap(nil, r) {
		f.Close()
		return nil, errors.New("events: this process records already")
	}
	go r.loop()
	return r, nil
}

// add stamps ev (unless stamped, at is nonzero) and appends it to the
// ring of the P running the caller, or counts it dropped when that ring
// is full: a recording point never waits. The stamp is read pinned to
// the P, so each ring's events are in the order of their times.
func (r *Recorder) add(ev Event, at Stamp) {
	for {
		p := procPin()
		if shards := *r.shards.Load(); p < len(shards) && shards[p] != nil {
			s := shards[p]
			h := atomic.LoadUint64(&s.head) // a plain load on amd64; the race detector does not know procPin
			if h-s.tail.Load() >= uint64(len(s.ring)) {
				procUnpin()
				r.dropped.Add(1)
				return
			}
			if at == 0 {
				at = Now()
			}
			// Field by field: copying ev whole loads 16 bytes at a time
			// from where its fields were just stored apart, which the CPU
			// cannot forward from its store buffer (half of add's time).
			slot := &s.ring[h&uint64(len(s.ring)-1)]
			slot.Time, slot.Kind, slot.then, slot.Index = int64(at), ev.Kind, ev.then, ev.Index
			slot.Task.Hi, slot.Task.Lo, slot.Aux = ev.Task.Hi, ev.Task.Lo, ev.Aux
			release.Store64(&s.head, h+1)
			procUnpin()
			return
		}
		procUnpin()
		r.addShard(p) // the P's first event: make its ring, unpinned
	}
}

// addPair adds ev, a pair (RecordPair) whose first event was stamped
// at first and whose second is stamped now: in one slot, the second's
// stamp as Index, the distance to it; in two where it is too far.
func (r *Recorder) addPair(ev Event, first Stamp) {
	now := Now()
	if d := uint64(now - first); d <= math.MaxUint32 {
		ev.Index = uint32(d)
		r.add(ev, first)
		return
	}
	second, _ := ev.second()
	r.add(ev.first(), first)
	r.add(second, now)
}

// addShard makes P p's ring.
func (r *Recorder) addShard(p int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.shards.Load()
	if p < len(old) && old[p] != nil {
		return
	}
	grown := make([]*shard, max(len(old), p+1, runtime.GOMAXPROCS(0)))
	copy(grown, old)
	grown[p] = &shard{ring: make([]Event, r.slots)}
	r.shards.Store(&grown)
}

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

func (r *Recorder) loop() {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			_ = r.Flush()
		}
	}
}

// Flush writes what the ring holds to the file.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.err
	}
	r.drainLocked()
	return r.err
}

// drainLocked moves the rings' events, the new names and the drop
// count into the buffered writer. Each ring's events are in time order,
// but not the rings' together: a reader sorts them (Parse).
func (r *Recorder) drainLocked() {
	r.names.mu.Lock()
	for _, n := range r.names.fresh {
		r.buf = appendName(r.buf, n.id, n.name)
	}
	r.names.fresh = r.names.fresh[:0]
	r.names.mu.Unlock()
	shards := *r.shards.Load()
	r.heads = r.heads[:0]
	for _, s := range shards {
		var h uint64
		if s != nil {
			h = atomic.LoadUint64(&s.head)
		}
		r.heads = append(r.heads, h)
	}
	r.clock.advance() // after the heads: every stamp to convert is older
	r.buf = appendClock(r.buf, &r.clock)
	for i, s := range shards {
		if s == nil {
			continue
		}
		tail, head := s.tail.Load(), r.heads[i]
		for tail < head { // the ring's events in at most two runs, to its end and from its start
			from := int(tail & uint64(len(s.ring)-1))
			evs := s.ring[from:min(len(s.ring), from+int(head-tail))]
			if r.phases != nil {
				for j := range evs {
					if evs[j].Task.Lo&(PhaseSample-1) == 0 { // the sample, without a call for the others
						r.phases.add(&evs[j], r.clock.perStamp)
						if second, ok := evs[j].second(); ok {
							r.phases.add(&second, r.clock.perStamp)
						}
					}
				}
			}
			r.buf = appendBlockHeader(r.buf, len(evs))
			if nativeLayout {
				r.write()
				r.writeBytes(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(evs))), len(evs)*eventSize))
			} else {
				for j := range evs {
					r.buf = appendEventBody(r.buf, &evs[j])
				}
				if len(r.buf) >= 64<<10 {
					r.write()
				}
			}
			tail += uint64(len(evs))
		}
		s.tail.Store(tail)
	}
	if d := r.dropped.Swap(0); d > 0 {
		r.buf = appendDropped(r.buf, d)
	}
	r.write()
}

// write writes the records in buf to the file.
func (r *Recorder) write() {
	r.writeBytes(r.buf)
	r.buf = r.buf[:0]
}

func (r *Recorder) writeBytes(b []byte) {
	if len(b) == 0 || r.err != nil {
		return
	}
	if _, err := r.f.Write(b); err != nil {
		r.err = err
	}
}

// Close stops recording in this process, writes what is left and
// closes the file; the recorder is then gone, and Open may begin
// another.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return r.err
	}
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	if rec.CompareAndSwap(r, nil) {
		// Off in this process, on a switch of its own: a worker's shared
		// switch stays as its node set it for the others.
		Detach()
		atomic.StoreUint32((*uint32)(atomic.LoadPointer(&onWord)), 0)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drainLocked()
	if err := r.f.Close(); err != nil && r.err == nil {
		r.err = err
	}
	r.closed = true
	return r.err
}
