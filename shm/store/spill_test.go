package store

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// quarter is a data size whose allocation is exactly 16 KiB: four fill a
// 64 KiB store.
const quarter = 16<<10 - HeaderSize

func (s *testStore) location(t testing.TB, id ID) (inMemory, onDisk bool) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index.get(s.objs, &id)
	if !ok {
		t.Fatalf("object %v unknown", id)
	}
	return s.objs[i].inMemory(), s.objs[i].onDisk
}

func TestLRUSpillAndRestore(t *testing.T) {
	var spilled, restored []ID
	s := newTestStore(t, Config{Capacity: 64 << 10,
		Spilled:  func(id ID, size int64) { spilled = append(spilled, id) },
		Restored: func(id ID, size int64) { restored = append(restored, id) }})
	for n := uint64(1); n <= 4; n++ {
		s.put(t, idOf(n), content(n, quarter))
	}
	s.check(t, idOf(1), content(1, quarter)) // 1 is now the most recently used
	s.put(t, idOf(5), content(5, quarter))   // evicts 2, the least recently used
	if mem, disk := s.location(t, idOf(2)); mem || !disk {
		t.Fatalf("object 2: in memory %v, on disk %v; want spilled", mem, disk)
	}
	for _, n := range []uint64{1, 3, 4, 5} {
		if mem, _ := s.location(t, idOf(n)); !mem {
			t.Fatalf("object %d was spilled", n)
		}
	}
	st := s.Stats()
	if st.SpillWrites != 1 || st.Spilled != 1 || st.Evicted != 1 || st.SpilledBytes != quarter {
		t.Fatalf("after one spill: %+v", st)
	}
	// Reading 2 restores it byte for byte, evicting 3 (now the LRU).
	s.check(t, idOf(2), content(2, quarter))
	if mem, disk := s.location(t, idOf(3)); mem || !disk {
		t.Fatalf("object 3: in memory %v, on disk %v; want spilled", mem, disk)
	}
	st = s.Stats()
	if st.Restores != 1 || st.RestoreBytes != quarter || st.Pins != 2 || st.PinHits != 1 || st.HitRate() != 0.5 {
		t.Fatalf("after one restore: %+v", st)
	}
	if !slices.Equal(spilled, []ID{idOf(2), idOf(3)}) || !slices.Equal(restored, []ID{idOf(2)}) {
		t.Fatalf("told of spills %v and restores %v; want 2, 3 and 2", spilled, restored)
	}
	// 2 keeps its file: evicting it again writes nothing.
	s.check(t, idOf(3), content(3, quarter))
	s.check(t, idOf(4), content(4, quarter))
	s.check(t, idOf(5), content(5, quarter))
	s.check(t, idOf(1), content(1, quarter))
	s.check(t, idOf(2), content(2, quarter))
	s.checkInvariants(t)
	if st := s.Stats(); st.SpillWrites != st.Spilled {
		t.Fatalf("objects were spilled twice: %+v", st)
	}
}

// Three times the capacity in objects of random sizes, read back in
// random order twice.
func TestThreeTimesCapacity(t *testing.T) {
	const capacity = 1 << 20
	s := newTestStore(t, Config{Capacity: capacity})
	rng := rand.New(rand.NewPCG(5, 6))
	sizes := map[uint64]int{}
	var total int64
	for n := uint64(0); total < 3*capacity; n++ {
		size := 1 + rng.IntN(64<<10)
		sizes[n] = size
		total += int64(size)
		s.put(t, idOf(n), content(n, size))
	}
	keys := make([]uint64, 0, len(sizes))
	for n := range sizes {
		keys = append(keys, n)
	}
	for range 2 {
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		for _, n := range keys {
			s.check(t, idOf(n), content(n, sizes[n]))
		}
		s.checkInvariants(t)
	}
	st := s.Stats()
	t.Logf("%d objects, %d bytes: %+v, hit rate %.2f", len(sizes), total, st, st.HitRate())
	if st.Objects != int64(len(sizes)) || st.Restores == 0 || st.SpillWrites < int64(len(sizes))/2 || st.Lost != 0 {
		t.Fatalf("stats %+v", st)
	}
	for _, n := range keys {
		s.Delete(idOf(n))
	}
	s.checkInvariants(t)
	if st := s.Stats(); st.Objects != 0 || st.Used != 0 || st.Spilled != 0 {
		t.Fatalf("after deleting everything: %+v", st)
	}
	if files := dirFiles(t, s.spillDir); len(files) != 0 {
		t.Fatalf("spill files left after Delete: %v", files)
	}
}

func dirFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// spillOne fills a 64 KiB store so that object 1 is spilled, and returns
// its file.
func spillOne(t *testing.T) (*testStore, string) {
	s := newTestStore(t, Config{Capacity: 64 << 10})
	for n := uint64(1); n <= 5; n++ {
		s.put(t, idOf(n), content(n, quarter))
	}
	if mem, disk := s.location(t, idOf(1)); mem || !disk {
		t.Fatalf("object 1: in memory %v, on disk %v; want spilled", mem, disk)
	}
	return s, filepath.Join(s.spillDir, idOf(1).String())
}

func TestDamagedSpillFileIsLost(t *testing.T) {
	damage := map[string]func(t *testing.T, path string){
		"flipped data byte": func(t *testing.T, path string) { flipByte(t, path, HeaderSize+quarter/2) },
		"flipped header byte": func(t *testing.T, path string) {
			flipByte(t, path, hdrID)
		},
		"flipped checksum": func(t *testing.T, path string) { flipByte(t, path, HeaderSize+quarter) },
		"truncated": func(t *testing.T, path string) {
			if err := os.Truncate(path, HeaderSize+quarter); err != nil {
				t.Fatal(err)
			}
		},
		"extended": func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte{0})
			f.Close()
		},
		"removed": func(t *testing.T, path string) { os.Remove(path) },
		"empty": func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			s, path := spillOne(t)
			f(t, path)
			before := s.Stats()
			for range 2 {
				if _, err := s.Pin(context.Background(), idOf(1)); !errors.Is(err, ErrLost) {
					t.Fatalf("Pin of a damaged object: %v", err)
				}
			}
			s.checkInvariants(t)
			st := s.Stats()
			if st.Lost != 1 || st.Objects != before.Objects || st.Restores != 0 || st.Pins != before.Pins {
				t.Fatalf("after the failed restore: %+v (before %+v)", st, before)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("damaged spill file kept: %v", err)
			}
			// Rebuilding the object under its ID works.
			s.put(t, idOf(1), content(1, quarter))
			s.check(t, idOf(1), content(1, quarter))
			s.checkInvariants(t)
			if st := s.Stats(); st.Lost != 0 {
				t.Fatalf("after rebuilding: %+v", st)
			}
		})
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// failingFile lets limit bytes reach the real file, then fails like a
// full disk.
type failingFile struct {
	f     *os.File
	limit int
}

func (w *failingFile) Write(p []byte) (int, error) {
	if len(p) <= w.limit {
		w.limit -= len(p)
		return w.f.Write(p)
	}
	n, _ := w.f.Write(p[:w.limit])
	w.limit = 0
	return n, &os.PathError{Op: "write", Path: w.f.Name(), Err: syscall.ENOSPC}
}

func (w *failingFile) Close() error { return w.f.Close() }

