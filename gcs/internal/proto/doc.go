// Package proto is the wire protocol between the GCS's clients and its
// servers: the rpc methods, and the frames of requests and responses with
// their encoders and decoders (every decoder fails with gcs.ErrMalformed
// and has a fuzz target). gcs/client speaks it to replicas and the
// monitor, gcs/server answers it; the chain protocol's own messages are
// gcs/chain's.
//
// A batch of operations travels as one frame, and its response holds one
// Result per operation in order, unless the replica redirects the whole
// batch with the chain it knows (AppendRedirect): a write sent to a
// replica that is not the head, a read to one that is not the tail.
package proto
