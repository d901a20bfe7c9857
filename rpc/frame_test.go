package rpc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/valyala/fastrpc"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

const fuzzMaxFrame = 4096

func FuzzReadFrame(f *testing.F) {
	f.Add(appendRequest(nil, 1, 0, []byte("hello")))
	f.Add(append(appendRequest(nil, 7, 1000, nil), appendRequest(nil, 65535, 1<<32-1, make([]byte, 100))...))
	f.Add(appendRequest(nil, 1, 0, make([]byte, fuzzMaxFrame)))
	f.Add(appendRequest(nil, 1, 0, make([]byte, 40))[:30])
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		cr := &countingReader{r: bytes.NewReader(b)}
		br := bufio.NewReaderSize(cr, 16) // small, so payloads cross buffer refills
		var fr requestFrame
		start := 0
		for start < len(b) {
			err := readRequest(br, fuzzMaxFrame, &fr)
			if err != nil {
				if !errors.Is(err, errMalformed) && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("error %v is neither malformed nor too large", err)
				}
				// A forged length costs about what arrived, never what it claims.
				if cap(fr.payload) > 2*len(b)+payloadChunk {
					t.Fatalf("allocated %d bytes for a %d-byte input", cap(fr.payload), len(b))
				}
				return
			}
			end := cr.n - br.Buffered()
			if len(fr.payload) > fuzzMaxFrame {
				t.Fatalf("payload of %d bytes over the limit", len(fr.payload))
			}
			// One encoding per frame: what decoded re-encodes to the bytes read.
			if again := appendRequest(nil, fr.method, fr.timeout, fr.payload); !bytes.Equal(again, b[start:end]) {
				t.Fatalf("re-encoding differs:\n in %x\nout %x", b[start:end], again)
			}
			start = end
		}
	})
}

func FuzzReadResponse(f *testing.F) {
	withID := func(id uint32, status byte, payload []byte) []byte {
		return appendResponse(binary.LittleEndian.AppendUint32(nil, id), status, payload)
	}
	f.Add(withID(1, statusOK, []byte("hello")))
	f.Add(append(withID(2, statusError, []byte("bad")), withID(3, statusOK, make([]byte, 200))...))
	f.Add(withID(9, statusOK, make([]byte, fuzzMaxFrame)))
	f.Add(withID(9, statusEnd, nil))
	f.Add(withID(1, statusOK, make([]byte, 100))[:50])
	f.Fuzz(func(t *testing.T, b []byte) {
		cr := &countingReader{r: bytes.NewReader(b)}
		br := bufio.NewReaderSize(cr, 64) // payloads over 64 bytes take the scratch path
		rr := responseReader{br: br, maxFrame: fuzzMaxFrame}
		start := 0
		for {
			id, status, payload, err := rr.next()
			if err == io.EOF {
				if start != len(b) {
					t.Fatalf("EOF at %d of %d bytes", start, len(b))
				}
				return
			}
			if err != nil {
				if !errors.Is(err, errMalformed) && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("error %v is neither malformed nor too large", err)
				}
				if cap(rr.scratch) > 2*len(b)+payloadChunk {
					t.Fatalf("allocated %d bytes for a %d-byte input", cap(rr.scratch), len(b))
				}
				return
			}
			end := cr.n - br.Buffered() + rr.skip
			if status >= statusEnd || len(payload) > fuzzMaxFrame {
				t.Fatalf("accepted status %d, %d-byte payload", status, len(payload))
			}
			if again := withID(id, status, payload); !bytes.Equal(again, b[start:end]) {
				t.Fatalf("re-encoding differs:\n in %x\nout %x", b[start:end], again)
			}
			start = end
		}
	})
}

// pipe is one side of a handshake: it reads the peer's bytes from r and
// records what it writes.
type pipe struct {
	r io.Reader
	w bytes.Buffer
}

func (p *pipe) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipe) Write(b []byte) (int, error) { return p.w.Write(b) }

var (
	fuzzServerNonce = bytes.Repeat([]byte{1}, nonceSize)
	fuzzClientNonce = bytes.Repeat([]byte{2}, nonceSize)
)

// transcript runs a real handshake between the fuzz nonces and returns
// what the client sent and what the server sent.
func transcript(tb testing.TB, clientToken []byte) (fromClient, fromServer []byte) {
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	var rec bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := serverHandshake(io.ReadWriter(struct {
			io.Reader
			io.Writer
		}{sc, io.MultiWriter(sc, &rec)}), testToken, DefaultMaxFrame, fuzzServerNonce)
		if err == nil {
			err = fastrpcServerHeader(sc, &rec)
		}
		done <- err
	}()
	var sent bytes.Buffer
	_, err := clientHandshake(struct {
		io.Reader
		io.Writer
	}{cc, io.MultiWriter(cc, &sent)}, clientToken, DefaultMaxFrame, fuzzClientNonce)
	if err != nil && bytes.Equal(clientToken, testToken) {
		tb.Fatal(err)
	}
	cc.Close()
	<-done
	return sent.Bytes(), rec.Bytes()
}

