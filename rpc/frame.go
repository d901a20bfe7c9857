package rpc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Frame sizes and limits.
const (
	// DefaultMaxFrame is the default limit on a request's or a response's
	// payload.
	DefaultMaxFrame = 64 << 20
	// MaxFrameLimit is the largest MaxFrame a config may ask for.
	MaxFrameLimit = 1 << 30

	// requestHeaderSize: method u16, flags u8, timeout u32 (µs), length u32.
	requestHeaderSize = 11
	// responseHeaderSize: request ID u32 (fastrpc's), status u8, length u32.
	// The server writes only the last 5 bytes; fastrpc writes the ID.
	responseHeaderSize = 9

	// payloadChunk is how much a reader allocates ahead of the bytes that
	// have arrived, so a forged length costs at most about twice what the
	// peer really sent.
	payloadChunk = 64 << 10
)

// Response status codes.
const (
	statusOK       byte = iota // payload: the handler's response
	statusError                // payload: the handler's error message
	statusTooLarge             // payload: a message naming the limit
	statusBusy                 // payload: a message; the handler did not run
	statusExpired              // the deadline passed before the handler ran
	statusClosed               // the server was closing; the handler did not run
	statusEnd
)

// errMalformed marks a frame that breaks the format; the connection that
// carried it is closed.
var errMalformed = errors.New("rpc: malformed frame")

// appendRequest appends a request frame (without fastrpc's request ID) to dst.
func appendRequest(dst []byte, m Method, timeoutMicros uint32, payload []byte) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(m))
	dst = append(dst, 0) // flags, reserved
	dst = binary.LittleEndian.AppendUint32(dst, timeoutMicros)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// appendResponse appends a response frame (without fastrpc's request ID).
