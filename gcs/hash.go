package gcs

// keyHash is a 64-bit hash of a table and key, the same in every process
// and on every platform (shard placement and segment indexes depend on it):
// FNV-1a over the table byte and the key, then a final avalanche so that
// the low bits used for the shard number are well mixed.
func keyHash(t Table, key []byte) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	h ^= uint64(t)
	h *= prime
	for _, c := range key {
		h ^= uint64(c)
		h *= prime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// ShardOf is the shard, of n, that holds key in table t. Every process
// computes the same placement.
func ShardOf(t Table, key []byte, n int) int {
	if n <= 1 {
		return 0
	}
	return int(keyHash(t, key) % uint64(n))
}
