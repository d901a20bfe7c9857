package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"
)

// Pin keeps a sealed object in memory until the matching Unpin and
// returns its Slot: a reader or a running task needs it. A spilled object
// is read back first, its length and checksum verified (a damaged or
// missing file gives ErrLost, never wrong bytes); finding room for it
// may spill others or wait, as in Create. The object becomes the most
// recently used. Pins nest: each Pin needs one Unpin. A cached copy
// (Cache) pinned becomes an ordinary object again: its reader's node
// holds it now, and deletes or caches it in turn.
//
// Errors: ErrNotFound (unknown or deleted), ErrNotSealed, ErrLost, ErrIO
// (its spill file could not be read this time), ErrFull, ErrClosed, or
// ctx's error (with ErrFull when it ended a wait for room).
func (s *Store) Pin(ctx context.Context, id ID) (Slot, error) { return s.pin(ctx, id, true) }

// PinForPeer is Pin for a reader on another node (transfer.Server): it
// leaves a cached copy cached, since nobody here holds it afterwards to
// delete or cache it again; once unpinned it is still dropped, not
// spilled, when memory runs short. Unpin releases it like any pin.
func (s *Store) PinForPeer(ctx context.Context, id ID) (Slot, error) { return s.pin(ctx, id, false) }

// pin is Pin, or PinForPeer unless claim: a claiming pin ends a cached
// copy's cached state.
func (s *Store) pin(ctx context.Context, id ID, claim bool) (Slot, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Slot{}, ErrClosed
	}
	i, ok := s.index.get(s.objs, &id)
	if ok {
		// The common case, kept free of the slow path's machinery.
		if o := &s.objs[i]; o.state == stSealed && !o.deleted && o.inMemory() && !o.restoring {
			s.pinLocked(i, claim)
			s.st.PinHits++
			sl := s.slot(i)
			s.mu.Unlock()
			return sl, nil
		}
	}
	sl, err := s.pinSlow(ctx, id, claim)
	s.mu.Unlock()
	return sl, err
}

func (s *Store) pinLocked(i int32, claim bool) {
	o := &s.objs[i]
	if claim {
		o.cached = false
	}
	if o.pins == 0 {
		if o.inLRU {
			s.lruRemove(i)
		}
		s.st.Pinned += allocSize(o.size)
	}
	o.pins++
	s.st.Pins++
}

// pinSlow pins an object that is not simply in memory: it waits for a
// restore in flight or restores it itself. Called with s.mu held.
func (s *Store) pinSlow(ctx context.Context, id ID, claim bool) (Slot, error) {
	var timer clockwork.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if s.closed {
			return Slot{}, ErrClosed
		}
		i, ok := s.index.get(s.objs, &id)
		if !ok || s.objs[i].deleted {
			return Slot{}, fmt.Errorf("store: cannot pin object %v: %w", id, ErrNotFound)
		}
		o := &s.objs[i]
		switch {
		case o.state == stWriting:
			return Slot{}, fmt.Errorf("store: cannot pin object %v: %w", id, ErrNotSealed)
		case o.state == stLost:
			return Slot{}, fmt.Errorf("store: cannot pin object %v: %w", id, ErrLost)
		case o.restoring:
			// Another Pin is reading it back; its end broadcasts.
			if timer == nil {
				timer = s.clock.NewTimer(s.restoreWait())
			}
			switch s.waitChange(ctx.Done(), timer.Chan()) {
			case 1:
				return Slot{}, fmt.Errorf("store: cannot pin object %v while it is restored: %w", id, ctx.Err())
			case 2:
				return Slot{}, fmt.Errorf("store: cannot pin object %v: its restore took too long: %w", id, ErrFull)
			}
			continue
		case o.inMemory():
			s.pinLocked(i, claim)
			return s.slot(i), nil
		}
		// On disk only: find memory, then read it back.
		need := allocSize(o.size)
		blk := s.alloc.alloc(need)
		if blk == noBlock {
			var err error
			if blk, err = s.reserveSlow(ctx, need); err != nil {
				return Slot{}, fmt.Errorf("store: cannot restore object %v of %d bytes: %w", id, o.size, err)
			}
			// s.mu was released: the object may have changed; look again.
			if j, ok := s.index.get(s.objs, &id); !ok || j != i || s.objs[i].inMemory() || s.objs[i].restoring || s.objs[i].deleted || s.objs[i].state != stSealed {
				s.alloc.release(blk)
				s.broadcast()
				continue
			}
		}
		return s.restore(i, blk, claim)
	}
}

// restoreWait bounds a wait for another caller's restore.
func (s *Store) restoreWait() time.Duration {
	if s.timeout < 0 {
		return DefaultPutTimeout
	}
	return s.timeout
}

// Unpin releases one Pin. When the last pin goes the object becomes the
// most recently used candidate for spilling, or is freed if it was
// deleted. Unpinning an object that is not pinned does nothing.
func (s *Store) Unpin(id ID) {
	s.mu.Lock()
	i, ok := s.index.get(s.objs, &id)
	if !ok || s.closed || s.objs[i].pins == 0 {
		s.mu.Unlock()
		return
	}
	o := &s.objs[i]
	o.pins--
	if o.pins == 0 {
		s.st.Pinned -= allocSize(o.size)
		if !s.dropIfDone(i) && !o.spilling && o.inMemory() {
			s.lruPush(i)
		}
		s.broadcast()
	}
	s.mu.Unlock()
}

// Cache keeps a sealed object after its last reference as a cached
// copy, where Delete would drop it: it stays readable until memory runs
// short, when it is dropped rather than spilled. A Pin makes it an
// ordinary object again, which its reader's node deletes or caches in
// turn; a PinForPeer does not. A node keeps the copies it pulled from
// other nodes this way, for the next task that needs them. A pinned
// object (a peer reading it) is cached once its last pin goes; one
// being written, with a spill file, or being spilled or restored is
// deleted instead.
func (s *Store) Cache(id ID) { s.letGo(id, true) }

// Delete drops the object: core calls it when the last reference is
// gone. Memory and spill file are freed now, or when the last pin is
// released, the writer seals or aborts, or a spill or restore in flight
// ends. From now on the ID reads as unknown (Pin: ErrNotFound); it can be
// created again once the object is gone.
func (s *Store) Delete(id ID) { s.letGo(id, false) }

// letGo is Delete, or Cache if cache.
func (s *Store) letGo(id ID, cache bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	i, ok := s.index.get(s.objs, &id)
	if !ok {
		return
	}
	o := &s.objs[i]
	if cache && o.state == stSealed && !o.onDisk && !o.spilling && !o.restoring && o.inMemory() {
		o.cached = true
		return
	}
	o.deleted = true
	s.dropIfDone(i)
}
