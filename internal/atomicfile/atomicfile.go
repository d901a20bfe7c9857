// Package atomicfile writes a file so that a reader sees either its old
// content or its whole new content, never part of it: the bytes go to a
// temporary file beside it, which is then renamed into place. A crash
// leaves at most a stray temporary file (named ".NAME.*"), never half a
// result, checkpoint or figure.
//
//	err := atomicfile.Write("results/fig13.json", b)
//	err = atomicfile.WriteFrom("results/fig13.png", plotWriter)
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Mode is the permission a written file gets (the temporary file's
// 0600 would otherwise stay): readable by all, writable by its owner.
const Mode = 0o644

// Write replaces path's content with b.
func Write(path string, b []byte) error {
	return WriteFrom(path, writerOf(b))
}

type writerOf []byte

func (b writerOf) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b)
	return int64(n), err
}

// WriteFrom replaces path's content with what src writes.
func WriteFrom(path string, src io.WriterTo) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = src.WriteTo(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(Mode); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
