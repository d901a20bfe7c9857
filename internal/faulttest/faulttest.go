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
