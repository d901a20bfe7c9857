//go:build !race

package events

import (
	"sync/atomic"
	"unsafe"
)

// storeRelease stores v at addr with release order only: a plain MOV,
// which x86 never lets pass the stores before it, where atomic.Store's
// XCHG also waits for them to drain.
//
//go:noescape
func storeRelease(addr *uint64, v uint64)

// publish stores a ring's new head, which the flusher loads with
// atomic.Load, after the event stored before it. Under the race
// detector, which cannot see the store above order them, it is
// atomic.Store.
func publish(head *atomic.Uint64, v uint64) { storeRelease((*uint64)(unsafe.Pointer(head)), v) }
