package shm_test

import (
	"fmt"
	"time"

	"manta/shm"
)

// One segment holds a doorbell and a ring; in real use a child process
// would map the segment (Segment.File, MapSegment) and attach to the ring.
func Example() {
	const capacity = 1 << 16
	seg, err := shm.NewSegment("example", shm.DoorbellSize+shm.RingSize(capacity))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer seg.Close()
	mem := seg.Bytes()
	bell := shm.NewDoorbell(mem[:shm.DoorbellSize])
	ring, err := shm.NewRing(mem[shm.DoorbellSize:], capacity, bell)
	if err != nil {
		fmt.Println(err)
		return
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, msg := range []string{"hello", "world"} {
			if err := ring.Push([]byte(msg), time.Second); err != nil {
				fmt.Println(err)
			}
		}
		ring.Close()
	}()

	var buf []byte
	for {
		buf, err = ring.Pop(buf, time.Second)
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(string(buf))
	}
	<-done // the producer must be done with the memory before it is unmapped
	// Output:
	// hello
	// world
	// shm: ring closed
}

// A window shows part of a segment without copying it; writes stay
// private, and once revoked the window's memory faults.
func ExampleSegment_MapWindow() {
	seg, err := shm.NewSegment("example-window", 8192)
	if err != nil {
		panic(err)
	}
	defer seg.Close()
	copy(seg.Bytes()[100:], "shared bytes")
	w, err := seg.MapWindow(100, 12)
	if err != nil {
		panic(err)
	}
	view := w.Bytes()
	view[0] = 'S' // a private copy of the page, not the segment's
	fmt.Println(string(view), string(seg.Bytes()[100:112]))
	w.Revoke() // view must not be touched from here on
	// Output: Shared bytes shared bytes
}
