package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"manta/gcs"
)

// BinaryHash names a program in the function table: the SHA-256 of its
// executable file. Two files with the same bytes have the same hash,
// whatever their names.
type BinaryHash [32]byte

// String is the hash in lower-case hex (64 characters): the form
// ParseBinaryHash reads and the name FetchBinary gives its copy.
func (h BinaryHash) String() string { return hex.EncodeToString(h[:]) }

// ParseBinaryHash reads what BinaryHash.String wrote: exactly 64 hex
// digits (either case).
func ParseBinaryHash(s string) (BinaryHash, error) {
	var h BinaryHash
	if len(s) != 2*len(h) {
		return BinaryHash{}, fmt.Errorf("cluster: %q is not a binary hash (64 hex digits)", s)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return BinaryHash{}, fmt.Errorf("cluster: %q is not a binary hash (64 hex digits)", s)
	}
	return h, nil
}

// ErrBinaryUnavailable is wrapped, with the hash, by FetchBinary's error
// when the function table cannot supply the binary: no descriptor (it was
// never published, or its publisher is still writing its chunks), a
// malformed descriptor, a missing chunk, or content that does not match
// its hash. Test with errors.Is; fetching again will not help unless
// someone publishes the binary.
var ErrBinaryUnavailable = errors.New("cluster: binary unavailable")

// BinaryChunkSize is the size of the chunks PublishBinary writes (the
// last one may be shorter): well under the GCS's value limit,
// gcs.DefaultMaxValue.
const BinaryChunkSize = 1 << 20

// MaxBinarySize is the largest file PublishBinary takes and the largest
// size DecodeBinaryDescriptor accepts (4 GiB). Every byte of a published
// binary stays in the GCS's memory.
const MaxBinarySize = 1 << 32

// binaryDescriptorVersion prefixes an encoded BinaryDescriptor.
const binaryDescriptorVersion = 1

// BinaryDescriptor is the function table's record of a published binary
// (key "bin/<hash>" in gcs.Functions): how many bytes it has and how they
// are cut into chunks (keys "bin/<hash>/<index>", index from 0 in
// decimal). PublishBinary writes it after every chunk, so a reader that
// finds it finds the chunks.
type BinaryDescriptor struct {
	// Size is the file's length in bytes, at most MaxBinarySize.
	Size int64
	// ChunkSize is the length of every chunk but the last, which holds
	// the rest; from 1 to gcs.DefaultMaxValue.
	ChunkSize int
	// Chunks is the number of chunks: Size divided by ChunkSize, rounded
	// up (zero for an empty file).
	Chunks int
}

// Append appends d's binary form (a version byte, then Size, ChunkSize
// and Chunks as unsigned varints), the one DecodeBinaryDescriptor reads.
func (d BinaryDescriptor) Append(dst []byte) []byte {
	dst = append(dst, binaryDescriptorVersion)
	dst = binary.AppendUvarint(dst, uint64(d.Size))
	dst = binary.AppendUvarint(dst, uint64(d.ChunkSize))
	return binary.AppendUvarint(dst, uint64(d.Chunks))
}

// chunkLen is the length of chunk i.
func (d BinaryDescriptor) chunkLen(i int) int {
	if i == d.Chunks-1 {
		return int(d.Size - int64(i)*int64(d.ChunkSize))
	}
	return d.ChunkSize
}

// newBinaryDescriptor describes a file of size bytes in chunks of
// BinaryChunkSize.
func newBinaryDescriptor(size int64) BinaryDescriptor {
	return BinaryDescriptor{Size: size, ChunkSize: BinaryChunkSize, Chunks: int((size + BinaryChunkSize - 1) / BinaryChunkSize)}
}

// DecodeBinaryDescriptor reads what BinaryDescriptor.Append wrote. It
// refuses, with an error wrapping gcs.ErrMalformed, another version, a
// truncated or overlong input, varints not in their shortest form, a
// size over MaxBinarySize, a chunk size outside 1 to gcs.DefaultMaxValue,
// and a chunk count that does not match the size and chunk size.
func DecodeBinaryDescriptor(b []byte) (BinaryDescriptor, error) {
	bad := func(what string) (BinaryDescriptor, error) {
		return BinaryDescriptor{}, fmt.Errorf("%w: binary descriptor: %s", gcs.ErrMalformed, what)
	}
	if len(b) == 0 {
		return bad("empty")
	}
	if b[0] != binaryDescriptorVersion {
		return bad(fmt.Sprintf("version %d", b[0]))
	}
	rest := b[1:]
	var fields [3]uint64
	for i, name := range [...]string{"size", "chunk size", "chunk count"} {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return bad("truncated or overflowing " + name)
		}
		if n != varintLen(v) {
			return bad("non-minimal " + name)
		}
		fields[i], rest = v, rest[n:]
	}
	if len(rest) != 0 {
		return bad(fmt.Sprintf("%d trailing bytes", len(rest)))
	}
	size, chunk, count := fields[0], fields[1], fields[2]
	switch {
	case size > MaxBinarySize:
		return bad(fmt.Sprintf("size %d over the limit of %d bytes (MaxBinarySize)", size, uint64(MaxBinarySize)))
	case chunk == 0 || chunk > gcs.DefaultMaxValue:
		return bad(fmt.Sprintf("chunk size %d not from 1 to %d", chunk, gcs.DefaultMaxValue))
	case count != (size+chunk-1)/chunk:
		return bad(fmt.Sprintf("%d chunks of %d bytes for a size of %d", count, chunk, size))
	}
	return BinaryDescriptor{Size: int64(size), ChunkSize: int(chunk), Chunks: int(count)}, nil
}

