package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// A spill file holds one sealed object: its header as it would be in
// memory (with offset 0), the data, and a CRC-32C of both as a 4-byte
// little-endian trailer. It is written to a temporary name and renamed
// into place, so a file under its final name is always complete; a
// failed write removes the temporary file. A restored object keeps its
// file: evicting it again costs no write. Not fsynced: spill files do
// not outlive the store.
const spillTrailer = 4

// spillFile is what spilling needs of an *os.File.
type spillFile interface {
	io.Writer
	Close() error
}

func createOSFile(name string) (spillFile, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
}

// spillPath names object id's spill file. Called with s.mu held.
func (s *Store) spillPath(id ID) string { return filepath.Join(s.spillDir, id.String()) }

// ensureSpillDir makes the spill directory on first use. Called with
// s.mu held: it happens once.
func (s *Store) ensureSpillDir() error {
	if s.spillDir != "" {
		return nil
	}
	if s.configDir == "" {
		dir, err := os.MkdirTemp("", fmt.Sprintf("manta-spill-%d-", os.Getpid()))
		if err != nil {
			return fmt.Errorf("cannot make a spill directory: %w", err)
		}
		s.spillDir, s.madeDir = dir, true
		return nil
	}
	if _, err := os.Stat(s.configDir); os.IsNotExist(err) {
		if err := os.MkdirAll(s.configDir, 0o700); err != nil {
			return fmt.Errorf("cannot make the spill directory: %w", err)
		}
		s.madeDir = true
	}
	s.spillDir = s.configDir
	return nil
}

// evict frees object i's memory, spilling it first unless that needs no
// write. Called with s.mu held; spilling releases it.
func (s *Store) evict(i int32) error {
	if s.freeUnwritten(i) {
		return nil
	}
	return s.spill(i)
}

// freeUnwritten frees object i's memory if that needs no write: a cached
// copy is dropped, and an object whose spill file holds it keeps only
// the file. It reports whether it did. Called with s.mu held.
func (s *Store) freeUnwritten(i int32) bool {
	switch o := &s.objs[i]; {
	case o.cached:
		s.st.CachedDropped++
		s.drop(i)
	case o.onDisk:
		s.st.Evicted++
		s.st.EvictedBytes += o.size
		s.freeMemory(i)
	default:
		return false
	}
	return true
}

// evictUnwritten makes room for need bytes after a spill failed: it
// frees, least recently used first, the objects whose memory goes
// without a write, if together with the free bytes they may be enough,
// and returns the block it then allocates, or noBlock. Called with s.mu
// held; it is not released.
func (s *Store) evictUnwritten(need int64) int32 {
	if blk := s.alloc.alloc(need); blk != noBlock {
		return blk // freed while the spill was written
	}
	avail := s.alloc.free
	for i := s.lruTail; i != noObject; i = s.objs[i].lruPrev {
		if o := &s.objs[i]; o.cached || o.onDisk {
			avail += allocSize(o.size)
		}
	}
	if avail < need {
		return noBlock // freeing them would not help: keep them
	}
	for i := s.lruTail; i != noObject; {
		prev := s.objs[i].lruPrev // i's record goes if it is dropped
		if s.freeUnwritten(i) {
			if blk := s.alloc.alloc(need); blk != noBlock {
				return blk
			}
		}
		i = prev
	}
	return noBlock
}

// spill writes object i (sealed, in the LRU list) to disk without
// holding s.mu, then frees its memory unless it was pinned meanwhile.
// On error the object stays in memory as the least recently used.
func (s *Store) spill(i int32) error {
	o := &s.objs[i]
	if err := s.ensureSpillDir(); err != nil {
		return fmt.Errorf("cannot spill object %v: %w", o.id, err)
	}
	s.lruRemove(i)
	o.spilling = true
	n := allocSize(o.size)
	s.spillBytes += n
	s.io++
	id, size := o.id, o.size
	off := s.offset(i)
	data := s.mem[off+HeaderSize : off+HeaderSize+size]
	path := s.spillPath(id)

	s.mu.Unlock()
	err := s.writeSpill(path, id, data)
	s.mu.Lock()

	s.io--
	s.spillBytes -= n
	o = &s.objs[i]
	o.spilling = false
	defer s.broadcast()
	if err != nil {
		s.st.SpillErrors++
		if !s.dropIfDone(i) && o.pins == 0 {
			s.lruPushBack(i)
		}
		return fmt.Errorf("cannot spill object %v of %d bytes: %w", id, size, err)
	}
	o.onDisk = true
	if s.spilled != nil {
		s.spilled(id, size)
	}
	s.st.Spilled++
	s.st.SpilledBytes += size
	s.st.SpillWrites++
	s.st.SpillWriteBytes += size
	if s.dropIfDone(i) || o.pins > 0 {
		return nil // deleted, or pinned while it was written: stays in memory
	}
	s.st.Evicted++
	s.st.EvictedBytes += size
	s.freeMemory(i)
	return nil
}