func TestSpillWriteErrorLeavesNoFile(t *testing.T) {
	for _, limit := range []int{0, 10, HeaderSize + 1000, HeaderSize + quarter} {
		s := newTestStore(t, Config{Capacity: 64 << 10})
		for n := uint64(1); n <= 4; n++ {
			s.put(t, idOf(n), content(n, quarter))
		}
		var opened []string
		s.createFile = func(name string) (spillFile, error) {
			opened = append(opened, name)
			f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return nil, err
			}
			return &failingFile{f: f, limit: limit}, nil
		}
		_, err := s.Create(context.Background(), idOf(5), quarter)
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "spill") {
			t.Fatalf("limit %d: Create with a full disk: %v", limit, err)
		}
		if len(opened) != 1 {
			t.Fatalf("limit %d: %d spill files opened", limit, len(opened))
		}
		if files := dirFiles(t, s.spillDir); len(files) != 0 {
			t.Fatalf("limit %d: files left after a failed spill: %v", limit, files)
		}
		// Nothing was lost: the victim is still in memory.
		s.checkInvariants(t)
		if st := s.Stats(); st.SpillErrors != 1 || st.Spilled != 0 || st.InMemory != 4 {
			t.Fatalf("limit %d: %+v", limit, s.Stats())
		}
		for n := uint64(1); n <= 4; n++ {
			s.check(t, idOf(n), content(n, quarter))
		}
		// With the disk back, the same Create succeeds.
		s.createFile = createOSFile
		s.put(t, idOf(5), content(5, quarter))
		s.checkInvariants(t)
	}
}