func varintLen(v uint64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], v)
}

// binaryKey is the descriptor's key in gcs.Functions: "bin/<hex>".
func binaryKey(h BinaryHash) []byte {
	return append([]byte("bin/"), h.String()...)
}

// binaryChunkKey appends chunk i's key, "bin/<hex>/<i>", to dst.
func binaryChunkKey(dst []byte, h BinaryHash, i int) []byte {
	dst = append(dst, "bin/"...)
	dst = hex.AppendEncode(dst, h[:])
	dst = append(dst, '/')
	return strconv.AppendInt(dst, int64(i), 10)
}

// PublishBinary puts the file at path (typically os.Executable()) into
// the function table, gcs.Functions, so that a node that never had it can
// FetchBinary it by the returned hash. It hashes the file and, if the
// table has no descriptor for that hash yet, writes the file in chunks of
// BinaryChunkSize and then the descriptor, last. When the binary is
// already published it costs the hashing and one Get, and writes
// nothing; publishing the same file from several processes at once is
// safe (they write the same bytes).
//
// The file must be a regular file of at most MaxBinarySize bytes that
// does not change while it is published: it is read twice, and a second
// reading that differs from the first fails without writing the
// descriptor. A publish that fails or is cancelled part way may leave
// chunks without a descriptor; a later publish rewrites them.
func PublishBinary(ctx context.Context, api gcs.API, path string) (BinaryHash, error) {
	f, err := os.Open(path)
	if err != nil {
		return BinaryHash{}, fmt.Errorf("cluster: publishing a binary: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return BinaryHash{}, fmt.Errorf("cluster: publishing a binary: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return BinaryHash{}, fmt.Errorf("cluster: publishing %s: not a regular file", path)
	}
	sum := sha256.New()
	size, err := io.Copy(sum, io.LimitReader(f, MaxBinarySize+1))
	if err != nil {
		return BinaryHash{}, fmt.Errorf("cluster: publishing a binary: %w", err)
	}
	if size > MaxBinarySize {
		return BinaryHash{}, fmt.Errorf("cluster: publishing %s: over the limit of %d bytes (MaxBinarySize)", path, int64(MaxBinarySize))
	}
	var h BinaryHash
	sum.Sum(h[:0])
	key := binaryKey(h)
	have, ok, err := api.Get(ctx, gcs.Functions, key, nil)
	if err != nil {
		return h, fmt.Errorf("cluster: publishing binary %s: %w", h, err)
	}
	if ok {
		if _, err := DecodeBinaryDescriptor(have); err == nil {
			return h, nil
		}
		// A descriptor that does not decode (another version's): write ours.
	}

	d := newBinaryDescriptor(size)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return h, fmt.Errorf("cluster: publishing a binary: %w", err)
	}
	sum.Reset()
	buf := make([]byte, d.ChunkSize)
	var ckey []byte
	for i := range d.Chunks {
		chunk := buf[:d.chunkLen(i)]
		if _, err := io.ReadFull(f, chunk); err != nil {
			return h, fmt.Errorf("cluster: publishing %s: it changed while being read (%w)", path, err)
		}
		sum.Write(chunk)
		ckey = binaryChunkKey(ckey[:0], h, i)
		if err := api.Put(ctx, gcs.Functions, ckey, chunk); err != nil {
			return h, fmt.Errorf("cluster: publishing binary %s: chunk %d: %w", h, i, err)
		}
	}
	var again BinaryHash
	if sum.Sum(again[:0]); again != h {
		return h, fmt.Errorf("cluster: publishing %s: it changed while being read", path)
	}
	if n, _ := f.Read(buf[:1]); n != 0 {
		return h, fmt.Errorf("cluster: publishing %s: it changed while being read", path)
	}
	if err := api.Put(ctx, gcs.Functions, key, d.Append(nil)); err != nil {
		return h, fmt.Errorf("cluster: publishing binary %s: %w", h, err)
	}
	return h, nil
}