// fastrpcServerHeader plays fastrpc's server side of the header exchange.
func fastrpcServerHeader(c net.Conn, rec io.Writer) error {
	hdr := make([]byte, fastrpcHdrSize)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return err
	}
	_, err := io.MultiWriter(c, rec).Write(hdr)
	return err
}

func FuzzHandshake(f *testing.F) {
	good, goodServer := transcript(f, testToken)
	bad, _ := transcript(f, []byte("wrong"))
	f.Add(good, goodServer)
	f.Add(bad, goodServer[:helloSize])
	f.Add([]byte{}, []byte("mRPC"))
	f.Fuzz(func(t *testing.T, fromClient, fromServer []byte) {
		// The server's half, reading what a client sent.
		p := &pipe{r: bytes.NewReader(fromClient)}
		peerMax, err := serverHandshake(p, testToken, DefaultMaxFrame, fuzzServerNonce)
		if err == nil {
			if !bytes.HasPrefix(fromClient, good[:authSize]) || peerMax != DefaultMaxFrame {
				t.Fatalf("accepted a client that is not the recorded one: %x", fromClient)
			}
		} else if p.w.Len() > helloSize+1 {
			t.Fatalf("a refused client got %d bytes", p.w.Len())
		}
		// The client's half, reading what a server sent.
		p = &pipe{r: bytes.NewReader(fromServer)}
		serverMax, err := clientHandshake(p, testToken, DefaultMaxFrame, fuzzClientNonce)
		if err == nil && (!bytes.HasPrefix(fromServer, goodServer) || serverMax != DefaultMaxFrame) {
			t.Fatalf("trusted a server that is not the recorded one: %x", fromServer)
		}
	})
}

func TestHandshakeTranscript(t *testing.T) {
	good, server := transcript(t, testToken)
	if len(good) != authSize+fastrpcHdrSize || len(server) != helloSize+verdictSize+fastrpcHdrSize {
		t.Fatalf("transcript sizes %d, %d", len(good), len(server))
	}
	if bytes.Contains(good, testToken) || bytes.Contains(server, testToken) {
		t.Fatal("the token went over the wire")
	}
	_, refused := transcript(t, []byte("wrong"))
	if len(refused) != helloSize+1 || refused[helloSize] != verdictRefused {
		t.Fatalf("refusal: %x", refused)
	}
	// A server that does not hold the token is not trusted by the client.
	var fake []byte
	fake = appendHello(fake, DefaultMaxFrame, fuzzServerNonce)
	fake = append(fake, verdictOK)
	fake = append(fake, make([]byte, macSize)...)
	if _, err := clientHandshake(&pipe{r: bytes.NewReader(fake)}, testToken, DefaultMaxFrame, fuzzClientNonce); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("fake server: %v", err)
	}
}

// TestFastrpcClientInterop: fastrpc's own Client, given the
// authentication as its Dial, calls a Server with the frame types.
func TestFastrpcClientInterop(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	fc := &fastrpc.Client{
		Addr:            ts.Addr(),
		SniffHeader:     sniffHeader,
		ProtocolVersion: fastrpcVersion,
		CompressType:    fastrpc.CompressNone,
		NewResponse:     func() fastrpc.ResponseReader { return &responseFrame{maxFrame: DefaultMaxFrame} },
		Dial: func(addr string) (net.Conn, error) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				return nil, err
			}
			if _, err := clientAuth(nc, testToken, DefaultMaxFrame, newNonce()); err != nil {
				nc.Close()
				return nil, err
			}
			return nc, nil
		},
	}
	for i, m := range []Method{mEcho, mFail} {
		resp := &responseFrame{maxFrame: DefaultMaxFrame}
		err := fc.DoDeadline(&requestFrame{method: m, timeout: 1e6, payload: []byte("via fastrpc")}, resp, time.Now().Add(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		want := []byte{statusOK, statusError}[i]
		if resp.status != want || !bytes.Contains(resp.payload, []byte("via fastrpc")) {
			t.Fatalf("method %d: status %d, %q", m, resp.status, resp.payload)
		}
	}
	// fastrpc's Client has no Close: its goroutines stay (one reason
	// Client is not built on it).
}

// next reads one whole response, as the client's read loop does for a call
// that has no room for a large one.
func (r *responseReader) next() (id uint32, status byte, payload []byte, err error) {
	var n int
	if id, status, n, err = r.header(); err != nil {
		return 0, 0, nil, err
	}
	payload, err = r.body(n)
	return id, status, payload, err
}
