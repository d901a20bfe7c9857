// Package segment keeps what a GCS shard flushes out of memory: segments,
// files of records written once and then only read, in which every
// record, index entry and footer carries a CRC32C, so that a corrupt file
// is reported (ErrCorrupt) and never served.
//
// A Flusher owns one shard's segments. The shard tells it how much memory
// its flushable entries take (Account); once that is over the cap (Due)
// the shard hands it the oldest entries as Records (Write), which go into
// a new segment, and drops them from memory. A read first asks
// MayContain, which consults a Bloom filter per segment held in memory
// (about 1.2 bytes per record, 1% false positives), and only then Lookup,
// which binary-searches each candidate segment's index on disk, newest
// first. A Tomb record hides older versions of its key; a Partial record
// is a log whose older members are in older segments, and Lookup joins
// them.
//
// For state transfer, Segments lists the segments and each one's bytes
// (AppendTo) travel as they are; the receiver adds them to its own
// Flusher (Load) or reads them into memory (Parse, then Scan).
//
// The package knows nothing of tables or hashing: a record's table is a
// byte (never 0) and its hash is the caller's.
package segment
