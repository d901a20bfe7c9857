// Package store is a node's shared-memory object store, the paper's
// Plasma: immutable objects in one memfd segment that the node manager
// and its worker processes map, so that a worker reads an object another
// process wrote without copying it. When memory runs short, least
// recently used objects are spilled to disk and read back on demand.
//
// # Ownership: node and workers
//
// The Store lives in the node manager and owns all control state: the
// allocator, the table of objects, pins, the LRU list and the spill
// files. That state is in ordinary Go memory, so a worker that scribbles
// over the shared segment can damage object bytes but never the store's
// bookkeeping. Workers get the segment's file (Store.Segment().File(),
// passed with exec.Cmd.ExtraFiles and mapped with shm.MapSegment), wrap it
// in a View (core maps it once more read-only, with
// shm.Segment.MapReadOnly, for what it reads), and ask the node, over
// core's rings, for everything else:
//
//	put:  worker → node "create id size"   node: Create → Slot → worker
//	      worker writes View.Writable(slot)
//	      worker → node "seal id"          node: Seal
//	get:  worker → node "get id"           node: Pin → Slot → worker
//	      worker reads View.Bytes(slot)
//	      worker → node "release id"       node: Unpin
//
// A Slot is only an offset and a size; it is valid while the object is
// pinned (readers) or unsealed (its creator). The node reads and writes
// objects the same way, with a View over its own mapping.
//
// # Memory layout
//
// The segment is carved into allocations, each starting at a multiple of
// Align (64 bytes): a HeaderSize (64-byte) header, the data, padding to
// the next multiple of 64. The data is therefore 64-byte aligned and can
// be viewed in place as []float64 or []float32. The header is
//
//	0   magic "mobj"           4  version (1)     6  flags: 1 = sealed
//	8   object ID (20 bytes)   28 zero
//	32  data size (uint64)     40 offset of this header in the segment
//	48  zero                   60 CRC-32C of bytes 0-59
//
// written only by the node (at Create, Seal and restore; invalidated when
// the memory is freed). A View checks magic, version, checksum, that the
// header sits where the Slot says and describes exactly that many bytes,
// and the sealed flag, before returning a slice; anything else is
// ErrCorrupt, never a panic or a slice outside the object.
//
// # Life of an object
//
// Create allocates an unsealed object (its creator writes it); Seal makes
// it immutable and readable; Abort discards an unsealed one; Delete drops
// it when core's reference count reaches zero, at once or when the last
// pin, the writer or a spill in flight lets go. A sealed object is in
// memory, on disk, or both. Only sealed, unpinned objects in memory are
// on the LRU list and may be spilled; Pin takes an object off the list
// (restoring it from disk if needed) and the last Unpin puts it back as
// the most recently used. Cache, in place of Delete, keeps a copy pulled
// from another node readable after its last reference: it is dropped,
// not spilled, when memory runs short, and a Create of its ID replaces
// it. A Pin makes it an ordinary object again (its reader's node holds
// it); PinForPeer, a read for another node, leaves it cached.
//
// # Allocation and spilling
//
// The allocator is a two-level segregated fit (TLSF) over the segment:
// O(1) allocation and free with immediate coalescing; an allocation fails
// only if no free extent is large enough. Then Create spills LRU objects
// (one file each: header, data, CRC-32C; written to a temporary name,
// renamed when complete, removed on any error) until a fitting extent
// appears, or, when the rest is pinned or being written, waits for Unpin,
// Delete, Abort or Seal until its context ends or Config.PutTimeout passes
// on Config.Clock. A restored object keeps its file, so evicting it again
// costs no write. When a spill file cannot be written (a full disk),
// Create frees only what needs no write (cached copies, restored objects
// whose file is still there) and, if that is not enough, fails at once
// with ErrFull wrapping the write's error. A spill file that is missing, truncated or fails its
// checksum makes the object ErrLost (the node makes it again from
// lineage where it can, else reports it to readers); the ID can be
// created again, for the re-run of its task to store it anew. Any other
// read error (too many open files, a failing disk) fails that Pin with
// ErrIO and keeps the file and the object, for a later Pin to read.
//
// # Concurrency and lock order
//
// Store methods are safe for concurrent use. One mutex, Store.mu, guards
// all control state; it is a leaf (nothing else is locked while it is
// held, including the segment's own mutex, which only New, NewView and
// Close take). It is not held while spill files are written or read, nor
// while waiting: a spill or restore marks its object, releases the mutex
// for the I/O and takes it again to finish, and waiters sleep on a
// channel that every relevant change closes (no polling). Only making the
// spill directory and unlinking spill files happen under it. Close waits
// for I/O in flight before it unmaps the segment.
package store
