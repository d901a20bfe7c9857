package store

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
)

// Create allocates room for an unsealed object of size bytes and returns
// its Slot; the creator fills View.Writable(slot) and then the node calls
// Seal. If memory is short, least recently used sealed, unpinned objects
// are spilled to disk (or dropped from memory if already there) until a
// large enough free extent appears; if that cannot work because the rest
// is pinned or being written, Create waits for Unpin, Delete, Abort or
// Seal until ctx ends or the PutTimeout passes, then fails with ErrFull.
// An object that cannot fit even in an empty store fails at once with
// ErrTooLarge; a duplicate ID with ErrExists (a lost object's ID may be
// created again, so that re-running its task can store it anew, and a
// cached copy's, Cache, replaces it). When a spill fails (a full disk),
// Create frees what needs no write instead (cached copies, objects whose
// spill file is still there), and if that is not enough fails at once
// with ErrFull wrapping the write's error; the object it tried to spill
// stays in memory.
func (s *Store) Create(ctx context.Context, id ID, size int64) (Slot, error) {
	if size < 0 {
		return Slot{}, fmt.Errorf("store: cannot create object %v: negative size %d", id, size)
	}
	if size > s.capacity-HeaderSize {
		return Slot{}, fmt.Errorf("store: cannot create object %v of %d bytes (%d with its header) in a store of %d bytes: %w",
			id, size, size+HeaderSize, s.capacity, ErrTooLarge)
	}
	need := allocSize(size)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Slot{}, ErrClosed
	}
	if !s.claimID(id) {
		s.mu.Unlock()
		return Slot{}, fmt.Errorf("store: cannot create object %v: %w", id, ErrExists)
	}
	blk := s.alloc.alloc(need)
	if blk == noBlock {
		var err error
		if blk, err = s.reserveSlow(ctx, need); err != nil {
			s.mu.Unlock()
			return Slot{}, fmt.Errorf("store: cannot create object %v of %d bytes: %w", id, size, err)
		}
		// s.mu was released: someone may have created the ID meanwhile.
		if !s.claimID(id) {
			s.alloc.release(blk)
			s.broadcast()
			s.mu.Unlock()
			return Slot{}, fmt.Errorf("store: cannot create object %v: %w", id, ErrExists)
		}
	}
	s.newObject(id, size, blk)
	off := s.alloc.blocks[blk].off
	putHeader(s.mem[off:off+HeaderSize], off, id, size, false)
	s.st.Used += need
	s.st.Unsealed += need
	s.mu.Unlock()
	return Slot{Offset: off + HeaderSize, Size: size}, nil
}

// claimID reports whether id is free to create, dropping the record of a
// lost object with that ID.
func (s *Store) claimID(id ID) bool {
	i, ok := s.index.get(s.objs, &id)
	if !ok {
		return true
	}
	switch o := &s.objs[i]; {
	case o.cached && o.pins == 0: // a copy of another node's, which its maker's run here replaces
	case o.state != stLost || o.restoring:
		return false
	}
	s.drop(i)
	return true
}

// Seal makes the object immutable and readable, and a candidate for
// spilling until someone pins it. Sealing twice fails with ErrSealed, an
// unknown ID with ErrNotFound. Sealing an object deleted while it was
// written frees it.
func (s *Store) Seal(id ID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	i, ok := s.index.get(s.objs, &id)
	if !ok {
		return fmt.Errorf("store: cannot seal object %v: %w", id, ErrNotFound)
	}
	o := &s.objs[i]
	if o.state != stWriting {
		return fmt.Errorf("store: cannot seal object %v: %w", id, ErrSealed)
	}
	o.state = stSealed
	n := allocSize(o.size)
	s.st.Unsealed -= n
	s.st.InMemory++
	off := s.offset(i)
	putHeader(s.mem[off:off+HeaderSize], off, id, o.size, true)
	if o.deleted {
		s.drop(i)
		return nil
	}
	s.lruPush(i)
	s.broadcast() // its memory can now be spilled for a waiting Create
	return nil
}

// Abort discards an object that is still being written (its writer died
// or gave up) and frees its memory. It does nothing to sealed or unknown
// objects.
func (s *Store) Abort(id ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if i, ok := s.index.get(s.objs, &id); ok && s.objs[i].state == stWriting {
		s.drop(i)
	}
}

// reserveSlow finds need bytes when the allocator has no fitting extent:
// it evicts LRU objects while that may help and otherwise waits for a
// change. Called with s.mu held; releases it while spilling or waiting.
func (s *Store) reserveSlow(ctx context.Context, need int64) (int32, error) {
	var timer clockwork.Timer
	var start time.Time
	for {
		if s.closed {
			return noBlock, ErrClosed
		}
		if blk := s.alloc.alloc(need); blk != noBlock {
			if timer != nil {
				timer.Stop()
			}
			return blk, nil
		}
		// Evicting helps only if free, spillable and soon-to-be-free bytes
		// add up to the request; otherwise wait rather than spill in vain.
		if v := s.lruTail; v != noObject && s.alloc.free+s.lruBytes+s.spillBytes >= need {
			if err := s.evict(v); err != nil {
				// The disk refuses spill files (full, most likely), and
				// another write would fail alike: free what needs none.
				if timer != nil {
					timer.Stop()
				}
				if blk := s.evictUnwritten(need); blk != noBlock {
					return blk, nil
				}
				return noBlock, s.spillError(need, err)
			}
			continue
		}
		if timer == nil {
			start = s.clock.Now()
			if s.timeout < 0 {
				return noBlock, s.fullError(need, 0, nil)
			}
			s.st.Waits++
			timer = s.clock.NewTimer(s.timeout)
		}
		switch s.waitChange(ctx.Done(), timer.Chan()) {
		case 1:
			timer.Stop()
			return noBlock, s.fullError(need, s.clock.Since(start), ctx.Err())
		case 2:
			return noBlock, s.fullError(need, s.clock.Since(start), nil)
		}
	}
}

// spillError says why need bytes could not be found: what is left in
// memory must be spilled first, and spilling failed with err. It wraps
// ErrFull, as nothing was lost and freeing memory or disk space may
// make a later call succeed, and err.
func (s *Store) spillError(need int64, err error) error {
	why := "spill files cannot be written"
	if errors.Is(err, syscall.ENOSPC) {
		why = "the spill directory's disk is full"
	}
	return fmt.Errorf("%w: no room for %d bytes: the objects left in memory must be spilled first, and %s: %w", ErrFull, need, why, err)
}

func (s *Store) fullError(need int64, waited time.Duration, cause error) error {
	err := fmt.Errorf("%w: no room for %d bytes after waiting %v: capacity %d, used %d, pinned %d, being written %d, largest free extent %d",
		ErrFull, need, waited.Round(time.Millisecond), s.capacity, s.st.Used, s.st.Pinned, s.st.Unsealed, s.alloc.largestFree())
	if cause != nil {
		err = fmt.Errorf("%w: %w", err, cause)
	}
	return err
}
