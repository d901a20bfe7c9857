package gcs

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"manta/gcs/segment"
)

// ShardConfig configures a Shard.
type ShardConfig struct {
	// Limits bound keys, values and entries.
	Limits Limits
	// FlushDir turns flushing on: the flushable tables (Tasks, Lineage)
	// beyond MemoryCap are written to segment files in a new directory
	// under it, which Close removes. Empty: nothing is flushed and memory
	// grows with them.
	FlushDir string
	// MemoryCap is the memory, in bytes, that the flushable tables may
	// take before their oldest entries are flushed. Default
	// segment.DefaultMemoryCap.
	MemoryCap int64
}

// Shard is the data of one shard: its tables, its subscribers and, with
// flushing on, the disk segments that hold what no longer fits in memory.
// It has no lock of its own: the Store holds S shards, each behind a lock,
// and a replica server holds one behind the server's lock; every call
// must be made under it.
//
// A Shard is also what a chain replicates (gcs/chain's App): Apply takes
// an encoded Op (AppendOp), and Snapshot and Restore transfer the whole
// state. Its state depends only on the ops applied, in order, so every
// replica that applies the same ops ends the same.
type Shard struct {
	lim    Limits
	tables [numTables]map[string]*entry
	mem    int64            // accounted bytes of every entry in memory
	hub    hub              // subscribers
	flush  *segment.Flusher // nil: nothing is flushed
	fifo   entryQueue       // flushable entries in memory, oldest first
	recs   []segment.Record // reused for each flush
	batch  []*entry         // reused for each flush
	ops    uint64           // writes applied
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

// flags are what a segment or a snapshot records of tomb and partial.
func (e *entry) flags() segment.Flags {
	var f segment.Flags
	if e.tomb {
		f |= segment.Tomb
	}
	if e.partial {
		f |= segment.Partial
	}
	return f
}

// entryOverhead approximates what an entry costs beyond its key and data:
// the entry itself, the map slot and allocation rounding.
const entryOverhead = 96

// NewShard returns an empty shard.
func NewShard(cfg ShardConfig) (*Shard, error) {
	var fl *segment.Flusher
	if cfg.FlushDir != "" {
		var err error
		if fl, err = segment.NewFlusher(cfg.FlushDir, cfg.MemoryCap); err != nil {
			return nil, err
		}
	}
	s := &Shard{lim: cfg.Limits.withDefaults(), flush: fl}
	for t := range s.tables {
		s.tables[t] = map[string]*entry{}
	}
	return s, nil
}

// Close removes the shard's flush segments. The shard must not be used
// afterwards.
func (s *Shard) Close() error {
	if s.flush == nil {
		return nil
	}
	return s.flush.Close()
}

// Check reports why the shard would refuse op whatever its state (an
// unknown table or kind, a key or value over its limit), so that a
// replica refuses it before replicating it.
func (s *Shard) Check(op *Op) error { return op.check(&s.lim) }

// Apply decodes an op encoded by AppendOp and applies it (see apply).
func (s *Shard) Apply(cmd []byte) error {
	var op Op
	if err := DecodeOp(cmd, &op); err != nil {
		return err
	}
	return s.apply(&op)
}

// apply validates op and applies it. Invalid ops change nothing. The
// outcome depends only on the shard's logical state, so every replica that
// applies the same ops in the same order ends in the same state.
func (s *Shard) apply(op *Op) error {
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
		if op.Table.Flushable() && s.flush != nil && s.flush.Count() > 0 {
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
		if err := s.checkEntry(e, op); err != nil {
			if len(e.data) == 0 && !e.tomb {
				s.drop(e)
			}
			return err
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
		if err := s.checkEntry(e, op); err != nil {
			if len(e.data) == 0 {
				s.drop(e)
			}
			return err
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
	if s.flush != nil && s.flush.Due() {
		s.flushSome()
	}
	return nil
}

// checkEntry refuses a member that would take e over MaxEntry.
func (s *Shard) checkEntry(e *entry, op *Op) error {
	if n := len(e.data) + len(op.Value) + 10; n > s.lim.MaxEntry {
		return fmt.Errorf("%w: %v key %q would hold %d bytes, over the limit of %d bytes (MaxEntry)", ErrTooLarge, op.Table, op.Key, n, s.lim.MaxEntry)
	}
	return nil
}

// ownData returns e.data for changing in place: a copy while a snapshot
// capture may be reading it.
func (s *Shard) ownData(e *entry) []byte {
	if s.cow.Load() > 0 {
		e.data = append(make([]byte, 0, len(e.data)+64), e.data...)
	}
	return e.data
}

// insert adds an empty entry for key.
func (s *Shard) insert(t Table, key []byte) *entry {
	e := &entry{key: string(key), t: t}
	s.tables[t][e.key] = e
	e.size = int64(len(e.key)) + entryOverhead
	s.mem += e.size
	if t.Flushable() && s.flush != nil {
		s.flush.Account(e.size)
		e.queued = true
		s.fifo.push(e)
	}
	return e
}

// resize updates the accounting after e's data changed.
func (s *Shard) resize(e *entry) {
	size := int64(len(e.key)) + int64(cap(e.data)) + entryOverhead
	s.mem += size - e.size
	if e.queued {
		s.flush.Account(size - e.size)
	}
	e.size = size
}

// drop removes e from memory. If it is still queued for flushing, the
// queue skips it later (its key no longer maps to it).
func (s *Shard) drop(e *entry) {
	delete(s.tables[e.t], e.key)
	s.mem -= e.size
	if e.queued {
		s.flush.Account(-e.size)
		e.queued = false
	}
	e.size = 0
}

// mayBeOnDisk reports whether a segment may hold key.
func (s *Shard) mayBeOnDisk(t Table, key []byte) bool {
	return t.Flushable() && s.flush != nil && s.flush.Count() > 0 && s.flush.MayContain(keyHash(t, key))
}

// Get appends the value of key in t (for log and set tables, the encoded
// members: see Members) to dst. ok is false if the key does not exist. A
// flushed key is read back from its segment.
func (s *Shard) Get(t Table, key []byte, dst []byte) (_ []byte, ok bool, err error) {
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
	dst, ok, err = s.flush.Lookup(keyHash(t, key), uint8(t), key, t.Kind() == KindLog, dst)
	if err != nil {
		return dst, false, err
	}
	if e != nil {
		return append(dst, e.data...), true, nil
	}
	return dst, ok, nil
}

// Subscribe has sub receive the changes to key in t (the whole table if
// key is nil) applied from now on, until Unsubscribe.
func (s *Shard) Subscribe(t Table, key []byte, sub *Subscription) { s.hub.add(t, key, sub) }

// Unsubscribe undoes Subscribe.
func (s *Shard) Unsubscribe(t Table, key []byte, sub *Subscription) { s.hub.remove(t, key, sub) }

// Stats returns the shard's statistics.
func (s *Shard) Stats() Stats {
	st := Stats{Shards: 1}
	s.addStats(&st)
	return st
}

func (s *Shard) addStats(st *Stats) {
	for _, m := range s.tables {
		st.Keys += len(m)
	}
	st.Ops += int64(s.ops)
	st.MemoryBytes += s.mem
	if s.flush != nil {
		fs := s.flush.Stats()
		st.FlushableMem += fs.Memory
		st.BloomBytes += fs.BloomBytes
		st.Segments += fs.Segments
		st.Flushed += fs.Flushed
		st.FlushedBytes += fs.FlushedBytes
		st.FlushErrors += fs.Failures
	}
}

// flushSome writes the oldest flushable entries to a new segment until the
// flushable memory is under the low-water mark. An I/O error leaves them in
// memory: the logical state never depends on whether a flush worked.
func (s *Shard) flushSome() {
	batch, recs := s.batch[:0], s.recs[:0]
	var freed int64
	for goal := s.flush.Excess(); freed < goal; {
		e, ok := s.fifo.pop()
		if !ok {
			break
		}
		if !e.queued || s.tables[e.t][e.key] != e {
			continue
		}
		batch = append(batch, e)
		recs = append(recs, segment.Record{Hash: keyHash(e.t, []byte(e.key)), Table: uint8(e.t), Flags: e.flags(), Key: e.key, Data: e.data})
		freed += e.size
	}
	defer func() {
		clear(batch)
		clear(recs)
		s.batch, s.recs = batch[:0], recs[:0]
	}()
	if len(batch) == 0 {
		return
	}
	if err := s.flush.Write(recs); err != nil {
		for _, e := range batch {
			s.fifo.push(e)
		}
		return
	}
	for _, e := range batch {
		s.drop(e)
	}
}

// Dump lists every key with its value, flushed or not, sorted, as
// "table key=value" separated by spaces; the members of a log or set are
// listed as [m1 m2]. It reads every segment: it is for tests and
// debugging.
func (s *Shard) Dump() string {
	var keys [numTables]map[string]bool
	for t, m := range s.tables {
		keys[t] = map[string]bool{}
		for k := range m {
			keys[t][k] = true
		}
	}
	if s.flush != nil {
		for _, seg := range s.flush.Segments() {
			seg.Scan(func(r segment.Record) error {
				if Table(r.Table).Valid() {
					keys[r.Table][r.Key] = true
				}
				return nil
			})
		}
	}
	var lines []string
	for t, m := range keys {
		for k := range m {
			v, ok, err := s.Get(Table(t), []byte(k), nil)
			if err != nil {
				lines = append(lines, fmt.Sprintf("%v %s: %v", Table(t), k, err))
				continue
			}
			if !ok {
				continue
			}
			if Table(t).Kind() != KindValue {
				ms, _ := Members(v, nil)
				var parts []string
				for _, m := range ms {
					parts = append(parts, string(m))
				}
				v = []byte("[" + strings.Join(parts, " ") + "]")
			}
			lines = append(lines, fmt.Sprintf("%v %s=%s", Table(t), k, v))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, " ")
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
