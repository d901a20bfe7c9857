// Package gcs is manta's Global Control Store: the control state of the
// cluster, as the Ray paper describes it, in sharded tables with pub-sub,
// chain-replicated per shard and flushed to disk so that memory stays
// bounded.
//
// # Tables
//
// Objects (a set of locations, each an encoded node and size, per object
// ID), Tasks (each task's specification and status: the lineage that
// reconstruction re-executes), Lineage (a log per object or task), Functions,
// Actors, Nodes, Heartbeats, Jobs, Events (the event log) and KV for the
// rest. A table is a value table (Put, Delete), a log table (Append,
// Delete) or a set table (Add, Remove, Delete); Get returns a value, or
// the members of a log or set (see Members). Keys are spread over S shards
// by ShardOf, a hash every process computes alike. Limits bound keys,
// values and entries, and the errors name the limit (ErrTooLarge).
//
// The records the GCS gives meaning to have encoders: ObjectLocation
// (members of Objects), NodeInfo (Nodes: address, alive or dead,
// resources) and ActorInfo (Actors: node, state, restarts). A NodeWatcher
// (WatchNodes), run at the head, marks a node dead in Nodes when its
// heartbeats in Heartbeats stop, using the Liveness state machine.
//
// Subscribe watches a key or a whole table: every change applied after it
// returns is delivered, in order per shard, as a Notification (an object
// gets a location: OpAdd on Objects; a node dies: OpPut on Nodes; an actor
// moves: OpPut on Actors). A subscriber that falls too far behind, or whose
// server changed, gets OpResync and should re-read what it watches.
//
// # Embedded and replicated
//
// Open returns the embedded Store: S in-process shards, no replication,
// each shard behind its own lock; this is what the driver's embedded
// cluster uses. One shard does about 4.5 million 25-byte-key/512-byte-value
// operations per second here (BenchmarkEmbeddedShard, 0 allocations).
//
// The replicated GCS runs as processes: StartHead (or `manta start --head
// --gcs-shards S --gcs-replicas R`) runs the monitor and starts S×R
// replica processes (`manta gcs`) on loopback, passing the cluster token in
// the environment, never on a command line; Dial returns a Client with the
// Store's methods (the API interface). The Client batches concurrent
// operations per shard into frames, sends writes to each chain's head and
// reads to its tail, follows redirects, reports replicas that do not answer
// to the monitor, and retries until the operation's deadline.
//
// # Chain replication
//
// Each shard is a chain of replicas (van Renesse and Schneider, OSDI
// 2004). The protocol is two state machines without goroutines, clock or
// I/O, in the manner of etcd raft's RawNode: Replica (Propose, Step, Tick
// in; Outbox and Replies out) and Monitor (Step, Tick, MarkDead in; Outbox
// out). ReplicaServer and MonitorServer drive them over manta/rpc; the
// tests drive them through scripts (testdata/*.txt) and a simulated
// network that drops, repeats and delays messages, partitions, kills and
// adds replicas.
//
//   - The head orders writes: it gives each a sequence number, applies it
//     and forwards it. Every replica applies entries in sequence order,
//     keeps what it forwarded until its successor acknowledges it, and
//     resends it after a timeout or when the successor asks (MsgHello).
//     So each replica holds a prefix of its predecessor's entries.
//   - The tail commits what it applies and acknowledges it upstream; the
//     head answers a client once the tail has its write. A committed entry
//     is therefore held by every member, and an acknowledged write survives
//     as long as one member does.
//   - The monitor alone changes chains, each change a new epoch, and tells
//     every member. A member silent for FailTicks, or found dead by a probe
//     (its process refuses connections: peers and clients report replicas
//     that do not answer, and the monitor checks at once), is removed: a
//     dead head's successor becomes head, a dead tail's predecessor commits
//     everything it holds, a dead middle's predecessor resends what its new
//     successor lacks. The last member of a chain is never removed, and
//     while every member is silent none is.
//   - A replica serves clients only within LeaseTicks of a monitor reply to
//     its heartbeat; the monitor waits FailTicks (longer) before removing
//     it, so a replica cut off from the monitor stops serving before the
//     chain moves on without it. A removed replica never comes back; a
//     restarted process is a new replica.
//   - A new replica joins as the chain's joiner: the tail sends it a
//     snapshot (in chunks, checksummed) and then every entry that follows.
//     From the joiner's first acknowledgement the tail commits only what
//     the joiner holds; once the joiner holds everything the tail ever
//     acknowledged, the tail reports it synced and the monitor appends it
//     as the new tail. Writes never stop during a join.
//   - Every write carries its client's ID and a request number, recorded
//     in the replicated state with the entry that applied it, so a retry
//     after a failure (a head dies mid-write) is answered without applying
//     the write twice. A write whose outcome the client cannot learn fails
//     with ErrUnavailable by its deadline: it is never silently lost.
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
// Malformed frames and messages fail the call that carried them (the rpc
// layer closes connections with broken framing) and the server keeps
// serving others; a wrong or missing token is refused by the rpc
// handshake; oversized values fail with ErrTooLarge naming the limit; a
// client that talks to a replica that is no longer head (or tail) is
// redirected and retries transparently. Every decoder has a fuzz target.
//
// # Figures
//
// Figure10a(ctx, Fig10aConfig) runs the paper's Figure 10a: a client with
// one request in flight, alternating 512-byte writes and reads, against a
// 2-replica chain of processes; a member gets SIGKILL at KillAt and a new
// one starts at JoinAt. Fig10aResult holds every operation as a
// Fig10aSample{At, Latency, Write, Err}, the event times (KilledAt,
// RemovedAt, JoinedAt, RejoinedAt), P50, P99, MaxLatency, and Acknowledged
// and ReadBack (every acknowledged write read back at the end).
//
// Figure10b(ctx, Fig10bConfig) runs Figure 10b: Tasks task entries
// recorded into one embedded shard, without and with flushing; the
// result's WithoutFlush and WithFlush are Fig10bSample{Tasks, Elapsed,
// StoreBytes, HeapBytes} series, with the MemoryCap, the segments written
// and a read-back check of flushed tasks.
package gcs
