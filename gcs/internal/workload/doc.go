// Package workload is the GCS load of the Ray paper's measurements
// (§5.1): 25-byte keys and 512-byte values, in the mixes of reads and
// writes the benchmarks run. The benchmarks of the embedded store and of
// the replicated chain use it, so their numbers compare.
//
//	keys := workload.Keys()
//	value := make([]byte, workload.ValueSize)
//	for _, k := range keys { st.Put(ctx, gcs.KV, k, value) }
package workload
