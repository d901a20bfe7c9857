package shm

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSegment(t *testing.T) {
	if _, err := NewSegment("bad", 0); err == nil {
		t.Fatal("NewSegment with size 0: no error")
	}
	seg, err := NewSegment("seg-test", 10000)
	if err != nil {
		t.Fatal(err)
	}
	mem := seg.Bytes()
	if len(mem) != 10000 {
		t.Fatalf("len(Bytes()) = %d, want 10000", len(mem))
	}
	for i, b := range mem {
		if b != 0 {
			t.Fatalf("byte %d of a new segment is %d", i, b)
		}
	}
	copy(mem[9990:], "shared")

	// A second mapping of the same file, as a child would make, sees the
	// same memory both ways.
	fd, err := unix.Dup(int(seg.File().Fd()))
	if err != nil {
		t.Fatal(err)
	}
	other, err := MapSegment(os.NewFile(uintptr(fd), "dup"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(other.Bytes()[9990:9996]); got != "shared" {
		t.Fatalf("second mapping reads %q", got)
	}
	other.Bytes()[0] = 42
	if mem[0] != 42 {
		t.Fatal("write through the second mapping not seen by the first")
	}

	for i := 0; i < 2; i++ { // Close is idempotent
		if err := other.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
		if err := seg.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if seg.Bytes() != nil {
		t.Fatal("Bytes after Close is not nil")
	}
}

func TestMapSegmentErrors(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "empty")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := MapSegment(f); err == nil {
		t.Fatal("MapSegment of an empty file: no error")
	}
}