func TestSpillOpenError(t *testing.T) {
	s := newTestStore(t, Config{Capacity: 64 << 10})
	for n := uint64(1); n <= 4; n++ {
		s.put(t, idOf(n), content(n, quarter))
	}
	s.createFile = func(name string) (spillFile, error) {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	if _, err := s.Create(context.Background(), idOf(5), quarter); !errors.Is(err, syscall.EACCES) {
		t.Fatalf("got %v", err)
	}
	s.checkInvariants(t)
}

func TestCloseRemovesEverything(t *testing.T) {
	memfds := func() int {
		ents, _ := os.ReadDir("/proc/self/fd")
		n := 0
		for _, e := range ents {
			if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "/memfd:manta-store") {
				n++
			}
		}
		return n
	}
	fill := func(s *Store) {
		v, _ := NewView(s.Segment())
		ts := &testStore{s, v}
		for n := uint64(1); n <= 12; n++ {
			ts.put(t, idOf(n), content(n, quarter))
		}
		if st := s.Stats(); st.Spilled != 8 {
			t.Fatalf("spilled %d, want 8", st.Spilled)
		}
	}

	t.Run("own directory", func(t *testing.T) {
		before := memfds()
		s, err := New(Config{Capacity: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		if memfds() != before+1 {
			t.Fatal("no memfd")
		}
		fill(s)
		dir := s.spillDir
		if !strings.HasPrefix(filepath.Base(dir), "manta-spill-") || len(dirFiles(t, dir)) != 8 {
			t.Fatalf("spill directory %s: %v", dir, dirFiles(t, dir))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("spill directory left: %v", err)
		}
		if memfds() != before || s.Segment().Bytes() != nil {
			t.Fatal("segment left open")
		}
	})

	t.Run("given directory", func(t *testing.T) {
		dir := t.TempDir()
		other := filepath.Join(dir, "not-ours")
		if err := os.WriteFile(other, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{Capacity: 64 << 10, SpillDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		fill(s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if files := dirFiles(t, dir); !slices.Equal(files, []string{"not-ours"}) {
			t.Fatalf("left in the given directory: %v", files)
		}
	})

	t.Run("directory to make", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "spill")
		s, err := New(Config{Capacity: 64 << 10, SpillDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatal("spill directory made before the first spill")
		}
		fill(s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("spill directory left: %v", err)
		}
	})
}

// A spill file's bytes are the header, the data and the checksum; the
// final name appears only once complete.
func TestSpillFileFormat(t *testing.T) {
	s, path := spillOne(t)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != HeaderSize+quarter+spillTrailer {
		t.Fatalf("%d bytes", len(b))
	}
	h, ok := parseHeader(b[:HeaderSize])
	if !ok || h.id != idOf(1) || h.size != quarter || !h.sealed {
		t.Fatalf("header %+v, ok %v", h, ok)
	}
	if string(b[HeaderSize:HeaderSize+quarter]) != string(content(1, quarter)) {
		t.Fatal("data differs")
	}
	for _, name := range dirFiles(t, s.spillDir) {
		if strings.HasSuffix(name, ".tmp") {
			t.Fatalf("temporary file left: %s", name)
		}
	}
}

// enospc makes every spill write fail as on a full disk.
func enospc(name string) (spillFile, error) {
	return nil, &os.PathError{Op: "open", Path: name, Err: syscall.ENOSPC}
}

// With the disk full, Create still frees what needs no write: a cached
// copy, or an object restored whose file is still there, further up the
// LRU list than the object whose spill failed. Once nothing such is
// left it fails with ErrFull, saying why, and loses nothing.
func TestFullDiskEvictsWhatNeedsNoWrite(t *testing.T) {
	t.Run("cached copy", func(t *testing.T) {
		s := newTestStore(t, Config{Capacity: 64 << 10})
		for n := uint64(1); n <= 4; n++ {
			s.put(t, idOf(n), content(n, quarter))
		}
		s.Cache(idOf(4)) // the most recently used
		s.createFile = enospc
		s.put(t, idOf(5), content(5, quarter))
		if st := s.Stats(); st.CachedDropped != 1 || st.SpillErrors != 1 || st.Spilled != 0 {
			t.Fatalf("after Create with a full disk: %+v", st)
		}
		checkFullDisk(t, s, []uint64{1, 2, 3, 5})
	})
	t.Run("restored object", func(t *testing.T) {
		s, _ := spillOne(t)                      // 1 on disk; 2 to 5 in memory
		s.check(t, idOf(1), content(1, quarter)) // read back (2 spilled for it); keeps its file
		s.createFile = enospc
		s.put(t, idOf(6), content(6, quarter)) // 3 cannot be written: 1 goes instead
		if mem, disk := s.location(t, idOf(1)); mem || !disk {
			t.Fatalf("object 1: in memory %v, on disk %v; want evicted", mem, disk)
		}
		if st := s.Stats(); st.SpillErrors != 1 || st.SpillWrites != 2 || st.Evicted != 3 {
			t.Fatalf("after Create with a full disk: %+v", st)
		}
		checkFullDisk(t, s, []uint64{3, 4, 5, 6})
	})
}

// checkFullDisk checks that, with nothing left to free without a write,
// Create fails with ErrFull and the full disk's error, and the objects
// in memory are intact.
func checkFullDisk(t *testing.T, s *testStore, inMemory []uint64) {
	t.Helper()
	_, err := s.Create(context.Background(), idOf(99), quarter)
	if !errors.Is(err, ErrFull) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("Create with a full disk and nothing to drop: %v; want ErrFull wrapping ENOSPC, saying the disk is full", err)
	}
	s.checkInvariants(t)
	for _, n := range inMemory {
		if mem, _ := s.location(t, idOf(n)); !mem {
			t.Fatalf("object %d is not in memory", n)
		}
		s.check(t, idOf(n), content(n, quarter))
	}
}

// A spill file that cannot be read for a reason that may pass (here too
// many open files) is kept, and so is its object: the Pin fails with
// ErrIO, not ErrLost, and the next one reads it back.
func TestTransientRestoreErrorKeepsFile(t *testing.T) {
	s, path := spillOne(t)
	fail := true
	s.openFile = func(name string) (*os.File, error) {
		if fail {
			fail = false
			return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EMFILE}
		}
		return os.Open(name)
	}
	_, err := s.Pin(context.Background(), idOf(1))
	if !errors.Is(err, ErrIO) || errors.Is(err, ErrLost) || !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("Pin with too many open files: %v; want ErrIO wrapping EMFILE, not ErrLost", err)
	}
	if _, serr := os.Stat(path); serr != nil {
		t.Fatalf("spill file after a transient error: %v", serr)
	}
	s.checkInvariants(t)
	if mem, disk := s.location(t, idOf(1)); mem || !disk {
		t.Fatalf("object 1 after the failed restore: in memory %v, on disk %v; want on disk", mem, disk)
	}
	if st := s.Stats(); st.Lost != 0 || st.Restores != 0 {
		t.Fatalf("after the failed restore: %+v", st)
	}
	s.check(t, idOf(1), content(1, quarter))
	s.checkInvariants(t)
}
