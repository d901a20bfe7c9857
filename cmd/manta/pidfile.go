package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"manta/internal/flock"
)

// A head or node holds an flock on its pid file for as long as it runs:
// the lock dies with the process, so `manta stop` signals a PID only
// while its lock is held, never a process that reused the PID of one
// that was killed without removing its file.

// createPidFile makes and locks dir/ROLE-PID for this process. The file
// is locked under a temporary name and renamed into place, so stop never
// finds it unlocked while this process runs. A head refuses to start
// while another head's file is locked: it would overwrite the first's
// token and address and cut its cluster off from this machine.
func createPidFile(dir, role string) (*os.File, error) {
	// Holding dir's lock, no other head starts between the check and
	// this one's file.
	d, err := flock.Open(dir, true)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if role == "head" {
		if pid, err := runningHead(dir); err != nil || pid > 0 {
			return nil, cmp.Or(err, fmt.Errorf("a head (pid %d) runs already with state directory %s: stop it with manta stop, or set MANTA_DIR to another directory", pid, filepath.Dir(dir)))
		}
	}
	f, err := os.CreateTemp(dir, ".pid-")
	if err != nil {
		return nil, err
	}
	if err := flock.Lock(f, false); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, pidFileName(role, os.Getpid()))); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// runningHead returns the PID of a head whose pid file in dir is locked,
// or 0 for none.
func runningHead(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		role, pid, ok := parsePidFileName(e.Name())
		if !ok || role != "head" {
			continue
		}
		if held, err := pidFileHeld(filepath.Join(dir, e.Name())); err != nil || held {
			return pid, err
		}
	}
	return 0, nil
}

// removePidFile removes this process's pid file, then lets go of its lock.
func removePidFile(f *os.File, dir, role string) {
	os.Remove(filepath.Join(dir, pidFileName(role, os.Getpid())))
	f.Close()
}

func pidFileName(role string, pid int) string { return role + "-" + strconv.Itoa(pid) }

// parsePidFileName returns the role and PID of a name createPidFile
// makes, "head-123" or "node-123", and false for any other name: a PID
// of 0 or less would signal a process group or every process.
func parsePidFileName(name string) (role string, pid int, ok bool) {
	role, pidText, ok := strings.Cut(name, "-")
	if !ok || (role != "head" && role != "node") {
		return "", 0, false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || pidText != strconv.Itoa(pid) {
		return "", 0, false
	}
	return role, pid, true
}

// pidFileHeld says whether the process that made path still holds its
// lock. It removes a file nobody holds (its process is gone) and returns
// false, as it does for a file that is not there.
func pidFileHeld(path string) (bool, error) {
	f, err := flock.Open(path, false)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case errors.Is(err, flock.ErrHeld):
		return true, nil
	case err != nil:
		return false, err
	}
	defer f.Close()
	// Remove it only if it is still the file locked: a new process of the
	// same PID may have renamed its own into place meanwhile.
	locked, err1 := f.Stat()
	named, err2 := os.Stat(path)
	if err1 == nil && err2 == nil && os.SameFile(locked, named) {
		os.Remove(path)
	}
	return false, nil
}
