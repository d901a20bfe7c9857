package core

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"manta/node/host"
	"manta/rpc/wire"
	"manta/shm"
	"manta/shm/store"
)

// objectStore is a process's access to its node's shared-memory object
// store: the node has the Store itself; every process has a writable View
// for the objects it creates and a read-only one for what it reads, so a
// value handed to user code as a view into shared memory cannot be
// written through.
type objectStore struct {
	lastGC  atomic.Int64 // unix nanos of the last collection collect started
	sinceGC atomic.Int64 // bytes allocated in the store since then
	st      *store.Store // the node only
	seg     *shm.Segment // the writable mapping (the store's own in the node)
	roSeg   *shm.Segment // a second, read-only mapping
	write   *store.View  // over seg
	read    *store.View  // over roSeg
	inline  int          // values larger than this go through the store
}

// mapStore adds the views over seg, a writable mapping of the store.
func mapStore(seg *shm.Segment, inline int) (*objectStore, error) {
	s := &objectStore{seg: seg, inline: inline}
	var err error
	if s.roSeg, err = seg.MapReadOnly(); err != nil {
		return nil, fmt.Errorf("manta: object store: %w", err)
	}
	if s.write, err = store.NewView(seg); err == nil {
		s.read, err = store.NewView(s.roSeg)
	}
	if err != nil {
		s.roSeg.Close()
		return nil, fmt.Errorf("manta: object store: %w", err)
	}
	return s, nil
}

// close releases the mappings; the driver's store itself is its host's,
// which closes it.
func (s *objectStore) close() {
	s.roSeg.Close()
	if s.st == nil {
		s.seg.Close()
	}
}

// encoded is a value ready to be stored: its bytes, or, for a large value
// whose encoded size is known up front, that size and a function that
// encodes it straight into its destination in the object store, which
// saves a copy of the whole value.
type encoded struct {
	data  []byte
	size  int
	write func(dst []byte) error // dst has len size
}

func (e encoded) len() int {
	if e.write != nil {
		return e.size
	}
	return len(e.data)
}

func (e encoded) writeTo(dst []byte) error {
	if e.write != nil {
		return e.write(dst)
	}
	copy(dst, e.data)
	return nil
}

// bytes returns the value as one slice, encoding it now if it was deferred.
func (e encoded) bytes() ([]byte, error) {
	if e.write == nil {
		return e.data, nil
	}
	b := make([]byte, e.size)
	return b, e.write(b)
}

// collect runs the garbage collector, in the background and at most every
// gcEvery, once an eighth of the store has been allocated since the last
// run or the store is more than 70% full. Store memory is not Go heap, so
// the collector does not know that dropped references to large objects
// are worth collecting; without this, a loop of large puts would march
// through cold memory and then spill dead objects to disk rather than free
// them and reuse their warm pages.
//
// Every process that puts large values runs it: a worker's dropped
// references are collected only by the worker's own collector.
func (s *objectStore) collect(size int64) {
	const gcEvery = 20 * time.Millisecond
	capacity := int64(len(s.seg.Bytes()))
	full := s.st != nil && float64(s.st.Stats().Used) >= 0.7*float64(capacity)
	if s.sinceGC.Add(size) < capacity/8 && !full {
		return
	}
	now := time.Now().UnixNano()
	last := s.lastGC.Load()
	if now-last < int64(gcEvery) || !s.lastGC.CompareAndSwap(last, now) {
		return
	}
	s.sinceGC.Store(0)
	go runtime.GC()
}

// released notes that a hold on a stored object of size bytes was given
// up: those bytes are no longer garbage for collect to find, so a loop
// that releases what it puts runs no collections.
func (s *objectStore) released(size int64) {
	if s.sinceGC.Add(-size) < 0 {
		s.sinceGC.Store(0)
	}
}

// fill writes v into the unsealed object at slot.
func (s *objectStore) fill(slot store.Slot, v encoded) error {
	dst, err := s.write.Writable(slot)
	if err != nil {
		return fmt.Errorf("manta: cannot write object: %w", err)
	}
	return v.writeTo(dst)
}

// view returns the sealed object at slot, read-only.
func (s *objectStore) view(id wire.ObjectID, slot store.Slot) ([]byte, error) {
	b, err := s.read.BytesOf(host.StoreID(id), slot)
	if err != nil {
		return nil, fmt.Errorf("manta: cannot read %v: %w", id, err)
	}
	return b, nil
}
