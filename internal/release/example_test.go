package release_test

import (
	"fmt"
	"sync/atomic"

	"manta/internal/release"
)

// A writer publishes a slot by storing the count after it; a reader that
// loads the count may read every slot below it.
func Example() {
	var slots [4]int
	var count uint64
	slots[0] = 42
	release.Store64(&count, 1)
	n := atomic.LoadUint64(&count)
	fmt.Println(n, slots[:n])
	// Output: 1 [42]
}
