package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"manta/shm"
)

// The cross-process test re-executes the test binary; TestHelperProcess
// is the child's entry point, selected by this environment variable.
const helperEnv = "MANTA_STORE_HELPER"

func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("entry point of the child process in the cross-process test")
	}
	if err := runHelper(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// runHelper is a worker: it maps the store's segment (fd 3) and answers
// one line per command line:
//
//	read OFF SIZE N    check the sealed object's bytes are content(N, SIZE)
//	write OFF SIZE N   fill the unsealed object with content(N, SIZE)
//	bad OFF SIZE       expect ErrCorrupt from Bytes
func runHelper(in io.Reader, out io.Writer) error {
	seg, err := shm.MapSegment(os.NewFile(3, "store"))
	if err != nil {
		return err
	}
	defer seg.Close()
	v, err := NewView(seg)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var cmd string
		var sl Slot
		var n uint64
		if _, err := fmt.Sscan(sc.Text(), &cmd, &sl.Offset, &sl.Size, &n); err != nil && cmd != "bad" {
			return fmt.Errorf("bad command %q: %v", sc.Text(), err)
		}
		reply := "ok"
		switch cmd {
		case "read":
			b, err := v.Bytes(sl)
			if err != nil {
				reply = err.Error()
			} else if !bytes.Equal(b, content(n, int(sl.Size))) {
				reply = "wrong bytes"
			}
		case "write":
			b, err := v.Writable(sl)
			if err != nil {
				reply = err.Error()
			} else {
				copy(b, content(n, int(sl.Size)))
			}
		case "bad":
			if _, err := v.Bytes(sl); !errors.Is(err, ErrCorrupt) {
				reply = fmt.Sprintf("Bytes of a bad slot: %v", err)
			}
		default:
			return fmt.Errorf("unknown command %q", cmd)
		}
		fmt.Fprintln(w, reply)
		w.Flush()
	}
	return sc.Err()
}

// The node creates objects and a child process reads them in place; the
// child writes objects the node then seals and reads.
func TestCrossProcess(t *testing.T) {
	s := newTestStore(t, Config{Capacity: 8 << 20})
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.ExtraFiles = []*os.File{s.Segment().File()}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	replies := bufio.NewScanner(stdout)
	ask := func(format string, args ...any) {
		t.Helper()
		fmt.Fprintf(stdin, format+"\n", args...)
		if !replies.Scan() {
			t.Fatalf("child gave no answer to %q: %v; stderr: %s", fmt.Sprintf(format, args...), replies.Err(), stderr.String())
		}
		if r := replies.Text(); r != "ok" {
			t.Fatalf("child: %q answers %s", fmt.Sprintf(format, args...), r)
		}
	}

	sizes := []int{0, 1, 63, 64, 65, 1000, 4096, 100_000, 1 << 20}
	for k, size := range sizes {
		n := uint64(k)
		sl := s.put(t, idOf(n), content(n, size))
		ask("read %d %d %d", sl.Offset, sl.Size, n)
	}
	ctx := context.Background()
	for k, size := range sizes {
		n := uint64(100 + k)
		sl, err := s.Create(ctx, idOf(n), int64(size))
		if err != nil {
			t.Fatal(err)
		}
		ask("write %d %d %d", sl.Offset, sl.Size, n)
		if err := s.Seal(idOf(n)); err != nil {
			t.Fatal(err)
		}
		s.check(t, idOf(n), content(n, size))
		ask("read %d %d %d", sl.Offset, sl.Size, n)
	}
	sl, err := s.Pin(ctx, idOf(5))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Slot{{0, 10}, {1, 10}, {sl.Offset + Align, 10}, {sl.Offset, sl.Size + 1}, {1 << 40, 1}, {sl.Offset, -1}, {8 << 20, 0}} {
		ask("bad %d %d", bad.Offset, bad.Size)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v: %s", err, stderr.String())
	}
	if strings.TrimSpace(stderr.String()) != "" {
		t.Logf("child stderr: %s", stderr.String())
	}
}
