package shm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
	"time"
)

// The cross-process tests re-execute the test binary; TestHelperProcess is
// the child's entry point, selected by this environment variable.
const helperEnv = "MANTA_SHM_HELPER"

// procCapacity is the data area of each ring between parent and child.
const procCapacity = 1 << 16

// openLink lays out, in seg, the parent's doorbell, the child's doorbell,
// the ring to the child and the ring to the parent, in that order; every
// piece starts at a multiple of 64 bytes. The parent creates, the child
// attaches.
func openLink(seg *Segment, create bool) (toChild, toParent *Ring, err error) {
	mem := seg.Bytes()
	parentBell := NewDoorbell(mem)
	childBell := NewDoorbell(mem[DoorbellSize:])
	open := AttachRing
	if create {
		open = NewRing
	}
	off := 2 * DoorbellSize
	if toChild, err = open(mem[off:], procCapacity, childBell); err != nil {
		return nil, nil, err
	}
	off += RingSize(procCapacity)
	if toParent, err = open(mem[off:], procCapacity, parentBell); err != nil {
		return nil, nil, err
	}
	return toChild, toParent, nil
}

type child struct {
	cmd               *exec.Cmd
	stderr            bytes.Buffer
	exited            chan struct{} // closed once cmd.Wait returned
	exitErr           error         // cmd.Wait's result, set before exited is closed
	seg               *Segment
	toChild, toParent *Ring
}

// startChild starts the test binary as a helper in the given mode, sharing
// a fresh segment with it, and waits until the child has attached.
func startChild(t testing.TB, mode string) *child {
	t.Helper()
	seg, err := NewSegment("shm-test", 2*DoorbellSize+2*RingSize(procCapacity))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seg.Close() })
	c := &child{seg: seg, exited: make(chan struct{})}
	if c.toChild, c.toParent, err = openLink(seg, true); err != nil {
		t.Fatal(err)
	}
	// The child's own test timeout is a backstop should this process die
	// and leave it blocked.
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.timeout=2m")
	c.cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	c.cmd.ExtraFiles = []*os.File{seg.File()}
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.exitErr = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.exited
	})
	if msg, err := c.toParent.Pop(nil, 30*time.Second); err != nil || string(msg) != "ready" {
		t.Fatalf("hello from child: %q, %v; child: %s", msg, err, c.output())
	}
	return c
}

// output stops the child and returns what it wrote to stderr, for a
// failure message.
func (c *child) output() string {
	c.cmd.Process.Kill()
	<-c.exited
	return c.stderr.String()
}

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("entry point of the child process in the cross-process tests")
	}
	if err := runHelper(mode); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func runHelper(mode string) error {
	seg, err := MapSegment(os.NewFile(3, "shm-test"))
	if err != nil {
		return err
	}
	defer seg.Close()
	in, out, err := openLink(seg, false)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := out.Push([]byte("ready"), 0); err != nil {
		return err
	}
	var buf []byte
	switch mode {
	case "echo": // check every message, send it back
		for seq := uint64(0); ; seq++ {
			if buf, err = in.Pop(buf, 0); err != nil {
				if errors.Is(err, ErrClosed) {
					return nil
				}
				return err
			}
			if err := checkProcMessage(buf, seq); err != nil {
				return err
			}
			if err := out.Push(buf, 0); err != nil {
				return err
			}
		}
	case "bounce": // send every message back unchecked (benchmarks)
		for {
			if buf, err = in.Pop(buf, 0); err != nil {
				return nil
			}
			if out.Push(buf, 0) != nil {
				return nil
			}
		}
	case "sink": // count messages and bytes, report them when closed
		var n, size uint64
		for {
			if buf, err = in.Pop(buf, 0); err != nil {
				break
			}
			n++
			size += uint64(len(buf))
		}
		return out.Push(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, n), size), 0)
	case "hang": // block until killed
		_, err := in.Pop(nil, 0)
		return fmt.Errorf("Pop returned %v, expected to be killed first", err)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// procMessage builds message seq: its sequence number, a CRC-32 of the
