// Package shm is manta's in-node transport: the driver, the node manager
// and the worker processes of one node exchange messages through
// single-producer single-consumer rings in shared memory, with no sockets
// and no system call on the fast path. It is Linux-only (memfd_create,
// futex).
//
// # Use
//
// The parent creates a Segment, lays out Doorbells and Rings in it at
// offsets that are multiples of 64 bytes, and starts the child with
// Segment.File in exec.Cmd.ExtraFiles. The child maps the same memory with
// MapSegment(os.NewFile(3, name)), calls NewDoorbell on the same bytes and
// AttachRing on each ring. Each ring has one producer and one consumer;
// use one ring per direction and per peer.
//
// A consumer that finds nothing to do waits on its Doorbell. Several rings
// may share one consumer doorbell: a driver polls all its inbound rings
// with TryPop and, when they are all empty, calls
//
//	bell.Wait(func() bool { return !r1.Empty() || !r2.Empty() }, timeout)
//
// Close a ring from either side, or from a third party such as a driver
// that saw a worker die: every blocked Push, Pop or Wait on it returns.
//
// # Memory layout
//
// A Doorbell is 64 bytes: a uint32 sequence number (the futex word) and a
// uint32 flag saying that someone may sleep on it. A ring (RingSize bytes) is a 256-byte
// header followed by its data area:
//
//	0    magic, version, capacity, closed flag   (read-mostly)
//	64   tail: bytes ever published              (written by the producer)
//	128  head: bytes ever consumed               (written by the consumer)
//	192  doorbell a producer waits on when full  (rung by the consumer)
//	256  data area, capacity bytes, a power of two
//
// The indices grow without wrapping; a position in the data area is the
// index modulo capacity. Each side also keeps its own index and a cached
// copy of the other side's in process-local memory and reads the shared
// one only when the cache says full (producer) or empty (consumer), so
// the two cache lines move between cores rarely. A record is a uint32
// (length in the low 29 bits; flags: wrap, fragment-follows, abort)
// followed by the payload, padded to 8 bytes. A record never straddles the
// end of the data area: a wrap marker sends the consumer back to offset 0.
// Messages longer than MaxRecord travel as fragments.
//
// # Ordering
//
// The producer writes a record, then stores tail; the consumer loads tail,
// copies the record out, then stores head; the producer loads head before
// writing over freed space. sync/atomic operations are sequentially
// consistent, and the instructions that make them so (XCHG stores and
// plain loads on x86-64, STLR/LDAR on arm64) order memory for any
// observer, including another process mapping the same pages; the plain
// writes of a record thus happen before the consumer's reads of it.
//
// The doorbell is an eventcount. A waiter reads seq, sets the sleeping
// flag, re-checks its condition and sleeps in FUTEX_WAIT only if seq is
// still the value it read; a producer publishes, then takes (swaps to 0)
// the flag and, if it was set, increments seq and calls FUTEX_WAKE. Both
// sides write before they read (a Dekker pattern under sequential
// consistency), so either the waiter's re-check sees the message or the
// flag is taken after the waiter set it, and seq moves past the value the
// waiter read, which makes FUTEX_WAIT return at once if it has not yet
// slept: no wake-up is lost. When nobody sleeps, ringing costs one atomic
// load, and a burst of messages to a sleeper costs one system call. Before
// sleeping, a waiter spins for a short adaptive time (see
// Doorbell.SetSpin).
//
// # Windows
//
// A Window hands part of a segment to code whose lifetime the caller
// cannot see (core's Views): MapWindow maps it privately, copy-on-write,
// and Revoke replaces it with inaccessible memory whose address range is
// never reused, so a slice kept too long faults rather than reading
// whatever the segment holds there next.
//
// # Trust
//
// Shared memory is written by another process, which may be buggy or dead
// half-way through a write. The consumer checks every length and index
// against the ring's bounds and reports ErrCorrupt instead of reading out
// of range or panicking.
package shm
