package core

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"manta/cluster"
	"manta/internal/flock"
)

// spillDirs is the directory, under the machine's state directory
// (cluster.StateDir), that holds the nodes' default spill directories.
const spillDirs = "spill"

// spillDir is a node's default spill directory (when Config.SpillDir is
// unset), locked with flock for as long as the node runs. A node removes
// its own at Shutdown; one that was killed cannot, and the lock, which
// dies with its process, tells the next node started on the machine that
// the directory is nobody's (whoever made $MANTA_DIR, a test or manta
// chaos, removes them with it too). A lock rather than the process ID:
// a process of another PID namespace sharing the directory is not seen.
type spillDir struct {
	path string
	lock *os.File
}

// openSpillDir removes the spill directories of nodes that are gone and
// makes and locks this node's, spill/<pid>-<random>.
func openSpillDir() (*spillDir, error) {
	parent := filepath.Join(cluster.StateDir(), spillDirs)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("manta: spill directory: %w", err)
	}
	// Holding the parent's lock, no other node sweeps between this
	// node's making its directory and locking it.
	p, err := flock.Open(parent, true)
	if err != nil {
		return nil, fmt.Errorf("manta: spill directory: %w", err)
	}
	defer p.Close()
	sweepSpillDirs(parent)
	path, err := os.MkdirTemp(parent, strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("manta: spill directory: %w", err)
	}
	lock, err := flock.Open(path, false)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("manta: spill directory: %w", err)
	}
	return &spillDir{path: path, lock: lock}, nil
}

// remove removes the directory and what is left in it, then lets go of
// its lock.
func (d *spillDir) remove() error {
	err := os.RemoveAll(d.path)
	d.lock.Close()
	return err
}

// sweepSpillDirs removes each directory in parent whose lock it can take:
// its node is gone. Errors are ignored: a directory left costs disk, not
// correctness.
func sweepSpillDirs(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(parent, e.Name())
		f, err := flock.Open(path, false)
		if err != nil {
			continue // a live node's, or unreadable
		}
		os.RemoveAll(path)
		f.Close()
	}
}
