// Package gcs is manta's Global Control Store: the control state of the
// cluster, as the Ray paper describes it, in sharded tables with pub-sub.
// This package holds the data model (tables, operations, records), the
// pub-sub, the API, and the embedded in-process Store; the replicated GCS
// is built on it in sub-packages:
//
//   - gcs/segment: flushing of task and lineage entries to checksummed
//     disk segments, and reading them back;
//   - gcs/chain: chain replication and membership (and node liveness) as
//     state machines without goroutines, clock or I/O;
//   - gcs/client: the client of a replicated GCS (Dial), another API;
//   - gcs/server: the replica and monitor servers, the head that runs
//     replicas as processes (`manta start --head`, `manta gcs`), and the
//     node watcher.
//
// # Tables
//
// Objects (a set of locations, each an encoded node and size, per object
// ID), Tasks (each task's specification and status: the lineage that
// reconstruction re-executes), Lineage (a log per object or task), Functions,
// Actors, Nodes, Heartbeats, Jobs, Events (the event log) and KV for the
// rest. A table is a value table (Put, Delete), a log table (Append,
// Delete) or a set table (Add, Remove, Delete): its TableKind. Get returns
// a value, or the members of a log or set (see Members). Keys are spread
// over S shards by ShardOf, a hash every process computes alike. Limits
// bound keys, values and entries, and the errors name the limit
// (ErrTooLarge). Every error wraps one of the package's sentinels (ErrBadOp,
// ErrTooLarge, ErrClosed, ErrCorrupt, ErrUnavailable, ErrMalformed): test
// with errors.Is.
//
// The records the GCS gives meaning to have encoders: ObjectLocation
// (members of Objects), NodeInfo (Nodes: address, alive or dead,
// resources) and ActorInfo (Actors: node, state, restarts).
//
// Subscribe watches a key or a whole table: every change applied after it
// returns is delivered, in order per shard, as a Notification (an object
// gets a location: OpAdd on Objects; a node dies: OpPut on Nodes; an actor
// moves: OpPut on Actors). A subscriber that falls too far behind, or whose
// server changed, gets OpResync and should re-read what it watches.
//
// # Embedded and replicated
//
// Open returns the embedded Store: S in-process Shards, no replication,
// each behind its own lock, meant for the driver's embedded cluster (which
// does not use the GCS yet). One shard does about 3.5 million 25-byte-key/512-byte-value
// operations per second on this 2-core machine, half writes and half reads
// (BenchmarkEmbeddedShard, 0 allocations).
//
// The replicated GCS (gcs/server) keeps one Shard per replica and
// replicates it along a chain (gcs/chain): a Shard is the chain's App,
// whose commands are Ops encoded by AppendOp and whose state travels as a
// Snapshot. gcs/client's Client offers the same API as the Store.
//
// # Flushing
//
// With a FlushDir, the flushable tables (Tasks, Lineage) of each shard keep
// at most MemoryCap bytes in memory; the oldest entries beyond it are
// written to segment files (every record, index entry and footer carries a
// CRC32C) and dropped from memory, leaving a Bloom filter (about 1.2 bytes
// per flushed entry). Reads find flushed entries again; a corrupt segment
// is reported as ErrCorrupt, never served. Snapshots for state transfer
// carry the segments.
//
// # Bad input
//
// Every decoder (records, ops, snapshots, and in the sub-packages frames,
// messages and segments) refuses malformed input with an error wrapping
// ErrMalformed (ErrCorrupt for segments), never a panic, and has a fuzz
// target; oversized values fail with ErrTooLarge naming the limit.
package gcs
