package store

// Stats is a snapshot of the store. Byte counts of memory are allocation
// bytes (header and padding included); byte counts of I/O are data bytes.
type Stats struct {
	Capacity int64 // segment bytes
	Used     int64 // allocated bytes
	Pinned   int64 // bytes of pinned objects
	Unsealed int64 // bytes of objects being written
	Objects  int64 // objects known: in memory, on disk or lost
	InMemory int64 // sealed objects in memory
	Lost     int64 // objects whose restore failed (Pin returns ErrLost)

	Spilled      int64 // objects with a spill file on disk now
	SpilledBytes int64 // their data bytes

	SpillWrites     int64 // spill files written
	SpillWriteBytes int64
	SpillErrors     int64 // spill writes that failed (the object stayed in memory)
	Restores        int64 // objects read back from disk
	RestoreBytes    int64
	Evicted         int64 // times an object's memory was freed because a spill file held it
	EvictedBytes    int64
	// CachedDropped counts cached copies (Cache) dropped to make room.
	CachedDropped int64

	Pins    int64 // successful Pin calls
	PinHits int64 // of those, served from memory without a restore
	Waits   int64 // Create and Pin calls that waited for memory
}

// HitRate is the share of Pins served from memory (1 when there were
// none).
func (st Stats) HitRate() float64 {
	if st.Pins == 0 {
		return 1
	}
	return float64(st.PinHits) / float64(st.Pins)
}

// Stats returns a snapshot of the counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}
