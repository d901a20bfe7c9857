package host

import (
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"manta/rpc/wire"
	"manta/shm"
	"manta/shm/store"
)

// How a host hands a worker process its end of the connection: three
// environment variables and three inherited file descriptors, 3 (the
// host's doorbell), 4 (the worker's segment: its doorbell and rings) and 5
// (the object store). Both ends are in this file.
const (
	// EnvWorkerID holds the worker's process ID (node.ProcID); its
	// presence makes a process a worker.
	EnvWorkerID = "MANTA_WORKER_ID"
	// EnvRingBytes holds the capacity of each main ring.
	EnvRingBytes = "MANTA_WORKER_RING_BYTES"
	// EnvInlineBytes holds the largest value that travels inline.
	EnvInlineBytes = "MANTA_WORKER_INLINE_BYTES"
)

// controlRingBytes is the capacity of the host→worker control ring, where
// cancellations go: they must not wait behind the calls in the main ring.
const controlRingBytes = 64 << 10

// segmentSize is the size of a worker segment: the worker's doorbell, the
// host→worker ring, the worker→host ring, then the control ring's doorbell
// and the control ring.
func segmentSize(ring int) int {
	return 2*shm.DoorbellSize + 2*shm.RingSize(ring) + shm.RingSize(controlRingBytes)
}

// layout is a worker segment cut into its parts.
type layout struct {
	bell, toWorker, toHost, controlBell, control []byte
}

func cut(mem []byte, ring int) layout {
	r, d := shm.RingSize(ring), shm.DoorbellSize
	return layout{
		bell:        mem[:d],
		toWorker:    mem[d : d+r],
		toHost:      mem[d+r : d+2*r],
		controlBell: mem[d+2*r : 2*d+2*r],
		control:     mem[2*d+2*r : 2*d+2*r+shm.RingSize(controlRingBytes)],
	}
}

// WorkerEnd is a worker process's end of its connection to its host.
type WorkerEnd struct {
	// ID is the worker's process ID.
	ID string
	// In carries messages from the host; Out to it; Control carries
	// cancellations from the host, read while calls run.
	In, Out, Control *shm.Ring
	// Store is a writable mapping of the host's object store.
	Store *shm.Segment
	// InlineBytes is the largest value that travels inline.
	InlineBytes int
	// EventSwitch is the node's events switch, shared with it: attach it
	// (events.Attach) so that the node's Enable reaches this worker.
	EventSwitch *uint32
}

// The host's segment: its doorbell, then the events switch on a cache
// line of its own.
const hostSegmentSize = 2 * shm.DoorbellSize

// eventSwitch is the events switch in the host's segment.
func eventSwitch(seg *shm.Segment) *uint32 {
	return (*uint32)(unsafe.Pointer(&seg.Bytes()[shm.DoorbellSize]))
}

// IsWorker reports whether this process was started by a host as a
// worker.
func IsWorker() bool { return os.Getenv(EnvWorkerID) != "" }

// Attach maps what the host passed to this worker process. It unsets
// EnvWorkerID, so that processes the worker starts are not workers.
func Attach() (*WorkerEnd, error) {
	end := &WorkerEnd{ID: os.Getenv(EnvWorkerID)}
	os.Unsetenv(EnvWorkerID)
	ring, err := strconv.Atoi(os.Getenv(EnvRingBytes))
	if err != nil {
		return nil, fmt.Errorf("bad %s: %v", EnvRingBytes, err)
	}
	if end.InlineBytes, err = strconv.Atoi(os.Getenv(EnvInlineBytes)); err != nil {
		return nil, fmt.Errorf("bad %s: %v", EnvInlineBytes, err)
	}
	hostSeg, err := shm.MapSegment(os.NewFile(3, "manta-node"))
	if err != nil {
		return nil, err
	}
	seg, err := shm.MapSegment(os.NewFile(4, "manta-worker"))
	if err != nil {
		return nil, err
	}
	if len(seg.Bytes()) < segmentSize(ring) {
		return nil, fmt.Errorf("worker segment of %d bytes, want %d", len(seg.Bytes()), segmentSize(ring))
	}
	l := cut(seg.Bytes(), ring)
	if end.In, err = shm.AttachRing(l.toWorker, ring, shm.NewDoorbell(l.bell)); err != nil {
		return nil, err
	}
	if end.Out, err = shm.AttachRing(l.toHost, ring, shm.NewDoorbell(hostSeg.Bytes()[:shm.DoorbellSize])); err != nil {
		return nil, err
	}
	if len(hostSeg.Bytes()) < hostSegmentSize {
		return nil, fmt.Errorf("node segment of %d bytes, want %d", len(hostSeg.Bytes()), hostSegmentSize)
	}
	end.EventSwitch = eventSwitch(hostSeg)
	if end.Control, err = shm.AttachRing(l.control, controlRingBytes, shm.NewDoorbell(l.controlBell)); err != nil {
		return nil, err
	}
	if end.Store, err = shm.MapSegment(os.NewFile(5, "manta-store")); err != nil {
		return nil, err
	}
	return end, nil
}

// StoreID is the object store's name for object id.
func StoreID(id wire.ObjectID) store.ID {
	var sid store.ID
	wire.AppendObjectID(sid[:0], id)
	return sid
}
