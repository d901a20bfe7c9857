package segment

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSegment opens arbitrary bytes as a segment and reads from it: it
// must fail with ErrCorrupt or work, never panic.
func FuzzSegment(f *testing.F) {
	good, _ := encode(nil, []Record{
		{Hash: 1, Table: 2, Key: "task-1", Data: []byte("spec")},
		{Hash: 2, Table: 3, Flags: Partial, Key: "o", Data: []byte{1, 'm'}},
		{Hash: 3, Table: 2, Flags: Tomb, Key: "x"},
	})
	f.Add(good)
	f.Add(good[:len(good)-3])
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "seg")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		seg, err := open(path)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open: %v does not wrap ErrCorrupt", err)
			}
			return
		}
		defer seg.close()
		if err := seg.Verify(); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("verify: %v does not wrap ErrCorrupt", err)
		}
		var buf []byte
		for h, k := range []string{"task-1", "o", "x", "y"} {
			for _, table := range []uint8{2, 3} {
				if _, _, _, err := seg.find(uint64(h+1), table, []byte(k), nil, &buf); err != nil && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("find: %v does not wrap ErrCorrupt", err)
				}
			}
		}
		if mem, err := Parse(b); err == nil {
			if err := mem.Verify(); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("verify in memory: %v does not wrap ErrCorrupt", err)
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("parse: %v does not wrap ErrCorrupt", err)
		}
	})
}
