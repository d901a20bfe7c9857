package flock

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrHeld is wrapped by the error of a lock another open file holds.
var ErrHeld = errors.New("flock: held by another")

// Open opens path (a file or a directory) read-only and takes an
// exclusive lock on it: at once, failing with ErrHeld if another holds it,
// or with wait once the holder lets go. The lock lasts until the file is
// closed, or its process ends.
func Open(path string, wait bool) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := Lock(f, wait); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Lock takes an exclusive lock on f, as Open does: a file just created
// is locked this way before others can find it under its final name.
func Lock(f *os.File, wait bool) error {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	err := syscall.Flock(int(f.Fd()), how)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("%w: %s", ErrHeld, f.Name())
	}
	if err != nil {
		return fmt.Errorf("flock: lock %s: %w", f.Name(), err)
	}
	return nil
}
