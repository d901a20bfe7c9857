// Package wire holds manta's identifiers and the binary messages exchanged
// between a node manager and the processes it serves (workers, and later
// other nodes).
//
// Every message is a kind byte followed by fields in a fixed order:
// unsigned varints for integers, a varint length before byte strings, and
// IDs as fixed-width little-endian words. Encoders append to a caller's
// buffer (VictoriaMetrics-style `dst []byte` in, `dst` out) so a hot path
// can reuse one buffer and allocate nothing. Decoders read into a message
// value the caller reuses; byte fields alias the input buffer, so a decoded
// message is valid only while that buffer is.
//
// Bytes handed to a decoder come from another process and may be
// malformed: decoders return ErrMalformed (wrapped with what was wrong)
// and never panic; the fuzz targets in this package hold them to that.
//
// IDs carry their origin: a TaskID is derived from its parent task's ID
// and the child's index (TaskID.Child), and an ObjectID is a TaskID plus
// the index of the value it names, as in Ray's ObjectID::FromIndex. A
// re-executed task therefore creates children with the same IDs.
package wire
