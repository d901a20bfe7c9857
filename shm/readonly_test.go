package shm

import (
	"runtime/debug"
	"testing"
)

func TestMapReadOnlySharesMemoryAndFaultsOnWrite(t *testing.T) {
	rw, err := NewSegment("ro-test", 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	ro, err := rw.MapReadOnly()
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	rw.Bytes()[100] = 42
	if ro.Bytes()[100] != 42 {
		t.Fatal("read-only mapping does not see the write")
	}
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if recover() == nil {
			t.Fatal("writing the read-only mapping did not fault")
		}
	}()
	ro.Bytes()[100] = 7
}
