package gcs

import (
	"fmt"
	"sync/atomic"
)

// shard is the data of one shard: its tables, its subscribers and, for the
// flushable tables, the disk segments that hold what no longer fits in
// memory. It has no lock of its own; Store and the replica server hold
// one around every call.
type shard struct {
	lim    Limits
	tables [NumTables]map[string]*entry
	mem    int64      // accounted bytes of every entry in memory
	hub    hub        // subscribers
	flush  *flusher   // nil: nothing is flushed
	fifo   entryQueue // flushable entries in memory, oldest first
	ops    uint64     // writes applied
	// cow counts outstanding snapshot captures: while it is not zero,
	// data is replaced, never changed in place (see Snapshot).
	cow atomic.Int32
}

// entry is one key's data in memory.
type entry struct {
	key  string
	data []byte
	size int64 // what mem counts for it
	t    Table
	// tomb marks a deleted key of a flushable table: older versions may be
	// on disk, and the tombstone hides them until it is flushed itself.
	tomb bool
	// partial marks a log entry created after older members of the same
	// key were flushed: a read prepends what the segments hold.
	partial bool
	// queued is set while the entry is in fifo.
	queued bool
}

// entryOverhead approximates what an entry costs beyond its key and data:
// the entry itself, the map slot and allocation rounding.
const entryOverhead = 96

func newShard(lim Limits, fl *flusher) *shard {
	s := &shard{lim: lim.withDefaults(), flush: fl}
	for t := range s.tables {
		s.tables[t] = map[string]*entry{}
	}
	return s
}

// apply validates op and applies it. Invalid ops change nothing. The
// outcome depends only on the shard's logical state, so every replica that
// applies the same ops in the same order ends in the same state.
func (s *shard) apply(op *Op) error {
	if err := op.check(&s.lim); err != nil {
		return err
	}
	m := s.tables[op.Table]
	e := m[string(op.Key)]
	switch op.Kind {
	case OpPut:
		if e == nil {
			e = s.insert(op.Table, op.Key)
		}
		if s.cow.Load() > 0 {
			e.data = append([]byte(nil), op.Value...)
		} else {
			e.data = append(e.data[:0], op.Value...)
		}
		e.tomb, e.partial = false, false
	case OpDelete:
		if e == nil && !s.mayBeOnDisk(op.Table, op.Key) {
			return nil // nothing to delete, nothing to publish
		}
		if op.Table.Flushable() && s.flush != nil && s.flush.segments() > 0 {
			// Older versions may be on disk: keep a tombstone.
			if e == nil {
				e = s.insert(op.Table, op.Key)
			}
			e.data = e.data[:0]
			e.tomb, e.partial = true, false
		} else if e != nil {
			s.drop(e)
			e = nil
		}
	case OpAppend:
		if e == nil {
			e = s.insert(op.Table, op.Key)
			e.partial = s.mayBeOnDisk(op.Table, op.Key)
		} else if e.tomb {
			e.tomb, e.partial = false, false
		}
		if n := len(e.data) + len(op.Value) + 10; n > s.lim.MaxEntry {
			if len(e.data) == 0 && !e.tomb {
				s.drop(e)
			}
			return fmt.Errorf("%w: %v key %q would hold %d bytes, over the limit of %d bytes (MaxEntry)", ErrTooLarge, op.Table, op.Key, n, s.lim.MaxEntry)
		}
		e.data = appendMember(s.ownData(e), op.Value)
	case OpAdd:
		if e != nil {
			if off, _ := findMember(e.data, op.Value); off >= 0 {
				return nil // already a member: no change, no notification
			}
		}
		if e == nil {
			e = s.insert(op.Table, op.Key)
		}
		if n := len(e.data) + len(op.Value) + 10; n > s.lim.MaxEntry {
			if len(e.data) == 0 {
				s.drop(e)
			}
			return fmt.Errorf("%w: %v key %q would hold %d bytes, over the limit of %d bytes (MaxEntry)", ErrTooLarge, op.Table, op.Key, n, s.lim.MaxEntry)
		}
		e.data = appendMember(s.ownData(e), op.Value)
	case OpRemove:
		if e == nil {
			return nil
		}
		off, n := findMember(e.data, op.Value)
		if off < 0 {
			return nil
		}
		d := s.ownData(e)
		e.data = append(d[:off], d[off+n:]...)
		if len(e.data) == 0 {
			s.drop(e)
			e = nil
		}
	}
	if e != nil {
		s.resize(e)
	}
	s.ops++
	s.hub.publish(op)
	if s.flush != nil && s.flush.over() {
		s.flushSome()
	}
	return nil
}

