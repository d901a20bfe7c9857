package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"manta/gcs"
)

// countingAPI counts the writes and Gets that reach the GCS.
type countingAPI struct {
	gcs.API
	writes, gets atomic.Int64
}

func (c *countingAPI) Apply(ctx context.Context, op gcs.Op) error {
	c.writes.Add(1)
	return c.API.Apply(ctx, op)
}

func (c *countingAPI) Put(ctx context.Context, t gcs.Table, key, value []byte) error {
	c.writes.Add(1)
	return c.API.Put(ctx, t, key, value)
}

func (c *countingAPI) Delete(ctx context.Context, t gcs.Table, key []byte) error {
	c.writes.Add(1)
	return c.API.Delete(ctx, t, key)
}

func (c *countingAPI) Get(ctx context.Context, t gcs.Table, key, dst []byte) ([]byte, bool, error) {
	c.gets.Add(1)
	return c.API.Get(ctx, t, key, dst)
}

// writeBinary writes size random bytes to a file in a new temp dir.
func writeBinary(t *testing.T, size int) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	path := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// checkCopy checks that path holds data and is executable.
func checkCopy(t *testing.T, path string, data []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("%s: %d bytes differ from the %d published", path, len(got), len(data))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Fatalf("%s: mode %v, want 0755", path, fi.Mode())
	}
}

func TestPublishFetchBinary(t *testing.T) {
	ctx := context.Background()
	api := &countingAPI{API: openGCS(t)}
	size := 3*BinaryChunkSize + 12345
	path, data := writeBinary(t, size)

	h, err := PublishBinary(ctx, api, path)
	if err != nil {
		t.Fatal(err)
	}
	if h != sha256.Sum256(data) {
		t.Fatalf("hash %s is not the file's SHA-256", h)
	}
	if w := api.writes.Load(); w != 5 { // four chunks and the descriptor
		t.Fatalf("first publish: %d writes, want 5", w)
	}
	raw, ok, err := api.Get(ctx, gcs.Functions, []byte("bin/"+h.String()), nil)
	if err != nil || !ok {
		t.Fatalf("descriptor: %v, %v", ok, err)
	}
	if d, err := DecodeBinaryDescriptor(raw); err != nil || d != (BinaryDescriptor{Size: int64(size), ChunkSize: BinaryChunkSize, Chunks: 4}) {
		t.Fatalf("descriptor %+v, %v", d, err)
	}

	// Published again: one Get, nothing written.
	api.writes.Store(0)
	api.gets.Store(0)
	if again, err := PublishBinary(ctx, api, path); err != nil || again != h {
		t.Fatalf("second publish: %s, %v", again, err)
	}
	if w, g := api.writes.Load(), api.gets.Load(); w != 0 || g != 1 {
		t.Fatalf("second publish: %d writes and %d gets, want 0 and 1", w, g)
	}

	dir := filepath.Join(t.TempDir(), "bin") // FetchBinary creates it
	got, err := FetchBinary(ctx, api, h, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != filepath.Join(dir, h.String()) {
		t.Fatalf("fetched to %s", got)
	}
	checkCopy(t, got, data)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%s holds %d entries, want only the binary", dir, len(entries))
	}

	// Already there: no GCS read.
	api.gets.Store(0)
	if again, err := FetchBinary(ctx, api, h, dir); err != nil || again != got {
		t.Fatalf("second fetch: %s, %v", again, err)
	}
	if g := api.gets.Load(); g != 0 {
		t.Fatalf("second fetch read the GCS %d times", g)
	}
}

