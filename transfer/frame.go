package transfer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"manta/rpc"
	"manta/shm/store"
)

// MethodChunk is the rpc method number of a chunk request. A Server
// answers only this method.
const MethodChunk rpc.Method = 0x7401

// requestVersion is the first byte of every request frame.
const requestVersion = 1

// RequestSize is the size of an encoded chunk request:
//
//	version u8 (1) | object ID [20] | object size u64 | offset u64 | length u32
//
// Integers are little-endian. The response is the chunk's bytes, exactly
// length of them, or an rpc handler error whose message starts with one
// of the error codes below.
const RequestSize = 1 + len(store.ID{}) + 8 + 8 + 4

// Request names one chunk of one object.
type Request struct {
	ID     store.ID // the object
	Size   int64    // its size as the puller knows it; the server checks it
	Offset int64    // the chunk's first byte
	Length int      // the chunk's length
}

// errMalformed: a request frame that does not decode.
var errMalformed = errors.New("transfer: malformed request")

// AppendBinary appends r's encoding to dst.
func (r Request) AppendBinary(dst []byte) ([]byte, error) {
	if err := r.check(); err != nil {
		return dst, err
	}
	dst = append(dst, requestVersion)
	dst = append(dst, r.ID[:]...)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.Size))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.Offset))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(r.Length))
	return dst, nil
}

// check reports a request whose range is not inside its object.
func (r Request) check() error {
	if r.Size < 0 || r.Offset < 0 || r.Length < 0 || r.Length > maxChunk ||
		r.Offset > r.Size || int64(r.Length) > r.Size-r.Offset {
		return fmt.Errorf("%w: bytes [%d, +%d) of an object of %d", ErrBadRange, r.Offset, r.Length, r.Size)
	}
	return nil
}

// DecodeRequest decodes a request frame. Any frame that is not exactly
// RequestSize bytes of a known version, or whose range lies outside the
// object it describes, is an error; it never panics.
func DecodeRequest(b []byte) (Request, error) {
	if len(b) != RequestSize {
		return Request{}, fmt.Errorf("%w: %d bytes, want %d", errMalformed, len(b), RequestSize)
	}
	if b[0] != requestVersion {
		return Request{}, fmt.Errorf("%w: version %d", errMalformed, b[0])
	}
	var r Request
	b = b[1:]
	copy(r.ID[:], b)
	b = b[len(r.ID):]
	size := binary.LittleEndian.Uint64(b)
	off := binary.LittleEndian.Uint64(b[8:])
	n := binary.LittleEndian.Uint32(b[16:])
	if size > 1<<62 || off > 1<<62 || n > maxChunk {
		return Request{}, fmt.Errorf("%w: bytes [%d, +%d) of an object of %d", ErrBadRange, off, n, size)
	}
	r.Size, r.Offset, r.Length = int64(size), int64(off), int(n)
	return r, r.check()
}

// maxChunk is the largest chunk a request may ask for (rpc's MaxFrameLimit).
const maxChunk = rpc.MaxFrameLimit

// Errors a Server reports; a Puller gives them back (wrapped, and wrapped
// in ErrTransferFailed when no peer could serve the object).
var (
	// ErrObjectNotFound: the peer's store has no such object.
	ErrObjectNotFound = errors.New("transfer: object not found on the peer")
	// ErrNotSealed: the peer's object is still being written.
	ErrNotSealed = errors.New("transfer: object not sealed on the peer")
	// ErrSizeMismatch: the peer's object has another size than the
	// puller's.
	ErrSizeMismatch = errors.New("transfer: object size differs on the peer")
	// ErrBadRange: a chunk outside its object.
	ErrBadRange = errors.New("transfer: chunk outside the object")
	// ErrObjectLost: the peer's only copy was spilled and could not be
	// read back.
	ErrObjectLost = errors.New("transfer: object lost on the peer")
	// ErrPeer: any other failure of the peer to read the object.
	ErrPeer = errors.New("transfer: peer cannot read the object")
)

// remoteErrors are the errors whose text travels as an error code: a
// handler's error reaches the caller as an rpc.RemoteError carrying only
// its message, which starts with the sentinel's text.
var remoteErrors = []error{ErrObjectNotFound, ErrNotSealed, ErrSizeMismatch, ErrBadRange, ErrObjectLost, ErrPeer, errMalformed}

// fromRemote maps an rpc.RemoteError back to its sentinel.
func fromRemote(err error) error {
	var re *rpc.RemoteError
	if !errors.As(err, &re) {
		return err
	}
	for _, s := range remoteErrors {
		if strings.HasPrefix(re.Msg, s.Error()) {
			return fmt.Errorf("%w (peer: %s)", s, re.Msg)
		}
	}
	return err
}
