// Package chain is the GCS's replication: each shard is a chain of
// replicas (van Renesse and Schneider, OSDI 2004), and one monitor decides
// the chains. Both are state machines without goroutines, clock or I/O, in
// the manner of etcd raft's RawNode: Replica (Propose, Step, Tick in;
// Outbox and Replies out) and Monitor (Step, Tick, MarkDead in; Outbox
// out). A driver feeds them, sends what Outbox holds (Message.Expand first:
// a captured snapshot becomes its chunks there, outside the driver's lock)
// and calls ClearOutputs; gcs/server's servers do it over manta/rpc, and
// the tests do it through scripts (testdata/*.txt) and a simulated network
// that drops, repeats and delays messages, partitions, kills and adds
// replicas. The replicated data is an App: for the GCS, a *gcs.Shard.
// Liveness, a third machine, decides from heartbeats which nodes are dead.
//
//   - The head orders writes: it gives each a sequence number, applies it
//     and forwards it. Every replica applies entries in sequence order,
//     keeps what it forwarded until its successor acknowledges it, and
//     resends it after a timeout (twice the last round trip measured, at
//     least RetransmitTicks) or when the successor asks (MsgHello).
//     So each replica holds a prefix of its predecessor's entries.
//   - The tail commits what it applies and acknowledges it upstream; the
//     head answers a client once the tail has its write. A committed entry
//     is therefore held by every member, and an acknowledged write survives
//     as long as one member does.
//   - The monitor alone changes chains, each change a new epoch, and tells
//     every member. A member silent for FailTicks, or found dead by a probe
//     (its process refuses connections: peers and clients report replicas
//     that do not answer, and the monitor's driver checks at once and calls
//     MarkDead), is removed: a dead head's successor becomes head, a dead
//     tail's predecessor commits everything it holds, a dead middle's
//     predecessor resends what its new successor lacks. The last member of
//     a chain is never removed, and while no member has been heard for
//     FailTicks/2 none is (the monitor cannot tell the dead from the cut
//     off, nor from processes that all stalled together).
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
//     with gcs.ErrUnavailable by its deadline: it is never silently lost.
//
// Messages travel in batches (AppendMessages, DecodeMessages); a decoding
// error wraps gcs.ErrMalformed.
package chain
