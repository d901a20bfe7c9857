// Package faulttest lets tests check that touching memory faults, as
// released shared memory must: Faults runs f with faults turned into
// panics (runtime/debug.SetPanicOnFault) and reports whether f faulted.
//
//	if !faulttest.Faults(func() { _ = revoked[0] }) { t.Error("still readable") }
package faulttest

import "runtime/debug"

// Faults reports whether f faulted. f should touch memory in a way the
// compiler cannot drop (store the value read somewhere).
func Faults(f func()) (faulted bool) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() { faulted = recover() != nil }()
	f()
	return false
}
