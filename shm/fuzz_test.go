package shm

import (
	"encoding/binary"
	"errors"
	"testing"
)

const fuzzCapacity = 4096

// fuzzSeed returns the header and data area of a ring after a producer
// pushed small, wrapped, fragmented and cut messages into it.
func fuzzSeed(f *testing.F) (header, data []byte) {
	mem := alignedMem(RingSize(fuzzCapacity))
	bell := NewDoorbell(alignedMem(DoorbellSize))
	r, err := NewRing(mem, fuzzCapacity, bell)
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		r.TryPush(message(nil, uint64(i), i*37%r.MaxRecord()))
		if i%3 == 0 {
			r.TryPop(nil)
		}
	}
	for !r.Empty() {
		r.TryPop(nil)
	}
	r.Push(message(nil, 1, 2000), 0)
	r.Push(make([]byte, 2*fuzzCapacity), 1) // times out: leaves fragments
	r.TryPush([]byte("after the cut"))
	return append([]byte(nil), mem[:headerSize]...), append([]byte(nil), mem[headerSize:]...)
}

// FuzzAttachRing: whatever the header and data area hold, AttachRing
// either refuses them or yields a ring both sides can use without a panic.
func FuzzAttachRing(f *testing.F) {
	header, data := fuzzSeed(f)
	f.Add(header, data)
	f.Add(make([]byte, headerSize), []byte{})
	bad := append([]byte(nil), header...)
	binary.LittleEndian.PutUint64(bad[offTail:], 1<<63)
	f.Add(bad, data)
	f.Fuzz(func(t *testing.T, header, data []byte) {
		mem := alignedMem(RingSize(fuzzCapacity))
		copy(mem[:headerSize], header)
		copy(mem[headerSize:], data)
		bell := NewDoorbell(alignedMem(DoorbellSize))
		r, err := AttachRing(mem, fuzzCapacity, bell)
		if err != nil {
			return
		}
		drain(t, r)
		r.TryPush([]byte("probe"))
		r.TryPush(make([]byte, r.MaxRecord()))
		drain(t, r)
	})
}

// FuzzRingPop: arbitrary record bytes and indices in a ring that was
// valid when attached give messages or ErrCorrupt, never a panic.
func FuzzRingPop(f *testing.F) {
	header, data := fuzzSeed(f)
	f.Add(data, binary.LittleEndian.Uint64(header[offTail:]), binary.LittleEndian.Uint64(header[offHead:]))
	f.Add(data, uint64(fuzzCapacity), uint64(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0x1f}, uint64(8), uint64(0))
	f.Add([]byte{0, 0, 0, 0x80}, uint64(16), uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, tail, head uint64) {
		prod, cons := ringPair(t, fuzzCapacity)
		copy(prod.data, data)
		prod.tail.Store(tail)
		prod.head.Store(head)
		drain(t, cons)
		for i := 0; i < 10; i++ {
			prod.TryPush(make([]byte, i*100))
		}
		drain(t, cons)
	})
}

// drain pops until the ring is empty or broken; it checks that this ends
// and that any error is ErrCorrupt.
func drain(t *testing.T, r *Ring) {
	var buf []byte
	for i := 0; ; i++ {
		if i > 2*fuzzCapacity {
			t.Fatal("TryPop keeps returning messages")
		}
		msg, ok, err := r.TryPop(buf)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrClosed) {
				t.Fatalf("TryPop: %v", err)
			}
			return
		}
		if !ok {
			return
		}
		buf = msg
	}
}
