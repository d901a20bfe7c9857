// Package flock takes the advisory locks of flock(2) on files and
// directories, for state a process keeps on disk while it runs: the lock
// dies with the process, however it ends, so whoever finds a file whose
// lock it can take knows its owner is gone (a killed node's spill
// directory, a pid file whose PID another process may reuse). Unlike a
// process ID, a lock is also seen across PID namespaces sharing the
// directory.
//
//	f, err := flock.Open(dir, false) // a held lock: errors.Is(err, flock.ErrHeld)
//	...
//	f.Close() // lets go of it
package flock
