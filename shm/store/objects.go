package store

// objState is where an object is in its life.
type objState uint8

const (
	stWriting objState = iota // created, its creator writes it
	stSealed                  // immutable; in memory, on disk or both
	stLost                    // its only copy failed to restore
)

const noObject = -1

// object is the node's record of one object. A record's index in
// Store.objs does not change while it is live; spills and restores in
// flight rely on that, as they release s.mu and find the record again
// by index.
type object struct {
	id      ID
	size    int64 // data bytes
	blk     int32 // allocator block while in memory, else noBlock
	pins    int32
	lruPrev int32
	lruNext int32
	state   objState
	live    bool
	inLRU   bool
	onDisk  bool // a complete, checksummed spill file exists
	// spilling and restoring: file I/O in flight without s.mu. The record
	// cannot be dropped and its memory cannot be freed until it ends.
	spilling  bool
	restoring bool
	deleted   bool // Delete was called; dropped when nothing holds it
	// cached: a copy kept after its last reference (Cache), dropped
	// rather than spilled when memory runs short.
	cached bool
}

func (o *object) inMemory() bool { return o.blk != noBlock }

func (s *Store) newObject(id ID, size int64, blk int32) int32 {
	var i int32
	if n := len(s.spareObj); n > 0 {
		i = s.spareObj[n-1]
		s.spareObj = s.spareObj[:n-1]
	} else {
		s.objs = append(s.objs, object{})
		i = int32(len(s.objs) - 1)
	}
	s.objs[i] = object{id: id, size: size, blk: blk, lruPrev: noObject, lruNext: noObject, live: true}
	s.index.put(s.objs, i)
	s.st.Objects++
	return i
}

// offset returns where object i's allocation starts.
func (s *Store) offset(i int32) int64 { return s.alloc.blocks[s.objs[i].blk].off }

func (s *Store) slot(i int32) Slot {
	return Slot{Offset: s.offset(i) + HeaderSize, Size: s.objs[i].size}
}

// freeMemory releases object i's memory, invalidating its header first.
func (s *Store) freeMemory(i int32) {
	o := &s.objs[i]
	if o.inLRU {
		s.lruRemove(i)
	}
	off := s.offset(i)
	invalidate(s.mem[off : off+HeaderSize])
	s.alloc.release(o.blk)
	o.blk = noBlock
	n := allocSize(o.size)
	s.st.Used -= n
	if o.state == stWriting {
		s.st.Unsealed -= n
	} else {
		s.st.InMemory--
	}
	s.broadcast()
}

// drop forgets object i: its memory, its spill file and its record.
func (s *Store) drop(i int32) {
	o := &s.objs[i]
	if o.inMemory() {
		s.freeMemory(i)
	}
	if o.onDisk {
		s.removeSpill(i)
	}
	if o.state == stLost {
		s.st.Lost--
	}
	s.index.del(s.objs, i)
	*o = object{}
	s.spareObj = append(s.spareObj, i)
	s.st.Objects--
}

// dropIfDone drops a deleted object once nothing holds it any more.
func (s *Store) dropIfDone(i int32) bool {
	o := &s.objs[i]
	if !o.deleted || o.pins > 0 || o.spilling || o.restoring || o.state == stWriting {
		return false
	}
	s.drop(i)
	return true
}

// lruPush makes object i the most recently used.
func (s *Store) lruPush(i int32) {
	o := &s.objs[i]
	o.inLRU = true
	o.lruPrev = noObject
	o.lruNext = s.lruHead
	if s.lruHead != noObject {
		s.objs[s.lruHead].lruPrev = i
	} else {
		s.lruTail = i
	}
	s.lruHead = i
	s.lruBytes += allocSize(o.size)
}

// lruPushBack makes object i the least recently used.
func (s *Store) lruPushBack(i int32) {
	o := &s.objs[i]
	o.inLRU = true
	o.lruNext = noObject
	o.lruPrev = s.lruTail
	if s.lruTail != noObject {
		s.objs[s.lruTail].lruNext = i
	} else {
		s.lruHead = i
	}
	s.lruTail = i
	s.lruBytes += allocSize(o.size)
}

func (s *Store) lruRemove(i int32) {
	o := &s.objs[i]
	if o.lruPrev != noObject {
		s.objs[o.lruPrev].lruNext = o.lruNext
	} else {
		s.lruHead = o.lruNext
	}
	if o.lruNext != noObject {
		s.objs[o.lruNext].lruPrev = o.lruPrev
	} else {
		s.lruTail = o.lruPrev
	}
	o.inLRU = false
	o.lruPrev, o.lruNext = noObject, noObject
	s.lruBytes -= allocSize(o.size)
}
