package gcs

import (
	"fmt"
	"os"
	"path/filepath"
)

// flusher keeps one shard's flushable tables within a memory cap by
// writing their oldest entries to segment files (see segment.go) and
// finding them there again on a read. Its directory is private to the
// shard and removed on close: a restarted replica gets its state by
// transfer, never from old files.
type flusher struct {
	dir     string
	cap     int64
	mem     int64 // accounted bytes of flushable entries in memory
	segs    []*segment
	next    int
	batch   []*entry
	buf     []byte
	readBuf []byte
	retryAt int64 // after a failed write, no new try until mem passes this

	flushed  int64 // entries written
	written  int64 // bytes written
	failures int
	lastErr  error
}

// DefaultMemoryCap is the memory cap on the flushable tables of one shard
// when flushing is on and no cap is given.
const DefaultMemoryCap = 64 << 20

func newFlusher(dir string, memCap int64) (*flusher, error) {
	if memCap <= 0 {
		memCap = DefaultMemoryCap
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("gcs: cannot create flush directory: %w", err)
	}
	d, err := os.MkdirTemp(dir, "shard-")
	if err != nil {
		return nil, fmt.Errorf("gcs: cannot create flush directory: %w", err)
	}
	return &flusher{dir: d, cap: memCap}, nil
}

func (f *flusher) over() bool { return f.mem > f.cap && f.mem > f.retryAt }

// lowWater is where a flush stops: a quarter of the cap goes per segment,
// so segments are large and flushes rare.
func (f *flusher) lowWater() int64 { return f.cap - f.cap/4 }

func (f *flusher) segments() int { return len(f.segs) }

func (f *flusher) mayContain(t Table, key []byte) bool {
	if len(f.segs) == 0 {
		return false
	}
	h := keyHash(t, key)
	for _, s := range f.segs {
		if s.bloom.mayContain(h) {
			return true
		}
	}
	return false
}

// write puts batch into a new segment. On failure nothing changes but the
// retry mark: the caller keeps the entries in memory.
func (f *flusher) write(batch []*entry) error {
	data, bl := encodeSegment(f.buf, batch)
	f.buf = data[:0]
	if cap(f.buf) > 64<<20 {
		f.buf = nil // do not pin a huge buffer between flushes
	}
	path := filepath.Join(f.dir, fmt.Sprintf("seg-%08d", f.next))
	seg, err := writeSegment(path, data, bl)
	if err != nil {
		f.failures++
		f.lastErr = err
		f.retryAt = f.mem + f.cap/4
		return err
	}
	f.next++
	f.segs = append(f.segs, seg)
	f.flushed += int64(len(batch))
	f.written += int64(len(data))
	f.retryAt = 0
	return nil
}

// lookup reads key from the segments, newest first, appending its value
// to dst. For a log key the members of every version back to the last
// complete one are joined, oldest first.
func (f *flusher) lookup(t Table, key []byte, dst []byte) ([]byte, bool, error) {
	h := keyHash(t, key)
	var parts [][]byte
	for i := len(f.segs) - 1; i >= 0; i-- {
		s := f.segs[i]
		if !s.bloom.mayContain(h) {
			continue
		}
		var (
			data  []byte
			flags byte
			found bool
			err   error
		)
		data, flags, found, err = s.find(t, key, h, nil, &f.readBuf)
		if err != nil {
			return dst, false, err
		}
		if !found {
			continue
		}
		if flags&flagTomb != 0 {
			break
		}
		parts = append(parts, data)
		if t.Kind() != KindLog || flags&flagPartial == 0 {
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

// bloomBytes is the memory the bloom filters take.
func (f *flusher) bloomBytes() int64 {
	var n int64
	for _, s := range f.segs {
		n += s.bloom.bytes()
	}
	return n
}

// verify checks every checksum of every segment.
func (f *flusher) verify() error {
	for _, s := range f.segs {
		if err := s.verify(); err != nil {
			return err
		}
	}
	return nil
}

// reset removes every segment.
func (f *flusher) reset() {
	for _, s := range f.segs {
		s.close()
		os.Remove(s.path)
	}
	f.segs = nil
	f.mem = 0
	f.retryAt = 0
}

func (f *flusher) close() error {
	for _, s := range f.segs {
		s.close()
	}
	f.segs = nil
	return os.RemoveAll(f.dir)
}
