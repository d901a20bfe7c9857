package gcs

import (
	"errors"
	"fmt"

	"manta/gcs/segment"
)

// OpKind says what a write does to its key.
type OpKind uint8

// Write operations. Which ones a table takes depends on its TableKind.
const (
	// OpPut replaces the value of a key in a value table.
	OpPut OpKind = iota + 1
	// OpDelete removes a key and everything under it, in any table.
	OpDelete
	// OpAppend appends a member to a key's log in a log table.
	OpAppend
	// OpAdd adds a member to a key's set in a set table, if absent.
	OpAdd
	// OpRemove removes a member from a key's set in a set table.
	OpRemove
	opEnd
	// OpResync is never written: a Subscription delivers it in place of
	// the notifications it had to drop (the subscriber fell too far
	// behind, or its server changed) and the subscriber should re-read
	// what it watches.
	OpResync OpKind = 255
)

var opNames = [opEnd]string{"", "put", "delete", "append", "add", "remove"}

// Valid reports whether k is one of the write operations (OpResync is
// not: nothing writes it).
func (k OpKind) Valid() bool { return k > 0 && k < opEnd }

// String is the operation's name ("put", "resync").
func (k OpKind) String() string {
	if k.Valid() {
		return opNames[k]
	}
	if k == OpResync {
		return "resync"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Op is one write: the Kind of change to Key in Table. Value is the new
// value (OpPut) or the member (OpAppend, OpAdd, OpRemove); OpDelete has
// none.
type Op struct {
	Kind  OpKind
	Table Table
	Key   []byte
	Value []byte
}

// Limits bound what one write may carry. Zero fields take the defaults.
type Limits struct {
	MaxKey   int // bytes in a key; default 1 KiB
	MaxValue int // bytes in a value or member; default 4 MiB
	MaxEntry int // bytes under one key of a log or set table; default 64 MiB
}

// Default limits.
const (
	DefaultMaxKey   = 1 << 10
	DefaultMaxValue = 4 << 20
	DefaultMaxEntry = 64 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxKey <= 0 {
		l.MaxKey = DefaultMaxKey
	}
	if l.MaxValue <= 0 {
		l.MaxValue = DefaultMaxValue
	}
	if l.MaxEntry <= 0 {
		l.MaxEntry = DefaultMaxEntry
	}
	return l
}

// Errors. Every error the package returns for these conditions wraps one of
// them; test with errors.Is.
var (
	// ErrBadOp: the operation does not exist or does not fit its table.
	ErrBadOp = errors.New("gcs: bad operation")
	// ErrTooLarge: a key, value or entry is over its limit (the message
	// names the limit).
	ErrTooLarge = errors.New("gcs: too large")
	// ErrClosed: the store or client was closed.
	ErrClosed = errors.New("gcs: closed")
	// ErrCorrupt: a flush segment failed its checksum or is malformed.
	ErrCorrupt = segment.ErrCorrupt
	// ErrUnavailable: no replica could take the request before the
	// deadline; a write that fails with it may or may not have been
	// applied (retrying it is safe: writes are deduplicated).
	ErrUnavailable = errors.New("gcs: unavailable")
)

// check validates op against lim (which must have its defaults filled).
func (op *Op) check(lim *Limits) error {
	if !op.Table.Valid() {
		return fmt.Errorf("%w: unknown table %d", ErrBadOp, uint8(op.Table))
	}
	if len(op.Key) == 0 {
		return fmt.Errorf("%w: empty key in %v", ErrBadOp, op.Table)
	}
	if len(op.Key) > lim.MaxKey {
		return fmt.Errorf("%w: key of %d bytes exceeds the limit of %d bytes (MaxKey)", ErrTooLarge, len(op.Key), lim.MaxKey)
	}
	if len(op.Value) > lim.MaxValue {
		return fmt.Errorf("%w: value of %d bytes exceeds the limit of %d bytes (MaxValue)", ErrTooLarge, len(op.Value), lim.MaxValue)
	}
	kind := op.Table.Kind()
	ok := false
	switch op.Kind {
	case OpPut:
		ok = kind == KindValue
	case OpDelete:
		ok = len(op.Value) == 0
	case OpAppend:
		ok = kind == KindLog
	case OpAdd, OpRemove:
		ok = kind == KindSet
	}
	if !ok {
		return fmt.Errorf("%w: %v on %s table %v", ErrBadOp, op.Kind, kind, op.Table)
	}
	return nil
}
