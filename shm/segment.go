package shm

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Segment is a shared-memory region backed by an anonymous memfd file.
// The creator makes it with NewSegment and hands File to a child process
// (exec.Cmd.ExtraFiles); the child maps the same memory with MapSegment.
type Segment struct {
	mu   sync.Mutex
	f    *os.File
	data []byte
}

// NewSegment creates a memfd named name (the name is only a debugging aid,
// visible in /proc/PID/fd), sizes it to size bytes and maps it shared.
// The memory starts zeroed and page aligned.
func NewSegment(name string, size int) (*Segment, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shm: cannot create segment %q: size %d is not positive", name, size)
	}
	// MFD_CLOEXEC keeps the fd from leaking into unrelated children;
	// ExtraFiles dups it without the flag for the children meant to have it.
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("shm: cannot create segment %q: memfd_create: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: cannot create segment %q: ftruncate to %d bytes: %w", name, size, err)
	}
	s, err := mapFile(f, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: cannot create segment %q: %w", name, err)
	}
	return s, nil
}

// MapSegment maps the whole of f, a segment file received from the
// creating process (in a child started with ExtraFiles, os.NewFile(3, name)).
// The Segment takes ownership of f: Close closes it.
func MapSegment(f *os.File) (*Segment, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("shm: cannot map segment %s: %w", f.Name(), err)
	}
	size := fi.Size()
	if size <= 0 || int64(int(size)) != size {
		return nil, fmt.Errorf("shm: cannot map segment %s: unusable size %d", f.Name(), size)
	}
	s, err := mapFile(f, int(size))
	if err != nil {
		return nil, fmt.Errorf("shm: cannot map segment %s: %w", f.Name(), err)
	}
	return s, nil
}

func mapFile(f *os.File, size int) (*Segment, error) {
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %d bytes: %w", size, err)
	}
	return &Segment{f: f, data: data}, nil
}

// Bytes returns the mapped memory; nil after Close. Rings and doorbells
// placed in it must not be used after Close.
func (s *Segment) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// File returns the memfd backing the segment, to pass to a child process.
func (s *Segment) File() *os.File { return s.f }

// Close unmaps the memory and closes the file. Every Ring and Doorbell call
// on the memory must have returned first (a goroutine still inside one
// would fault). Calling it again does nothing.
func (s *Segment) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		return nil
	}
	errUnmap := unix.Munmap(s.data)
	s.data = nil
	errClose := s.f.Close()
	if errUnmap != nil {
		return fmt.Errorf("shm: cannot close segment: munmap: %w", errUnmap)
	}
	if errClose != nil {
		return fmt.Errorf("shm: cannot close segment: %w", errClose)
	}
	return nil
}
