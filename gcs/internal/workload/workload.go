package workload

import "fmt"

// The paper's sizes, and how many distinct keys a benchmark cycles over
// (a power of two, so an index is masked rather than divided).
const (
	KeySize   = 25
	ValueSize = 512
	NumKeys   = 1 << 16
)

// Keys returns NumKeys distinct keys of KeySize bytes.
func Keys() [][]byte {
	keys := make([][]byte, NumKeys)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%021d", i)[:KeySize]
	}
	return keys
}

// Mix is a benchmark's share of writes: Writes of every 2 operations.
type Mix struct {
	Name   string
	Writes int
}

// Mixes are the mixes every GCS benchmark runs: all puts, all gets, and
// half of each.
var Mixes = []Mix{{"put", 2}, {"get", 0}, {"mixed", 1}}