func appendResponse(dst []byte, status byte, payload []byte) []byte {
	dst = append(dst, status)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// requestFrame is one decoded request.
type requestFrame struct {
	method  Method
	timeout uint32 // µs the caller waits; 0 = not given
	payload []byte
}

// readRequest reads one request frame from br into f, reusing f.payload.
// It never reads past the frame, and never allocates more than about twice
// the bytes that arrived, whatever the length field says.
func readRequest(br *bufio.Reader, maxFrame int, f *requestFrame) error {
	h, err := br.Peek(requestHeaderSize)
	if err != nil {
		return truncated("request header", len(h), err)
	}
	m := Method(binary.LittleEndian.Uint16(h))
	flags := h[2]
	timeout := binary.LittleEndian.Uint32(h[3:])
	n := binary.LittleEndian.Uint32(h[7:])
	if flags != 0 {
		return fmt.Errorf("%w: reserved flags %#x set", errMalformed, flags)
	}
	if uint64(n) > uint64(maxFrame) {
		return fmt.Errorf("%w: request of %d bytes exceeds the %d-byte limit (MaxFrame)", ErrFrameTooLarge, n, maxFrame)
	}
	br.Discard(requestHeaderSize) // the bytes were peeked
	f.method, f.timeout = m, timeout
	f.payload, err = readPayload(br, f.payload[:0], int(n))
	if err != nil {
		return truncated("request payload", len(f.payload), err)
	}
	return nil
}

// WriteRequest writes f after fastrpc's request ID: it makes requestFrame a
// fastrpc.RequestWriter, so fastrpc.Client can talk to a Server (see the
// interoperability test). Client itself writes prebuilt frames.
func (f *requestFrame) WriteRequest(bw *bufio.Writer) error {
	_, err := bw.Write(appendRequest(bw.AvailableBuffer(), f.method, f.timeout, f.payload))
	return err
}

// responseReader reads response frames (fastrpc's request ID included) off
// a client connection.
type responseReader struct {
	br       *bufio.Reader
	maxFrame int
	skip     int    // peeked payload bytes to discard before the next frame
	scratch  []byte // payloads larger than br's buffer
}

// header reads the next response's header: its request ID, status and
// payload length n, which the caller reads next with body or into. io.EOF
// means the peer closed between frames.
func (r *responseReader) header() (id uint32, status byte, n int, err error) {
	if r.skip > 0 {
		r.br.Discard(r.skip) // the bytes were peeked
		r.skip = 0
	}
	if cap(r.scratch) > payloadChunk {
		r.scratch = nil // do not hold on to one huge response
	}
	h, err := r.br.Peek(responseHeaderSize)
	if err != nil {
		if len(h) == 0 && err == io.EOF {
			return 0, 0, 0, io.EOF
		}
		return 0, 0, 0, truncated("response header", len(h), err)
	}
	id = binary.LittleEndian.Uint32(h)
	status = h[4]
	size := binary.LittleEndian.Uint32(h[5:])
	if status >= statusEnd {
		return 0, 0, 0, fmt.Errorf("%w: unknown status %d", errMalformed, status)
	}
	if uint64(size) > uint64(r.maxFrame) {
		return 0, 0, 0, fmt.Errorf("%w: response of %d bytes exceeds the %d-byte limit (MaxFrame)", ErrFrameTooLarge, size, r.maxFrame)
	}
	r.br.Discard(responseHeaderSize) // the bytes were peeked
	return id, status, int(size), nil
}

// body reads the n-byte payload after header. It aliases br's buffer or
// r.scratch and is valid until the next header.
func (r *responseReader) body(n int) ([]byte, error) {
	if n <= r.br.Size() {
		payload, err := r.br.Peek(n)
		if err != nil {
			return nil, truncated("response payload", len(payload), err)
		}
		r.skip = n
		return payload, nil
	}
	var err error
	r.scratch, err = readPayload(r.br, r.scratch[:0], n)
	if err != nil {
		return nil, truncated("response payload", len(r.scratch), err)
	}
	return r.scratch, nil
}

// into reads the n-byte payload after header straight into dst's spare
// capacity, which must hold it: a large response whose caller gave
// room is read with no copy on the way.
func (r *responseReader) into(dst []byte, n int) ([]byte, error) {
	start := len(dst)
	dst = dst[:start+n]
	if k, err := io.ReadFull(r.br, dst[start:]); err != nil {
		return dst[:start], truncated("response payload", k, err)
	}
	return dst, nil
}

// responseFrame is one response read by fastrpc.Client: it makes the frame
// format a fastrpc.ResponseReader (used by the interoperability test).
type responseFrame struct {
	status   byte
	payload  []byte
	maxFrame int
}

// ReadResponse reads the frame that follows fastrpc's request ID.
func (f *responseFrame) ReadResponse(br *bufio.Reader) error {
	h, err := br.Peek(responseHeaderSize - 4)
	if err != nil {
		return truncated("response header", len(h), err)
	}
	status, n := h[0], binary.LittleEndian.Uint32(h[1:])
	if status >= statusEnd {
		return fmt.Errorf("%w: unknown status %d", errMalformed, status)
	}
	if uint64(n) > uint64(f.maxFrame) {
		return fmt.Errorf("%w: response of %d bytes exceeds the %d-byte limit (MaxFrame)", ErrFrameTooLarge, n, f.maxFrame)
	}
	br.Discard(len(h)) // the bytes were peeked
	f.status = status
	f.payload, err = readPayload(br, f.payload[:0], int(n))
	if err != nil {
		return truncated("response payload", len(f.payload), err)
	}
	return nil
}

// readPayload appends n bytes from br to dst, growing dst only as the bytes
// arrive (payloadChunk at a time).
func readPayload(br *bufio.Reader, dst []byte, n int) ([]byte, error) {
	for n > 0 {
		chunk := min(n, payloadChunk)
		dst = slices.Grow(dst, chunk)
		start := len(dst)
		dst = dst[:start+chunk]
		if k, err := io.ReadFull(br, dst[start:]); err != nil {
			return dst[:start+k], err
		}
		n -= chunk
	}
	return dst, nil
}

// truncated describes a read that stopped early. A peer that hangs up in
// the middle of a frame is reported as a truncated frame.
func truncated(what string, got int, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: truncated %s (%d bytes)", errMalformed, what, got)
	}
	return fmt.Errorf("cannot read %s: %w", what, err)
}
