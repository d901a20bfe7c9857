package shm

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// MapReadOnly maps the same memory a second time, read-only, with its own
// duplicate of the file: slices of it can be handed to code that must not
// write them (a write faults instead of corrupting shared data). Close the
// two Segments independently.
func (s *Segment) MapReadOnly() (*Segment, error) {
	fd, err := unix.Dup(int(s.f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("shm: cannot map %s read-only: dup: %w", s.f.Name(), err)
	}
	unix.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), s.f.Name())
	size := len(s.Bytes())
	data, err := unix.Mmap(fd, 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: cannot map %s read-only: mmap %d bytes: %w", s.f.Name(), size, err)
	}
	return &Segment{f: f, data: data}, nil
}
