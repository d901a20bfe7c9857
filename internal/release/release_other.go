//go:build race || !amd64

package release

import "sync/atomic"

// Store32 stores v at addr, ordered after every store before it; readers
// load addr with atomic.LoadUint32.
func Store32(addr *uint32, v uint32) { atomic.StoreUint32(addr, v) }

// Store64 stores v at addr, ordered after every store before it; readers
// load addr with atomic.LoadUint64.
func Store64(addr *uint64, v uint64) { atomic.StoreUint64(addr, v) }
