package segment

// bloom is a Bloom filter over key hashes, kept in memory for each flush
// segment so that a read of a key that was never flushed touches no disk.
// Ten bits per key and seven probes give about 1% false positives.
type bloom struct {
	bits []uint64
}

const (
	bloomBitsPerKey = 10
	bloomProbes     = 7
)

func newBloom(keys int) bloom {
	n := max(keys*bloomBitsPerKey, 64)
	return bloom{bits: make([]uint64, (n+63)/64)}
}

func (b *bloom) add(h uint64) {
	m := uint64(len(b.bits) * 64)
	delta := h>>33 | h<<31 | 1
	for range bloomProbes {
		i := h % m
		b.bits[i/64] |= 1 << (i % 64)
		h += delta
	}
}

func (b *bloom) mayContain(h uint64) bool {
	m := uint64(len(b.bits) * 64)
	if m == 0 {
		return false
	}
	delta := h>>33 | h<<31 | 1
	for range bloomProbes {
		i := h % m
		if b.bits[i/64]&(1<<(i%64)) == 0 {
			return false
		}
		h += delta
	}
	return true
}

func (b *bloom) bytes() int64 { return int64(len(b.bits) * 8) }
