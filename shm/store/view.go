package store

import (
	"fmt"

	"manta/shm"
)

// View reads and writes objects in a store's segment: in a worker, over
// its own mapping of the segment; in the node, over the store's. It holds
// no state beyond the mapping and is safe for concurrent use. A View must
// not be used after its segment is closed.
//
// Every access validates the object header in front of the Slot, because
// any process mapping the segment can scribble over it: a bad Slot or
// header gives ErrCorrupt, never a panic or a slice outside the object.
// Validation cannot tell a stale Slot from a live one when a new object
// of the same size took the same place; BytesOf also checks the ID.
type View struct {
	mem []byte
}

// NewView returns a View over seg's existing mapping.
func NewView(seg *shm.Segment) (*View, error) {
	mem := seg.Bytes()
	if mem == nil {
		return nil, fmt.Errorf("store: cannot view segment: %w", ErrClosed)
	}
	return &View{mem: mem}, nil
}

// Bytes returns the data of the sealed object at sl, in place. The caller
// must hold a Pin on it (through the node) while it uses the bytes, and
// must not modify them.
func (v *View) Bytes(sl Slot) ([]byte, error) {
	b, _, err := v.access(sl, true)
	return b, err
}

// BytesOf is Bytes that also checks the object's ID.
func (v *View) BytesOf(id ID, sl Slot) ([]byte, error) {
	b, got, err := v.access(sl, true)
	if err == nil && got != id {
		return nil, fmt.Errorf("store: slot %d+%d holds object %v, not %v: %w", sl.Offset, sl.Size, got, id, ErrCorrupt)
	}
	return b, err
}

// Writable returns the data of the unsealed object at sl for its creator
// to fill before Seal. After Seal it returns ErrSealed; a slice obtained
// earlier must not be written after Seal (nothing can stop that, so
// creators hand their slice over with the Seal request).
func (v *View) Writable(sl Slot) ([]byte, error) {
	b, _, err := v.access(sl, false)
	return b, err
}

// access validates sl and its header; sealed says which state is wanted.
func (v *View) access(sl Slot, sealed bool) ([]byte, ID, error) {
	off, size := sl.Offset, sl.Size
	// Unsigned comparisons reject negative values and overflow alike.
	if off < HeaderSize || off%Align != 0 || size < 0 || uint64(off) > uint64(len(v.mem)) || uint64(size) > uint64(len(v.mem))-uint64(off) {
		return nil, ID{}, v.corrupt(sl, "outside the segment")
	}
	h, ok := parseHeader(v.mem[off-HeaderSize : off])
	switch {
	case !ok:
		return nil, ID{}, v.corrupt(sl, "no valid header")
	case h.self != off-HeaderSize || h.size != size:
		return nil, ID{}, v.corrupt(sl, "header describes another slot")
	case h.sealed != sealed:
		if sealed {
			return nil, ID{}, fmt.Errorf("store: object %v: %w", h.id, ErrNotSealed)
		}
		return nil, ID{}, fmt.Errorf("store: object %v: %w", h.id, ErrSealed)
	}
	return v.mem[off : off+size : off+size], h.id, nil
}

func (v *View) corrupt(sl Slot, why string) error {
	return fmt.Errorf("store: slot %d+%d: %s: %w", sl.Offset, sl.Size, why, ErrCorrupt)
}
