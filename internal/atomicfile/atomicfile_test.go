package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

type failing struct{}

func (failing) WriteTo(w io.Writer) (int64, error) {
	w.Write([]byte("half"))
	return 4, errors.New("the source failed")
}

// A write replaces the content whole, readable by all; a source that
// fails leaves the old content and no temporary file.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	if err := Write(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFrom(path, failing{}); err == nil {
		t.Fatal("a failing source was written")
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "old" {
		t.Fatalf("after a failed write: %q, %v", b, err)
	}
	if err := Write(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "new" || st.Mode().Perm() != Mode {
		t.Fatalf("%q, mode %v", b, st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%d files left in the directory, want 1", len(entries))
	}
}
