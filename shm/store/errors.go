package store

import "errors"

// Sentinel errors. Returned errors wrap them with the object and sizes
// involved; test with errors.Is.
var (
	// ErrExists: Create for an ID the store already holds.
	ErrExists = errors.New("store: object exists")
	// ErrNotFound: the ID is unknown or was deleted.
	ErrNotFound = errors.New("store: no such object")
	// ErrTooLarge: the object (with its header) exceeds the whole capacity;
	// no amount of waiting or spilling can store it.
	ErrTooLarge = errors.New("store: object larger than the store")
	// ErrFull: no room could be made in time, because what is in memory is
	// pinned or still being written; or it could be made only by spilling
	// and spill files cannot be written (a full disk; the write's error is
	// wrapped too); or another Pin's restore of the object did not finish
	// in time. Nothing stored is lost.
	ErrFull = errors.New("store: full")
	// ErrSealed: the object is already sealed (Seal twice, Writable after
	// Seal).
	ErrSealed = errors.New("store: object sealed")
	// ErrNotSealed: the object is still being written (Pin, Bytes).
	ErrNotSealed = errors.New("store: object not sealed")
	// ErrLost: the only copy was on disk and could not be read back intact
	// (missing, truncated or failing its checksum). The bytes are gone:
	// the node runs the object's task again from lineage where it can
	// (else readers get ErrObjectLost). Create with the same ID replaces
	// the record, so that re-run stores it again.
	ErrLost = errors.New("store: object lost")
	// ErrIO: a spill file could not be read for a reason that may pass
	// (too many open files, an I/O error, permissions). The file and the
	// object are kept, so a later Pin may read it back; the error wraps
	// the system's.
	ErrIO = errors.New("store: spill file I/O failed")
	// ErrCorrupt: an object header in shared memory is inconsistent, or a
	// Slot does not point at one. Shared memory is writable by every
	// worker, so this is reported, never trusted.
	ErrCorrupt = errors.New("store: corrupt object header")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)
