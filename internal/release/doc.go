// Package release stores a word with release order only, for a field one
// goroutine writes and others read with sync/atomic's loads without a
// lock: a ring's head after the slot it publishes.
//
// On amd64 a store is a plain MOV, which the processor never lets pass
// the stores before it; sync/atomic's Store is an XCHG, which also waits
// for every earlier store to leave the store buffer: tens of nanoseconds
// after a burst of stores to cold memory. Elsewhere, and under the race
// detector (which must see the store to order the loads after it), the
// functions are sync/atomic's.
//
//	release.Store64(&ring.head, h+1) // readers: atomic.LoadUint64(&ring.head)
package release
