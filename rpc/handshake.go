package rpc

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/valyala/fastrpc"
)

// The authentication handshake, before fastrpc's own connection header:
//
//	server → client  hello    "mRPC" | version u8 | server MaxFrame u32 | server nonce [32]
//	client → server  auth     client nonce [32] | client MaxFrame u32 | client MAC [32]
//	server → client  verdict  0 | server MAC [32]     (accepted)
//	                          1                       (refused; the server then closes)
//
// client MAC = HMAC-SHA256(token, "manta-rpc-v1 client" | hello | auth[:36])
// server MAC = HMAC-SHA256(token, "manta-rpc-v1 server" | hello | auth[:36])
//
// Both sides prove they hold the token without sending it, over nonces the
// other side chose, so a recorded exchange cannot be replayed; the MACs
// also cover both MaxFrame values.
const (
	helloMagic   = "mRPC"
	protoVersion = 1
	nonceSize    = 32
	macSize      = sha256.Size
	helloSize    = len(helloMagic) + 1 + 4 + nonceSize
	authSize     = nonceSize + 4 + macSize
	verdictSize  = 1 + macSize

	verdictOK      = 0
	verdictRefused = 1

	clientLabel = "manta-rpc-v1 client"
	serverLabel = "manta-rpc-v1 server"
)

// fastrpc's connection header, which follows the handshake.
const (
	sniffHeader     = "manta-rpc"
	fastrpcVersion  = 1
	fastrpcHdrSize  = len(sniffHeader) + 3
	compressNone    = byte(fastrpc.CompressNone)
	fastrpcNoTLSTag = 0
)

func appendHello(dst []byte, maxFrame int, nonce []byte) []byte {
	dst = append(dst, helloMagic...)
	dst = append(dst, protoVersion)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(maxFrame))
	return append(dst, nonce...)
}

// parseHello checks a server's hello and returns its MaxFrame.
func parseHello(h []byte) (maxFrame int, err error) {
	if len(h) != helloSize || string(h[:4]) != helloMagic {
		return 0, fmt.Errorf("%w: not a manta rpc server (bad hello)", errMalformed)
	}
	if h[4] != protoVersion {
		return 0, fmt.Errorf("%w: server speaks protocol version %d, this client %d", errMalformed, h[4], protoVersion)
	}
	return checkMaxFrame(binary.LittleEndian.Uint32(h[5:]))
}

func checkMaxFrame(v uint32) (int, error) {
	if v == 0 || v > MaxFrameLimit {
		return 0, fmt.Errorf("%w: MaxFrame %d out of range", errMalformed, v)
	}
	return int(v), nil
}

func handshakeMAC(token []byte, label string, hello, auth []byte) []byte {
	h := hmac.New(sha256.New, token)
	h.Write([]byte(label))
	h.Write(hello)
	h.Write(auth[:nonceSize+4])
	return h.Sum(nil)
}

// serverHandshake runs the server's half on rw, the raw connection, with
// nonce as the server nonce. It returns the client's MaxFrame, or an error
// wrapping ErrUnauthenticated when the client does not prove it holds the
// token (the refusal has then been sent), or another error when the
// connection failed or the client broke the format. The caller sets
// deadlines and closes the connection on error.
func serverHandshake(rw io.ReadWriter, token []byte, maxFrame int, nonce []byte) (int, error) {
	var buf [helloSize + authSize]byte
	hello := appendHello(buf[:0], maxFrame, nonce)
	if _, err := rw.Write(hello); err != nil {
		return 0, fmt.Errorf("cannot send hello: %w", err)
	}
	auth := buf[helloSize:]
	if n, err := io.ReadFull(rw, auth); err != nil {
		return 0, fmt.Errorf("%w: no token proof (%d of %d bytes: %v)", ErrUnauthenticated, n, authSize, err)
	}
	want := handshakeMAC(token, clientLabel, hello, auth)
	if !hmac.Equal(auth[nonceSize+4:], want) {
		rw.Write([]byte{verdictRefused}) // the connection is closed next anyway
		return 0, fmt.Errorf("%w: wrong token", ErrUnauthenticated)
	}
	peerMax, err := checkMaxFrame(binary.LittleEndian.Uint32(auth[nonceSize:]))
	if err != nil {
		rw.Write([]byte{verdictRefused}) // the connection is closed next anyway
		return 0, err
	}
	verdict := append([]byte{verdictOK}, handshakeMAC(token, serverLabel, hello, auth)...)
	if _, err := rw.Write(verdict); err != nil {
		return 0, fmt.Errorf("cannot send verdict: %w", err)
	}
	return peerMax, nil
}

