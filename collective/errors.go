package collective

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error a collective returns is an *Error wrapping
// one of these (or the context's error, when the caller's own context
// ended), so callers test them with errors.Is.
var (
	// ErrMemberLost: a member of the group died (its process or node was
	// lost, or it was killed). Every other member gets it, in the
	// operation in flight and in every later one: the group cannot be used
	// again; create another.
	ErrMemberLost = errors.New("collective: a member of the group was lost")
	// ErrMismatch: the members called the collective with different
	// arguments (buffer lengths, operation, reduction or root). Every
	// member gets it for that operation; the group stays usable.
	ErrMismatch = errors.New("collective: members disagree on the call")
	// ErrAborted: another member gave the operation up (its context ended
	// or its call was invalid); Error.Rank names it. The group stays
	// usable.
	ErrAborted = errors.New("collective: another member abandoned the operation")
	// ErrClosed: the group was destroyed, or a member left it.
	ErrClosed = errors.New("collective: the group is closed")
	// ErrNoGroup: this process is not a member of a group of that name.
	ErrNoGroup = errors.New("collective: no such group in this process")
	// ErrInvalid: the call cannot be right at this member alone (a root
	// out of range, a receive buffer of the wrong length).
	ErrInvalid = errors.New("collective: invalid argument")
)

// Error is the error of a collective call: which group and operation,
// the rank whose failure it is (the lost member, the member that gave up,
// or this member), and why.
type Error struct {
	Group string
	// Op names the collective ("allreduce").
	Op string
	// Rank is the member the failure is about.
	Rank int
	// Err is one of the sentinels, or the caller's context's error.
	Err error
	// Detail says more, when there is more to say.
	Detail string
}

// Error describes the failure.
func (e *Error) Error() string {
	s := fmt.Sprintf("collective: group %q", e.Group)
	if e.Op != "" {
		s += ", " + e.Op
	}
	s += fmt.Sprintf(", rank %d: %v", e.Rank, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel or context error.
func (e *Error) Unwrap() error { return e.Err }

// Error kinds as they travel between members in an abort message.
const (
	kindAborted = iota
	kindMismatch
	kindMemberLost
	kindClosed
)

func kindOf(err error) int {
	switch {
	case errors.Is(err, ErrMismatch):
		return kindMismatch
	case errors.Is(err, ErrMemberLost):
		return kindMemberLost
	case errors.Is(err, ErrClosed):
		return kindClosed
	}
	return kindAborted
}

func sentinelOf(kind int) error {
	switch kind {
	case kindMismatch:
		return ErrMismatch
	case kindMemberLost:
		return ErrMemberLost
	case kindClosed:
		return ErrClosed
	}
	return ErrAborted
}
