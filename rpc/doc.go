// Package rpc is manta's transport between processes on different nodes
// (the GCS, node managers, global schedulers): framed, pipelined
// request/response calls over TCP, authenticated by a cluster token.
// Within a node, processes use shared-memory rings instead (package shm,
// messages in rpc/wire).
//
// A Server runs one Handler for every request; requests carry a Method
// number the handler dispatches on. A Client holds one connection to one
// Server and pipelines any number of concurrent calls over it:
//
//	srv, _ := rpc.NewServer(rpc.ServerConfig{Token: token, Handler: h})
//	cli, _ := rpc.Dial(rpc.ClientConfig{Addr: srv.Addr(), Token: token})
//	resp, err := cli.Call(ctx, method, req, resp[:0])
//
// Call appends the response to resp. A response larger than the connection's
// read buffer (64 KiB) that fits in resp's spare capacity is read straight
// from the socket into it, with no copy on the way: give a buffer with room
// (an object's slot, say) to receive large values cheaply.
//
// # Transport
//
// The server side is github.com/valyala/fastrpc's Server: per-connection
// reader and writer goroutines, responses batched into the socket while
// more are ready, no batching delay (MaxBatchDelay 0: a delay turns a
// few-µs call into milliseconds at low concurrency). Handlers run one
// goroutine per request, at most Concurrency at once; with
// ServerConfig.Ordered they run inline, one at a time per connection, in
// arrival order (fastrpc's PipelineRequests), which is fastest for
// handlers that never block.
//
// The client speaks fastrpc's wire protocol but is its own: fastrpc's
// Client has no Close (its goroutines outlive it), notices expired calls
// only every 10 ms to 1 s, sleeps a fixed second after a failed dial, and
// fails rather than waits when its pending limit is reached. This Client
// has one writer goroutine per connection that batches queued requests
// into one flush, one reader goroutine that completes calls, exact
// per-call deadlines, a Close that stops everything, and reconnection with
// exponential backoff. The request and response frames also implement
// fastrpc's RequestWriter and ResponseReader, and fastrpc's own Client
// interoperates with a Server (see the tests).
//
// # Handshake
//
// Before any request is read, each new connection authenticates (a
// connection that fails is closed, and nothing it sent is parsed as a
// request):
//
//	server → client  "mRPC" | version 1 | server MaxFrame u32 | server nonce [32]
//	client → server  client nonce [32] | client MaxFrame u32 | HMAC-SHA256(token, "manta-rpc-v1 client" | hello | nonce | MaxFrame)
//	server → client  0 | HMAC-SHA256(token, "manta-rpc-v1 server" | hello | nonce | MaxFrame)   accepted
//	                 1                                                                      refused, then closed
//
// Nonces come from crypto/rand and MACs are compared with hmac.Equal. Both
// sides prove they hold the token without sending it, a recorded exchange
// cannot be replayed against new nonces, and the MACs cover both sides'
// MaxFrame, which each then enforces for the other. fastrpc's connection
// header (sniff header "manta-rpc", protocol version 1, no compression, no
// TLS) follows.
//
// # Frames
//
// Integers are little-endian. fastrpc puts a 4-byte request ID before each
// frame; ID 0 (fastrpc's "no response") is never used.
//
//	request   method u16 | flags u8 (0) | timeout u32 (µs the caller waits; 0: more than 2^32) | length u32 | payload
//	response  status u8 | length u32 | payload
//
// Status 0 is a response; 1 a handler error (payload: its message, which
// the caller gets as *RemoteError); 2 a frame over a MaxFrame limit
// (ErrFrameTooLarge, the message names the limit); 3 the server at its
// Concurrency (ErrOverloaded); 4 the deadline passed before the handler
// ran; 5 the server closing before the handler ran (the client retries on
// the next connection). A request over the server's limit is refused at
// the client, since the handshake told it the limit; a server that
// receives one anyway, or a frame with reserved flags set, or a truncated
// frame, logs it and closes that connection only. Readers allocate
// payloads 64 KiB at a time as the bytes arrive, so a forged length costs
// no more memory than the bytes really sent.
//
// # Deadlines, failures, reconnection
//
// Every call has a deadline: its context's, or ClientConfig.Timeout
// (10 s). The server is told the time left and skips a request whose
// deadline has passed; a deadline further off than the frame's field
// holds (2^32 µs, 71 minutes: a task that runs for hours) is the
// caller's alone, and the handler sees none. Call returns by the deadline whatever the network
// does. A call that could not be sent returns ErrUnavailable (safe to
// retry); one whose connection broke after it was written returns
// ErrUnavailable and ErrConnectionLost (it may have run). The client
// connects as soon as it is made and reconnects whenever the connection
// breaks; failed attempts back off from Backoff.Min (10 ms), doubling, to
// Backoff.Max (1 s), jittered ±20%; a connection that dies young counts
// as a failed attempt. A refused token fails calls at once with
// ErrUnauthenticated rather than waiting for the deadline, and with
// ClientConfig.FailFast so does a failed connection attempt
// (ErrUnavailable), for callers that can turn to another replica.
// A call that gives up before its request was written leaves the queue
// with it, so a server that stops reading holds at most MaxPending
// requests; and once the writer has been stuck on the socket for
// ClientConfig.WriteTimeout (10 s) without progress, the next call that
// gives up fails the connection, which is replaced.
//
// # Time and logs
//
// Every timer the package arms (a call's default Timeout, DialTimeout,
// reconnection backoff, injected delays, the WriteTimeout, the handshake timeout, the
// deadline a handler sees) runs on the Clock in ClientConfig and
// ServerConfig, so tests drive them with a clockwork.FakeClock instead of
// sleeping. A context's own deadline stays the context's. The server logs
// refused connections, broken frames and handler panics to
// ServerConfig.Logger; the client logs
// nothing, its errors say what went wrong.
//
// # Defaults
//
// Listening: "127.0.0.1:0"; a host-less address (":7000") also binds
// loopback; all interfaces only when asked ("0.0.0.0:7000"). MaxFrame
// 64 MiB (at most 1 GiB). Server Concurrency 4096, handshake timeout 5 s,
// Logger slog.Default(). Client MaxPending 1024, Timeout 10 s, DialTimeout
// 2 s, WriteTimeout 10 s, backoff 10 ms–1 s. Clock: the real one.
//
// # Security
//
// The token authenticates peers to each other; it does not encrypt or
// integrity-protect the traffic after the handshake, so someone who can
// read or alter packets between nodes can read or alter calls. Run
// clusters on a trusted network or under a VPN such as WireGuard. Anyone
// who can connect can hold a socket and a goroutine for up to the
// handshake timeout (at most 256 such connections at once, which do not
// count against an Ordered server's Concurrency, so they take no slot
// of a client that holds the token), but cannot make a handler run
// without the token.
// Request and response sizes are bounded by MaxFrame on both sides.
package rpc
