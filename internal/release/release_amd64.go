//go:build !race

package release

// Store32 stores v at addr, ordered after every store before it; readers
// load addr with atomic.LoadUint32.
//
//go:noescape
func Store32(addr *uint32, v uint32)

// Store64 stores v at addr, ordered after every store before it; readers
// load addr with atomic.LoadUint64.
//
//go:noescape
func Store64(addr *uint64, v uint64)
