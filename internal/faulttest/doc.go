// Package faulttest lets tests check that touching memory faults, as
// released shared memory must: Faults runs f with faults turned into
// panics (runtime/debug.SetPanicOnFault) and reports whether f faulted.
//
//	if !faulttest.Faults(func() { _ = revoked[0] }) { t.Error("still readable") }
package faulttest