// writeSpill writes one spill file; on any error no file is left.
func (s *Store) writeSpill(path string, id ID, data []byte) (err error) {
	tmp := path + ".tmp"
	f, err := s.createFile(tmp)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	hdr := make([]byte, HeaderSize+spillTrailer)
	putHeader(hdr[:HeaderSize], 0, id, int64(len(data)), true)
	crc := crc32.Update(crc32.Checksum(hdr[:HeaderSize], castagnoli), castagnoli, data)
	binary.LittleEndian.PutUint32(hdr[HeaderSize:], crc)
	if _, err = f.Write(hdr[:HeaderSize]); err == nil {
		if _, err = f.Write(data); err == nil {
			_, err = f.Write(hdr[HeaderSize:])
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// removeSpill deletes object i's spill file. Called with s.mu held.
func (s *Store) removeSpill(i int32) {
	o := &s.objs[i]
	os.Remove(s.spillPath(o.id))
	o.onDisk = false
	s.st.Spilled--
	s.st.SpilledBytes -= o.size
}

// restore reads object i back from its spill file into block blk,
// verifies it and pins it. Called with s.mu held; released during I/O.
func (s *Store) restore(i, blk int32, claim bool) (Slot, error) {
	o := &s.objs[i]
	o.blk = blk
	o.restoring = true
	s.io++
	need := allocSize(o.size)
	s.st.Used += need
	id, size := o.id, o.size
	off := s.alloc.blocks[blk].off
	clear(s.mem[off : off+HeaderSize]) // no stale header while the data arrives
	dst := s.mem[off+HeaderSize : off+HeaderSize+size]
	path := s.spillPath(id)

	s.mu.Unlock()
	err := s.readSpill(path, id, dst)
	s.mu.Lock()

	s.io--
	o = &s.objs[i]
	o.restoring = false
	defer s.broadcast() // for Pins waiting on this restore, or for memory
	if err != nil {
		s.alloc.release(blk)
		o.blk = noBlock
		s.st.Used -= need
		if !errors.Is(err, ErrLost) {
			// The file may be intact: keep it, and the object on disk.
			s.dropIfDone(i)
			return Slot{}, fmt.Errorf("store: cannot restore object %v: %w: %w", id, ErrIO, err)
		}
		s.removeSpill(i)
		if !s.dropIfDone(i) {
			o.state = stLost
			s.st.Lost++
		}
		return Slot{}, fmt.Errorf("store: cannot restore object %v: %w", id, err)
	}
	putHeader(s.mem[off:off+HeaderSize], off, id, size, true)
	if s.restored != nil {
		s.restored(id, size)
	}
	s.st.InMemory++
	s.st.Restores++
	s.st.RestoreBytes += size
	if s.dropIfDone(i) {
		return Slot{}, fmt.Errorf("store: cannot pin object %v: %w", id, ErrNotFound)
	}
	s.pinLocked(i, claim)
	return s.slot(i), nil
}

// readSpill reads the spill file of object id into dst and checks its
// length, header and checksum. A file missing, of the wrong length or
// failing those checks gives an error wrapping ErrLost; any other (too
// many open files, a failing disk) may pass, and leaves the file alone.
func (s *Store) readSpill(path string, id ID, dst []byte) error {
	f, err := s.openFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrLost, err)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if want := int64(HeaderSize + len(dst) + spillTrailer); fi.Size() != want {
		return fmt.Errorf("%w: spill file %s has %d bytes, want %d", ErrLost, path, fi.Size(), want)
	}
	buf := make([]byte, HeaderSize+spillTrailer)
	if err := readFull(f, path, buf[:HeaderSize]); err != nil {
		return err
	}
	h, ok := parseHeader(buf[:HeaderSize])
	if !ok || h.id != id || h.size != int64(len(dst)) || !h.sealed {
		return fmt.Errorf("%w: spill file %s: bad header", ErrLost, path)
	}
	if err := readFull(f, path, dst); err != nil {
		return err
	}
	if err := readFull(f, path, buf[HeaderSize:]); err != nil {
		return err
	}
	crc := crc32.Update(crc32.Checksum(buf[:HeaderSize], castagnoli), castagnoli, dst)
	if got := binary.LittleEndian.Uint32(buf[HeaderSize:]); got != crc {
		return fmt.Errorf("%w: spill file %s: checksum %08x, want %08x", ErrLost, path, got, crc)
	}
	return nil
}

// readFull fills b from the spill file f at path: a file that ends early
// (truncated since its length was checked) wraps ErrLost.
func readFull(f io.Reader, path string, b []byte) error {
	_, err := io.ReadFull(f, b)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: spill file %s: %w", ErrLost, path, err)
	case err != nil:
		return fmt.Errorf("spill file %s: %w", path, err)
	}
	return nil
}
