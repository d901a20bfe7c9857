package gcs

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync/atomic"

	"manta/gcs/segment"
)

const snapshotVersion = 1

// Snapshot is a state captured for transfer and encoded later. The
// capture is cheap (a list of the entries, taken under the shard's lock);
// while any capture is outstanding the shard copies instead of changing
// data in place, so AppendTo may run concurrently with Apply.
type Snapshot interface {
	// AppendTo encodes the state onto dst and releases the capture. It
	// may be called once, from any goroutine.
	AppendTo(dst []byte) []byte
	// Release gives the capture up without encoding it.
	Release()
}

type capturedEntry struct {
	t     Table
	flags segment.Flags
	key   string
	data  []byte
}

type shardSnapshot struct {
	s       *Shard
	entries []capturedEntry
	segs    []*segment.Segment
	size    int
	done    atomic.Bool
}

// Snapshot captures the shard's whole state, its flush segments included;
// Restore on another shard takes it.
func (s *Shard) Snapshot() Snapshot {
	n := 0
	for _, m := range s.tables {
		n += len(m)
	}
	snap := &shardSnapshot{s: s, entries: make([]capturedEntry, 0, n), size: 16}
	put := func(e *entry) {
		snap.entries = append(snap.entries, capturedEntry{e.t, e.flags(), e.key, e.data})
		snap.size += len(e.key) + len(e.data) + 2 + 2*binary.MaxVarintLen32
	}
	// Flushable entries go in flush order, so the receiver flushes the
	// oldest first too; the others in any order.
	for i := s.fifo.head; i < len(s.fifo.buf); i++ {
		if e := s.fifo.buf[i]; e.queued && s.tables[e.t][e.key] == e {
			put(e)
		}
	}
	for t, m := range s.tables {
		for _, e := range m {
			if !e.queued || !Table(t).Flushable() {
				put(e)
			}
		}
	}
	if len(snap.entries) != n {
		panic(fmt.Sprintf("BUG: shard snapshot captured %d of %d entries", len(snap.entries), n))
	}
	if s.flush != nil {
		snap.segs = s.flush.Segments()
		for _, seg := range snap.segs {
			snap.size += int(seg.Size()) + binary.MaxVarintLen64
		}
	}
	s.cow.Add(1)
	return snap
}

func (snap *shardSnapshot) Release() {
	if snap.done.CompareAndSwap(false, true) {
		snap.s.cow.Add(-1)
		snap.entries = nil
	}
}

// AppendTo encodes: a version byte; the entries (count, then per entry
// table, flags, key, data); the flush segments, oldest first (count, then
// each file's bytes).
func (snap *shardSnapshot) AppendTo(dst []byte) []byte {
	if snap.done.Load() {
		panic("BUG: shard snapshot encoded twice")
	}
	defer snap.Release()
	dst = slices.Grow(dst, snap.size)
	dst = append(dst, snapshotVersion)
	dst = binary.AppendUvarint(dst, uint64(len(snap.entries)))
	for _, e := range snap.entries {
		dst = append(dst, byte(e.t), byte(e.flags))
		dst = binary.AppendUvarint(dst, uint64(len(e.key)))
		dst = append(dst, e.key...)
		dst = appendBytes(dst, e.data)
	}
	dst = binary.AppendUvarint(dst, uint64(len(snap.segs)))
	for _, seg := range snap.segs {
		dst = binary.AppendUvarint(dst, uint64(seg.Size()))
		at := len(dst)
		var err error
		if dst, err = seg.AppendTo(dst); err != nil {
			// A segment this replica wrote cannot be read back: the state
			// cannot be transferred. The joiner finds the snapshot corrupt
			// and asks again.
			return append(dst[:at], "unreadable"...)
		}
	}
	return dst
}

// Restore replaces the shard's state with a snapshot's. Subscribers are
// told to resync.
func (s *Shard) Restore(snap []byte) error {
	d := newDecoder(snap)
	if v := d.Byte("snapshot version"); d.Err() == nil && v != snapshotVersion {
		return fmt.Errorf("%w: snapshot version %d", ErrMalformed, v)
	}
	type rec struct {
		t         Table
		flags     segment.Flags
		key, data []byte
	}
	n := d.Count("entries", 4)
	recs := make([]rec, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		r := rec{t: Table(d.Byte("table")), flags: segment.Flags(d.Byte("flags"))}
		r.key, r.data = d.Bytes("key"), d.Bytes("data")
		if d.Err() == nil && (!r.t.Valid() || r.flags&^(segment.Tomb|segment.Partial) != 0 || len(r.key) == 0) {
			d.Fail("entry table %d flags %#x", r.t, r.flags)
		}
		recs = append(recs, r)
	}
	nseg := d.Count("segments", 1)
	var segs [][]byte
	for i := 0; i < nseg && d.Err() == nil; i++ {
		segs = append(segs, d.Bytes("segment"))
	}
	d.End("snapshot")
	if d.Err() != nil {
		return d.Err()
	}

	// Reset, then load the segments (as files when this shard flushes,
	// else into memory) and the entries on top.
	for t := range s.tables {
		s.tables[t] = map[string]*entry{}
	}
	s.mem = 0
	s.fifo = entryQueue{}
	if s.flush != nil {
		s.flush.Reset()
	}
	for _, data := range segs {
		if err := s.loadSegment(data); err != nil {
			return err
		}
	}
	for _, r := range recs {
		e := s.tables[r.t][string(r.key)]
		if e == nil {
			e = s.insert(r.t, r.key)
		}
		if r.flags&segment.Partial != 0 && !e.partial && s.flush == nil {
			// Older members were loaded from the segments above.
			e.data = append(e.data, r.data...)
		} else {
			e.data = append(e.data[:0], r.data...)
			e.partial = r.flags&segment.Partial != 0
		}
		e.tomb = r.flags&segment.Tomb != 0
		s.resize(e)
	}
	if s.flush == nil {
		for t, m := range s.tables {
			for k, e := range m {
				if e.tomb {
					s.drop(e)
					delete(s.tables[t], k)
				}
			}
		}
	}
	s.hub.resyncAll()
	if s.flush != nil && s.flush.Due() {
		s.flushSome()
	}
	return nil
}

// loadSegment takes a segment of a snapshot: as a file of this shard's own
// if it flushes, else merged into memory, oldest segment first.
func (s *Shard) loadSegment(data []byte) error {
	if s.flush != nil {
		return s.flush.Load(data)
	}
	seg, err := segment.Parse(data)
	if err != nil {
		return err
	}
	if err := seg.Verify(); err != nil {
		return err
	}
	return seg.Scan(func(r segment.Record) error {
		t := Table(r.Table)
		if !t.Valid() {
			return fmt.Errorf("%w: segment record of table %d", ErrCorrupt, r.Table)
		}
		e := s.tables[t][r.Key]
		switch {
		case r.Flags&segment.Tomb != 0:
			if e != nil {
				s.drop(e)
			}
			return nil
		case e == nil:
			e = s.insert(t, []byte(r.Key))
			e.data = append(e.data, r.Data...)
		case r.Flags&segment.Partial != 0:
			e.data = append(e.data, r.Data...)
		default:
			e.data = append(e.data[:0], r.Data...)
		}
		s.resize(e)
		return nil
	})
}
