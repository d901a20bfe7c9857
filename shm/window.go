package shm

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Window is memory handed to user code with a lifetime it cannot see: a
// private, copy-on-write mapping of part of a segment (MapWindow), or
// private anonymous memory (NewWindow). Reads of a segment window see the
// segment's bytes without a copy; writes land in pages of this process
// alone and never reach the segment.
//
// Revoke ends the lifetime for good: the range becomes inaccessible, so a
// slice that outlived it faults on its next use (a crash, or a panic with
// runtime/debug.SetPanicOnFault) instead of reading memory that was reused
// for something else. The address range is never handed out again: it
// stays reserved, costing address space but no memory.
type Window struct {
	mu   sync.Mutex
	mem  []byte // the whole mapping, page aligned; nil for an empty window
	data []byte // the bytes asked for, inside mem
}

var pageSize = os.Getpagesize()

// MapWindow maps bytes [off, off+n) of s privately; the caller must keep
// them unchanged in the segment until Revoke (the store does, by pinning
// the object). Pages are mapped as they are touched.
func (s *Segment) MapWindow(off, n int) (*Window, error) {
	size := len(s.Bytes())
	if off < 0 || n < 0 || off > size || n > size-off {
		return nil, fmt.Errorf("shm: cannot map window %d+%d of a %d-byte segment: out of range", off, n, size)
	}
	if n == 0 {
		return &Window{data: []byte{}}, nil
	}
	base := off &^ (pageSize - 1)
	length := roundPages(off + n - base)
	p, err := unix.MmapPtr(int(s.f.Fd()), int64(base), nil, uintptr(length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("shm: cannot map window %d+%d: mmap: %w", off, n, err)
	}
	mem := unsafe.Slice((*byte)(p), length)
	return &Window{mem: mem, data: mem[off-base : off-base+n : off-base+n]}, nil
}

// NewWindow returns a Window of n zeroed bytes of private anonymous memory,
// page aligned, for values that are not in a segment.
func NewWindow(n int) (*Window, error) {
	if n < 0 {
		return nil, fmt.Errorf("shm: cannot make a window of %d bytes", n)
	}
	if n == 0 {
		return &Window{data: []byte{}}, nil
	}
	length := roundPages(n)
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("shm: cannot make a window of %d bytes: mmap: %w", n, err)
	}
	mem := unsafe.Slice((*byte)(p), length)
	return &Window{mem: mem, data: mem[:n:n]}, nil
}

func roundPages(n int) int { return (n + pageSize - 1) &^ (pageSize - 1) }

// Bytes returns the window's memory; after Revoke, touching it faults.
func (w *Window) Bytes() []byte { return w.data }

// Revoke makes the window inaccessible from now on and frees what it
// held (pages of the segment are only unmapped, never freed). Calling it
// again does nothing. If it fails the window is still mapped, and the
// segment's bytes under it must stay as they are.
func (w *Window) Revoke() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mem == nil {
		return nil
	}
	// MAP_FIXED replaces the mapping in one step, so no other mapping can
	// take the range in between; anonymous PROT_NONE ranges merge with
	// their neighbours, so revoked windows do not pile up kernel mappings.
	_, err := unix.MmapPtr(-1, 0, unsafe.Pointer(&w.mem[0]), uintptr(len(w.mem)), unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED|unix.MAP_NORESERVE)
	if err != nil {
		// Still mapped: the caller must keep the bytes where they are.
		return fmt.Errorf("shm: cannot revoke window: mmap: %w", err)
	}
	w.mem = nil
	return nil
}