// ownData returns e.data for changing in place: a copy while a snapshot
// capture may be reading it.
func (s *shard) ownData(e *entry) []byte {
	if s.cow.Load() > 0 {
		e.data = append(make([]byte, 0, len(e.data)+64), e.data...)
	}
	return e.data
}

// insert adds an empty entry for key.
func (s *shard) insert(t Table, key []byte) *entry {
	e := &entry{key: string(key), t: t}
	s.tables[t][e.key] = e
	e.size = int64(len(e.key)) + entryOverhead
	s.mem += e.size
	if t.Flushable() && s.flush != nil {
		s.flush.mem += e.size
		e.queued = true
		s.fifo.push(e)
	}
	return e
}

// resize updates the accounting after e's data changed.
func (s *shard) resize(e *entry) {
	size := int64(len(e.key)) + int64(cap(e.data)) + entryOverhead
	s.mem += size - e.size
	if e.queued {
		s.flush.mem += size - e.size
	}
	e.size = size
}

// drop removes e from memory. If it is still queued for flushing, the
// queue skips it later (its key no longer maps to it).
func (s *shard) drop(e *entry) {
	delete(s.tables[e.t], e.key)
	s.mem -= e.size
	if e.queued {
		s.flush.mem -= e.size
		e.queued = false
	}
	e.size = 0
}

// mayBeOnDisk reports whether a segment may hold key.
func (s *shard) mayBeOnDisk(t Table, key []byte) bool {
	return t.Flushable() && s.flush != nil && s.flush.mayContain(t, key)
}

// get appends the value of key (for log and set tables, the encoded
// members) to dst. ok is false if the key does not exist.
func (s *shard) get(t Table, key []byte, dst []byte) (_ []byte, ok bool, err error) {
	if !t.Valid() {
		return dst, false, fmt.Errorf("%w: unknown table %d", ErrBadOp, uint8(t))
	}
	e := s.tables[t][string(key)]
	if e != nil && !e.partial {
		if e.tomb {
			return dst, false, nil
		}
		return append(dst, e.data...), true, nil
	}
	if !s.mayBeOnDisk(t, key) {
		if e != nil {
			return append(dst, e.data...), true, nil
		}
		return dst, false, nil
	}
	dst, ok, err = s.flush.lookup(t, key, dst)
	if err != nil {
		return dst, false, err
	}
	if e != nil {
		return append(dst, e.data...), true, nil
	}
	return dst, ok, nil
}

// flushSome writes the oldest flushable entries to a new segment until the
// flushable memory is under the low-water mark. An I/O error leaves them in
// memory: the logical state never depends on whether a flush worked.
func (s *shard) flushSome() {
	batch := s.flush.batch[:0]
	var freed int64
	goal := s.flush.mem - s.flush.lowWater()
	for freed < goal {
		e, ok := s.fifo.pop()
		if !ok {
			break
		}
		if !e.queued || s.tables[e.t][e.key] != e {
			continue
		}
		batch = append(batch, e)
		freed += e.size
	}
	s.flush.batch = batch
	if len(batch) == 0 {
		return
	}
	if err := s.flush.write(batch); err != nil {
		for _, e := range batch {
			s.fifo.push(e)
		}
		return
	}
	for _, e := range batch {
		s.drop(e)
	}
	clear(s.flush.batch)
}

// entryQueue is a FIFO of entries.
type entryQueue struct {
	buf  []*entry
	head int
}

func (q *entryQueue) push(e *entry) {
	if q.head > 0 && q.head >= len(q.buf)/2 {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf = q.buf[:n]
		q.head = 0
	}
	q.buf = append(q.buf, e)
}

func (q *entryQueue) pop() (*entry, bool) {
	if q.head == len(q.buf) {
		return nil, false
	}
	e := q.buf[q.head]
	q.buf[q.head] = nil
	q.head++
	return e, true
}
