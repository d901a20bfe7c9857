package events

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// EnvDir names the environment variable that carries the directory
// events are written to from a node to its worker processes.
const EnvDir = "MANTA_EVENTS_DIR"

// ringSlots is the ring's size (12 MiB): enough for a burst of 25,000
// tasks' events between two flushes, and 26 million events a second in
// all. Past it events are dropped (and counted) rather than the
// recording goroutine waiting.
const ringSlots = 1 << 18

// FlushEvery is how often a recorder writes its ring to its file: a
// timeline of a running program lags it by about this much.
const FlushEvery = 10 * time.Millisecond

type slot struct {
	seq atomic.Uint64 // index+1 once the event in it is complete
	ev  Event
}

// Recorder is this process's recording: a lock-free ring that any
// goroutine appends to and a goroutine that writes it to the process's
// file every FlushEvery.
type Recorder struct {
	ring    []slot
	head    atomic.Uint64 // next slot to claim
	tail    atomic.Uint64 // next slot to write out; only the flusher stores it
	dropped atomic.Uint64

	names  names
	phases phaseTracker  // under mu
	every  time.Duration // how often loop flushes

	mu     sync.Mutex // the file, the writer, closed
	f      *os.File
	w      *bufio.Writer
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

// open is Open with the ring's size and the flush interval chosen.
func open(dir string, role Role, label string, slots int, every time.Duration) (*Recorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	pid := os.Getpid()
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(pid)+FileExt), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	r := &Recorder{ring: make([]slot, slots), every: every, f: f, w: bufio.NewWriterSize(f, 1<<20),
		stop: make(chan struct{}), done: make(chan struct{})}
	r.names.ids = map[string]uint32{}
	r.buf = appendHeader(nil, header{PID: uint32(pid), Role: role, Label: label})
	if !rec.CompareAndSwap(nil, r) {
		f.Close()
		return nil, errors.New("events: this process records already")
	}
	go r.loop()
	return r, nil
}

// add appends ev to the ring, or counts it dropped when the ring is
// full: a recording point never waits.
func (r *Recorder) add(ev Event) {
	for {
		h := r.head.Load()
		if h-r.tail.Load() >= uint64(len(r.ring)) {
			r.dropped.Add(1)
			return
		}
		if r.head.CompareAndSwap(h, h+1) {
			s := &r.ring[h&uint64(len(r.ring)-1)]
			s.ev = ev
			s.seq.Store(h + 1)
			return
		}
	}
}

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
	if err := r.w.Flush(); err != nil && r.err == nil {
		r.err = err
	}
	return r.err
}

// drainLocked moves the ring's complete events, the new names and the
// drop count into the buffered writer.
func (r *Recorder) drainLocked() {
	r.names.mu.Lock()
	for _, n := range r.names.fresh {
		r.buf = appendName(r.buf, n.id, n.name)
	}
	r.names.fresh = r.names.fresh[:0]
	r.names.mu.Unlock()
	tail, head := r.tail.Load(), r.head.Load()
	for ; tail < head; tail++ {
		s := &r.ring[tail&uint64(len(r.ring)-1)]
		if s.seq.Load() != tail+1 {
			break // claimed, not yet written: the next flush takes it
		}
		r.buf = appendEvent(r.buf, s.ev)
		r.phases.add(s.ev)
		if len(r.buf) >= 64<<10 {
			r.write()
		}
	}
	r.tail.Store(tail)
	if d := r.dropped.Swap(0); d > 0 {
		r.buf = appendDropped(r.buf, d)
	}
	r.write()
}

func (r *Recorder) write() {
	if _, err := r.w.Write(r.buf); err != nil && r.err == nil {
		r.err = err
	}
	r.buf = r.buf[:0]
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
	if err := r.w.Flush(); err != nil && r.err == nil {
		r.err = err
	}
	if err := r.f.Close(); err != nil && r.err == nil {
		r.err = err
	}
	r.closed = true
	return r.err
}