// clientHandshake runs the client's half on rw, then fastrpc's connection
// header exchange, with nonce as the client nonce. It returns the server's
// MaxFrame. The caller sets deadlines.
func clientHandshake(rw io.ReadWriter, token []byte, maxFrame int, nonce []byte) (int, error) {
	serverMax, err := clientAuth(rw, token, maxFrame, nonce)
	if err != nil {
		return 0, err
	}
	return serverMax, fastrpcHeaders(rw)
}

// clientAuth is the client's half of the authentication alone.
func clientAuth(rw io.ReadWriter, token []byte, maxFrame int, nonce []byte) (int, error) {
	var buf [helloSize + authSize + verdictSize]byte
	hello := buf[:helloSize]
	if _, err := io.ReadFull(rw, hello); err != nil {
		return 0, fmt.Errorf("cannot read hello: %w", err)
	}
	serverMax, err := parseHello(hello)
	if err != nil {
		return 0, err
	}
	auth := buf[helloSize : helloSize : helloSize+authSize]
	auth = append(auth, nonce...)
	auth = binary.LittleEndian.AppendUint32(auth, uint32(maxFrame))
	auth = append(auth, handshakeMAC(token, clientLabel, hello, auth)...)
	if _, err := rw.Write(auth); err != nil {
		return 0, fmt.Errorf("cannot send token proof: %w", err)
	}
	verdict := buf[helloSize+authSize:]
	if _, err := io.ReadFull(rw, verdict[:1]); err != nil {
		return 0, fmt.Errorf("cannot read verdict: %w", err)
	}
	switch verdict[0] {
	case verdictOK:
	case verdictRefused:
		return 0, fmt.Errorf("%w: the server refused this client's token", ErrUnauthenticated)
	default:
		return 0, fmt.Errorf("%w: bad verdict %d", errMalformed, verdict[0])
	}
	if _, err := io.ReadFull(rw, verdict[1:]); err != nil {
		return 0, fmt.Errorf("cannot read verdict: %w", err)
	}
	if !hmac.Equal(verdict[1:], handshakeMAC(token, serverLabel, hello, auth)) {
		return 0, fmt.Errorf("%w: the server does not hold the cluster token", ErrUnauthenticated)
	}
	return serverMax, nil
}

// fastrpcHeaders exchanges fastrpc's connection headers, as fastrpc's
// Client does: sniff header, protocol version, compression, TLS.
func fastrpcHeaders(rw io.ReadWriter) error {
	var hdr [fastrpcHdrSize]byte
	copy(hdr[:], sniffHeader)
	hdr[len(sniffHeader)] = fastrpcVersion
	hdr[len(sniffHeader)+1] = compressNone
	hdr[len(sniffHeader)+2] = fastrpcNoTLSTag
	if _, err := rw.Write(hdr[:]); err != nil {
		return fmt.Errorf("cannot send connection header: %w", err)
	}
	want := hdr
	if _, err := io.ReadFull(rw, hdr[:]); err != nil {
		return fmt.Errorf("cannot read connection header: %w", err)
	}
	if !bytes.Equal(hdr[:], want[:]) {
		return fmt.Errorf("%w: unexpected connection header %q", errMalformed, hdr[:])
	}
	return nil
}

// newNonce returns a fresh random nonce.
func newNonce() []byte {
	b := make([]byte, nonceSize)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return b
}
