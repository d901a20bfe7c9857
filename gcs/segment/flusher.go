package segment

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// DefaultMemoryCap is a Flusher's memory cap when none is given.
const DefaultMemoryCap = 64 << 20

// Flusher keeps one shard's flushable entries within a memory cap: the
// shard accounts their memory (Account), and once Due it writes the oldest
// to a new segment (Write) and drops them; reads that may concern them
// (MayContain) find them there again (Lookup). Its directory is private to
// the shard and removed by Close: a restarted replica gets its state by
// transfer, never from old files. It has no lock: its shard's holds.
type Flusher struct {
	dir     string
	cap     int64
	mem     int64 // accounted bytes of flushable entries in memory
	segs    []*Segment
	next    int // numbers the next segment file
	buf     []byte
	readBuf []byte
	retryAt int64 // after a failed write, no new try until mem passes this

	flushed  int64 // records written
	written  int64 // bytes written
	failures int
}

// NewFlusher returns a Flusher whose segments go in a new directory under
// parent; memCap (default DefaultMemoryCap) is the memory its entries may
// take before they are due.
func NewFlusher(parent string, memCap int64) (*Flusher, error) {
	if memCap <= 0 {
		memCap = DefaultMemoryCap
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("gcs: cannot create flush directory: %w", err)
	}
	d, err := os.MkdirTemp(parent, "shard-")
	if err != nil {
		return nil, fmt.Errorf("gcs: cannot create flush directory: %w", err)
	}
	return &Flusher{dir: d, cap: memCap}, nil
}

// Account adds delta (negative when entries shrink or go) to the memory
// the flushable entries take.
func (f *Flusher) Account(delta int64) { f.mem += delta }

// Due reports whether the entries are over the cap (and, after a failed
// write, have grown since).
func (f *Flusher) Due() bool { return f.mem > f.cap && f.mem > f.retryAt }

// Excess is how many bytes of the oldest entries to write now: down to
// three quarters of the cap, so that segments are large and writes rare.
func (f *Flusher) Excess() int64 { return f.mem - (f.cap - f.cap/4) }

// Count is the number of segments.
func (f *Flusher) Count() int { return len(f.segs) }

// Segments returns the segments, oldest first. They are never changed;
// Reset and Close close them.
func (f *Flusher) Segments() []*Segment { return slices.Clone(f.segs) }

// MayContain reports whether a segment may hold the record whose hash is
// h (false positives are about 1%).
func (f *Flusher) MayContain(h uint64) bool {
	for _, s := range f.segs {
		if s.bloom.mayContain(h) {
			return true
		}
	}
	return false
}

// Write puts recs into a new segment. On failure nothing changes but a
// mark that keeps Due false for a while: the caller keeps the entries in
// memory.
func (f *Flusher) Write(recs []Record) error {
	data, bl := encode(f.buf, recs)
	f.buf = data[:0]
	if cap(f.buf) > 64<<20 {
		f.buf = nil // do not pin a huge buffer between flushes
	}
	seg, err := create(f.nextPath(), data, bl)
	if err != nil {
		f.failures++
		f.retryAt = f.mem + f.cap/4
		return err
	}
	f.next++
	f.segs = append(f.segs, seg)
	f.flushed += int64(len(recs))
	f.written += int64(len(data))
	f.retryAt = 0
	return nil
}

func (f *Flusher) nextPath() string { return filepath.Join(f.dir, fmt.Sprintf("seg-%08d", f.next)) }

// Lookup reads the record of table and key (whose hash is h) from the
// segments, newest first, appending its data to dst. A tombstone ends the
// search: the key is absent. For a log (log true) the members of every
// version back to the last complete one are joined, oldest first.
func (f *Flusher) Lookup(h uint64, table uint8, key []byte, log bool, dst []byte) ([]byte, bool, error) {
	var parts [][]byte
	for i := len(f.segs) - 1; i >= 0; i-- {
		s := f.segs[i]
		if !s.bloom.mayContain(h) {
			continue
		}
		data, flags, found, err := s.find(h, table, key, nil, &f.readBuf)
		if err != nil {
			return dst, false, err
		}
		if !found {
			continue
		}
		if flags&Tomb != 0 {
			break
		}
		parts = append(parts, data)
		if !log || flags&Partial == 0 {
			break
		}
	}
	if len(parts) == 0 {
		return dst, false, nil
	}
	for i := len(parts) - 1; i >= 0; i-- {
		dst = append(dst, parts[i]...)
	}
	return dst, true, nil
}

// Load adds a segment that another shard wrote (a snapshot carried it)
// as the newest, after checking every checksum.
func (f *Flusher) Load(data []byte) error {
	path := f.nextPath()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("gcs: cannot restore snapshot: %w", err)
	}
	seg, err := open(path)
	if err != nil {
		return err
	}
	if err := seg.Verify(); err != nil {
		seg.close()
		return err
	}
	f.next++
	f.segs = append(f.segs, seg)
	return nil
}

// Verify checks every checksum of every segment, returning an error
// wrapping ErrCorrupt for the first bad one.
func (f *Flusher) Verify() error {
	for _, s := range f.segs {
		if err := s.Verify(); err != nil {
			return err
		}
	}
	return nil
}

// Reset removes every segment and forgets the accounted memory: the
// shard's state is being replaced.
func (f *Flusher) Reset() {
	for _, s := range f.segs {
		s.close()
		os.Remove(s.name)
	}
	f.segs = nil
	f.mem = 0
	f.retryAt = 0
}

// Close closes the segments and removes the directory.
func (f *Flusher) Close() error {
	for _, s := range f.segs {
		s.close()
	}
	f.segs = nil
	return os.RemoveAll(f.dir)
}

// Stats describes a Flusher.
type Stats struct {
	Memory       int64 // accounted bytes of flushable entries in memory
	BloomBytes   int64 // the segments' Bloom filters
	Segments     int
	Flushed      int64 // records written
	FlushedBytes int64 // bytes written
	Failures     int   // failed segment writes
}

// Stats returns the Flusher's statistics.
func (f *Flusher) Stats() Stats {
	st := Stats{Memory: f.mem, Segments: len(f.segs), Flushed: f.flushed, FlushedBytes: f.written, Failures: f.failures}
	for _, s := range f.segs {
		st.BloomBytes += s.bloom.bytes()
	}
	return st
}