func TestPublishFetchEmptyBinary(t *testing.T) {
	ctx := context.Background()
	st := openGCS(t)
	path, data := writeBinary(t, 0)
	h, err := PublishBinary(ctx, st, path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := FetchBinary(ctx, st, h, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	checkCopy(t, got, data)
}

func TestFetchBinaryUnavailable(t *testing.T) {
	ctx := context.Background()
	st := openGCS(t)
	path, _ := writeBinary(t, 2*BinaryChunkSize+1)
	h, err := PublishBinary(ctx, st, path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := func(i int) []byte { return binaryChunkKey(nil, h, i) }

	corrupt := func(t *testing.T, damage func()) {
		t.Helper()
		damage()
		dir := t.TempDir()
		_, err := FetchBinary(ctx, st, h, dir)
		if !errors.Is(err, ErrBinaryUnavailable) {
			t.Fatalf("fetch: %v, want ErrBinaryUnavailable", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("a failed fetch left %d entries in %s", len(entries), dir)
		}
		// Undo the damage: without a descriptor, a publish rewrites all.
		st.Delete(ctx, gcs.Functions, binaryKey(h))
		if _, err := PublishBinary(ctx, st, path); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("never published", func(t *testing.T) {
		var other BinaryHash
		other[0] = 1
		_, err := FetchBinary(ctx, st, other, t.TempDir())
		if !errors.Is(err, ErrBinaryUnavailable) {
			t.Fatalf("fetch: %v, want ErrBinaryUnavailable", err)
		}
	})
	t.Run("flipped byte", func(t *testing.T) {
		corrupt(t, func() {
			b, _, _ := st.Get(ctx, gcs.Functions, chunk(1), nil)
			b[100] ^= 1
			st.Put(ctx, gcs.Functions, chunk(1), b)
		})
	})
	t.Run("short chunk", func(t *testing.T) {
		corrupt(t, func() {
			b, _, _ := st.Get(ctx, gcs.Functions, chunk(0), nil)
			st.Put(ctx, gcs.Functions, chunk(0), b[:len(b)-1])
		})
	})
	t.Run("missing chunk", func(t *testing.T) {
		corrupt(t, func() { st.Delete(ctx, gcs.Functions, chunk(2)) })
	})
	t.Run("malformed descriptor", func(t *testing.T) {
		corrupt(t, func() { st.Put(ctx, gcs.Functions, binaryKey(h), []byte{9, 1, 1, 1}) })
	})
	t.Run("repaired", func(t *testing.T) {
		if _, err := FetchBinary(ctx, st, h, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	})
}

// Two goroutines fetching one hash into one dir both get the copy, read
// from the GCS once; two "processes" (the unlocked path) writing it at
// once leave one good copy and no temporary files.
func TestFetchBinaryConcurrent(t *testing.T) {
	ctx := context.Background()
	api := &countingAPI{API: openGCS(t)}
	path, data := writeBinary(t, 2*BinaryChunkSize+7)
	h, err := PublishBinary(ctx, api, path)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	api.gets.Store(0)
	var wg sync.WaitGroup
	var paths [2]string
	var errs [2]error
	for i := range paths {
		wg.Go(func() { paths[i], errs[i] = FetchBinary(ctx, api, h, dir) })
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
	}
	if paths[0] != paths[1] {
		t.Fatalf("two paths: %s and %s", paths[0], paths[1])
	}
	checkCopy(t, paths[0], data)
	if g := api.gets.Load(); g != 4 { // the descriptor and three chunks
		t.Fatalf("two fetches read the GCS %d times, want 4", g)
	}

	dir = t.TempDir()
	dst := filepath.Join(dir, h.String())
	for range 4 {
		wg.Go(func() {
			if err := fetchBinary(ctx, api, h, dir, dst); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	checkCopy(t, dst, data)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%s holds %d entries, want only the binary", dir, len(entries))
	}
}

func TestParseBinaryHash(t *testing.T) {
	h := BinaryHash(sha256.Sum256([]byte("manta")))
	if got, err := ParseBinaryHash(h.String()); err != nil || got != h {
		t.Fatalf("round trip: %s, %v", got, err)
	}
	for _, s := range []string{"", "00", h.String()[1:], h.String() + "0", "zz" + h.String()[2:]} {
		if _, err := ParseBinaryHash(s); err == nil {
			t.Errorf("ParseBinaryHash(%q) succeeded", s)
		}
	}
}

func TestDecodeBinaryDescriptor(t *testing.T) {
	good := BinaryDescriptor{Size: 5<<20 + 1, ChunkSize: 1 << 20, Chunks: 6}
	if d, err := DecodeBinaryDescriptor(good.Append(nil)); err != nil || d != good {
		t.Fatalf("round trip: %+v, %v", d, err)
	}
	for name, b := range map[string][]byte{
		"empty":          nil,
		"version":        append([]byte{2}, good.Append(nil)[1:]...),
		"truncated":      good.Append(nil)[:3],
		"trailing":       append(good.Append(nil), 0),
		"chunk count":    BinaryDescriptor{Size: 10, ChunkSize: 4, Chunks: 2}.Append(nil),
		"zero chunk":     BinaryDescriptor{Size: 0, ChunkSize: 0, Chunks: 0}.Append(nil),
		"huge chunk":     BinaryDescriptor{Size: 1, ChunkSize: gcs.DefaultMaxValue + 1, Chunks: 1}.Append(nil),
		"huge size":      BinaryDescriptor{Size: MaxBinarySize + 1, ChunkSize: 1 << 20, Chunks: 4097}.Append(nil),
		"non-minimal":    {1, 0x81, 0x00, 1, 1},
		"overflow":       {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 0},
		"negative chunk": BinaryDescriptor{Size: 1, ChunkSize: -1, Chunks: 1}.Append(nil),
	} {
		if d, err := DecodeBinaryDescriptor(b); !errors.Is(err, gcs.ErrMalformed) {
			t.Errorf("%s: %x decodes to %+v, %v", name, b, d, err)
		}
	}
}

func FuzzDecodeBinaryDescriptor(f *testing.F) {
	f.Add(BinaryDescriptor{Size: 3<<20 + 5, ChunkSize: 1 << 20, Chunks: 4}.Append(nil))
	f.Add(BinaryDescriptor{ChunkSize: 1 << 20}.Append(nil))
	f.Add(BinaryDescriptor{Size: MaxBinarySize, ChunkSize: gcs.DefaultMaxValue, Chunks: MaxBinarySize / gcs.DefaultMaxValue}.Append(nil))
	f.Add([]byte{1, 0x81, 0x00, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeBinaryDescriptor(b)
		if err != nil {
			if !errors.Is(err, gcs.ErrMalformed) {
				t.Fatalf("%x: error %v does not wrap gcs.ErrMalformed", b, err)
			}
			return
		}
		if d.Size < 0 || d.Size > MaxBinarySize || d.ChunkSize < 1 || d.ChunkSize > gcs.DefaultMaxValue ||
			int64(d.Chunks)*int64(d.ChunkSize) < d.Size || (d.Chunks > 0 && int64(d.Chunks-1)*int64(d.ChunkSize) >= d.Size) {
			t.Fatalf("%x decodes to an inconsistent %+v", b, d)
		}
		if again := d.Append(nil); !bytes.Equal(again, b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, d, again)
		}
	})
}

// The test binary itself, shipped through the table, runs from the copy.
func TestFetchedBinaryRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the test binary")
	}
	ctx := context.Background()
	st := openGCS(t)
	self, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	h, err := PublishBinary(ctx, st, self)
	if err != nil {
		t.Fatal(err)
	}
	path, err := FetchBinary(ctx, st, h, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, path, "-test.run=^$").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("PASS")) {
		t.Fatalf("running the fetched copy: %v\n%s", err, out)
	}
}