// rest, and n pseudo-random bytes taken from pool.
func procMessage(dst []byte, pool []byte, seq uint64, n int) []byte {
	off := int(seq*4099) % (len(pool) - n)
	dst = binary.LittleEndian.AppendUint64(dst[:0], seq)
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(pool[off:off+n]))
	return append(dst, pool[off:off+n]...)
}

func checkProcMessage(msg []byte, seq uint64) error {
	if len(msg) < 12 {
		return fmt.Errorf("message %d: only %d bytes", seq, len(msg))
	}
	if got := binary.LittleEndian.Uint64(msg); got != seq {
		return fmt.Errorf("message %d: has sequence number %d", seq, got)
	}
	if crc32.ChecksumIEEE(msg[12:]) != binary.LittleEndian.Uint32(msg[8:]) {
		return fmt.Errorf("message %d (%d bytes): checksum mismatch", seq, len(msg))
	}
	return nil
}

func procSize(rng *rand.Rand) int {
	switch p := rng.IntN(1000); {
	case p < 800:
		return rng.IntN(128)
	case p < 998:
		return rng.IntN(8192)
	default:
		return procCapacity + rng.IntN(2*procCapacity) // fragmented
	}
}

// 200k messages each way between two processes, random sizes including
// fragmented ones, checked by the child (checksum, order) and by the
// parent (byte for byte).
func TestCrossProcess(t *testing.T) {
	const n = 200_000
	c := startChild(t, "echo")
	pool := make([]byte, 4*procCapacity)
	poolRng := rand.New(rand.NewPCG(1, 2))
	for i := range pool {
		pool[i] = byte(poolRng.Uint32())
	}
	const seed = 7
	pushErr := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(seed, 0))
		var buf []byte
		for i := uint64(0); i < n; i++ {
			buf = procMessage(buf, pool, i, procSize(rng))
			if err := c.toChild.Push(buf, 30*time.Second); err != nil {
				pushErr <- fmt.Errorf("push %d: %w", i, err)
				return
			}
		}
		c.toChild.Close()
		pushErr <- nil
	}()
	rng := rand.New(rand.NewPCG(seed, 0))
	var got, want []byte
	for i := uint64(0); i < n; i++ {
		var err error
		if got, err = c.toParent.Pop(got, 30*time.Second); err != nil {
			t.Fatalf("echo %d: %v; child: %s", i, err, c.output())
		}
		want = procMessage(want, pool, i, procSize(rng))
		if !bytes.Equal(got, want) {
			t.Fatalf("echo %d: %d bytes differ from the %d sent", i, len(got), len(want))
		}
	}
	if err := <-pushErr; err != nil {
		t.Fatal(err)
	}
	if _, err := c.toParent.Pop(got, 30*time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the last echo: %v, want ErrClosed", err)
	}
	<-c.exited
	if c.exitErr != nil {
		t.Fatalf("child: %v: %s", c.exitErr, c.stderr.String())
	}
}

// A worker dies while the driver waits for it; the driver notices the
// death (here: cmd.Wait returns) and closes the rings, which must release
// its blocked Pop.
func TestCrossProcessChildKilled(t *testing.T) {
	c := startChild(t, "hang")
	reaped := make(chan struct{})
	go func() {
		defer close(reaped)
		awaitSleeper(c.toChild.bell)  // the child sleeps in Pop ...
		awaitSleeper(c.toParent.bell) // ... and so does this test
		c.cmd.Process.Kill()
		<-c.exited
		c.toChild.Close()
		c.toParent.Close()
	}()
	if _, err := c.toParent.Pop(nil, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Pop after the child died: %v, want ErrClosed", err)
	}
	<-reaped
	// The child died asleep, leaving its doorbell's sleeping flag set;
	// Close spent one futex wake on it and cleared it.
	if c.toChild.bell.sleep.Load() != 0 {
		t.Fatal("sleeping flag of the dead child's doorbell still set")
	}
	if err := c.toChild.Push([]byte("late"), time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("Push to the dead child: %v, want ErrClosed", err)
	}
}