// fetches holds, per destination path, a channel closed when this
// process's fetch into it ends, so that concurrent FetchBinary calls for
// one hash and dir download it once.
var fetches struct {
	sync.Mutex
	inFlight map[string]chan struct{}
}

// FetchBinary returns the path of an executable copy (mode 0755) of the
// binary named hash, dir/<hash>, reading it from the function table if
// dir does not have it yet; dir is created if missing. A file already
// at that path is trusted (only a verified copy is ever put there) and
// returned at once.
//
// Otherwise it reads the descriptor and the chunks, checks their SHA-256
// against hash, writes them to a temporary file in dir and renames it
// into place, so no one sees a partial copy. When the table cannot
// supply the binary (see ErrBinaryUnavailable) the error wraps
// ErrBinaryUnavailable; other errors are the GCS's or the file system's.
// Concurrent fetches of one hash into one dir are safe: within a process
// the later ones wait for the first (or for their ctx), and across
// processes each writes its own temporary file and the renames replace
// one verified copy with an identical one.
func FetchBinary(ctx context.Context, api gcs.API, hash BinaryHash, dir string) (string, error) {
	dst := filepath.Join(dir, hash.String())
	var release func()
	for release == nil {
		if ok, err := haveBinary(dst); ok || err != nil {
			return dst, err
		}
		var wait <-chan struct{}
		if release, wait = claimFetch(dst); release == nil {
			select {
			case <-wait: // it ended: look again, and fetch if it failed
			case <-ctx.Done():
				return "", fmt.Errorf("cluster: fetching binary %s: %w", hash, ctx.Err())
			}
		}
	}
	defer release()
	// Another process may have renamed its copy into place meanwhile.
	if ok, err := haveBinary(dst); ok || err != nil {
		return dst, err
	}
	if err := fetchBinary(ctx, api, hash, dir, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// claimFetch makes this goroutine the one fetching into dst and returns
// the function that ends its claim, or, if another goroutine holds it,
// returns a channel closed when that one's ends.
func claimFetch(dst string) (release func(), wait <-chan struct{}) {
	fetches.Lock()
	defer fetches.Unlock()
	if ch, busy := fetches.inFlight[dst]; busy {
		return nil, ch
	}
	if fetches.inFlight == nil {
		fetches.inFlight = make(map[string]chan struct{})
	}
	done := make(chan struct{})
	fetches.inFlight[dst] = done
	return func() {
		fetches.Lock()
		delete(fetches.inFlight, dst)
		fetches.Unlock()
		close(done)
	}, nil
}

// haveBinary reports whether path holds a fetched copy: an executable
// regular file.
func haveBinary(path string) (bool, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("cluster: fetching a binary: %w", err)
	}
	return fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0, nil
}

// fetchBinary reads the binary named hash from the table and renames a
// verified, executable copy of it to dst, a path in dir.
func fetchBinary(ctx context.Context, api gcs.API, hash BinaryHash, dir, dst string) (err error) {
	unavailable := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: "+format, append([]any{ErrBinaryUnavailable, hash}, args...)...)
	}
	raw, ok, err := api.Get(ctx, gcs.Functions, binaryKey(hash), nil)
	if err != nil {
		return fmt.Errorf("cluster: fetching binary %s: %w", hash, err)
	}
	if !ok {
		return unavailable("not published")
	}
	d, err := DecodeBinaryDescriptor(raw)
	if err != nil {
		return unavailable("%w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cluster: fetching binary %s: %w", hash, err)
	}
	f, err := os.CreateTemp(dir, "."+hash.String()+".*.tmp")
	if err != nil {
		return fmt.Errorf("cluster: fetching binary %s: %w", hash, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	sum := sha256.New()
	var buf, ckey []byte
	for i := range d.Chunks {
		ckey = binaryChunkKey(ckey[:0], hash, i)
		buf, ok, err = api.Get(ctx, gcs.Functions, ckey, buf[:0])
		switch {
		case err != nil:
			return fmt.Errorf("cluster: fetching binary %s: chunk %d: %w", hash, i, err)
		case !ok:
			return unavailable("chunk %d of %d is missing", i, d.Chunks)
		case len(buf) != d.chunkLen(i):
			return unavailable("chunk %d has %d bytes, not %d", i, len(buf), d.chunkLen(i))
		}
		sum.Write(buf)
		if _, err := f.Write(buf); err != nil {
			return fmt.Errorf("cluster: fetching binary %s: %w", hash, err)
		}
	}
	var got BinaryHash
	if sum.Sum(got[:0]); got != hash {
		return unavailable("the content's hash is %s", got)
	}
	if err := f.Chmod(0o755); err != nil {
		return fmt.Errorf("cluster: fetching binary %s: %w", hash, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cluster: fetching binary %s: %w", hash, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cluster: fetching binary %s: %w", hash, err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("cluster: fetching binary %s: %w", hash, err)
	}
	return nil
}
