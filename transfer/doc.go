// Package transfer moves objects between nodes' object stores: the object
// manager of the Ray paper (§4.2.3). Before a task runs on a node, each
// input that lives only in another node's store is pulled into the local
// one; a Get or Wait on a remote object pulls it too. Transfers are pulls:
// the node that needs an object asks a node that has it.
//
// A Server serves the sealed objects of one store (shm/store) to peers
// over rpc, authenticated by the cluster token. A Puller copies an object
// from one of a list of peers into the local store:
//
//	srv, _ := transfer.NewServer(transfer.ServerConfig{Store: remote, Token: token})
//	p, _ := transfer.NewPuller(transfer.PullerConfig{Store: local, Token: token})
//	err := p.Pull(ctx, id, size, []string{srv.Addr()}, transfer.PriorityGet)
//
// # How a pull runs
//
//   - Duplicate pulls of one object are merged: the second waits for the
//     first (raising its priority) and returns its outcome. An object the
//     local store already holds sealed is not pulled again.
//   - Admission: the object is created in the local store first, so a pull
//     waits for free memory (the store spills what it can, and waits for
//     pins and writers to let go) until its context ends or the store's
//     PutTimeout passes, then fails with store.ErrFull, as a local Create
//     does; an object larger than the whole store fails at once.
//   - The object is cut into chunks (DefaultChunkSize) fetched in parallel
//     over several connections to the peer (DefaultConnsPerPeer), several
//     requests in flight on each (DefaultDepth); each response is read
//     straight into the object's slot in shared memory.
//   - Chunk requests wait for a connection slot in priority order:
//     PriorityGet, then PriorityWait, then PriorityArg (task arguments).
//   - A peer that fails, refuses or does not answer a chunk within
//     StallTimeout is dropped for this pull, and the chunks still missing
//     are asked of the next peer listed. When none is left the pull fails
//     with ErrTransferFailed, wrapping each peer's cause.
//   - The object is sealed when every chunk is in, and aborted on any
//     failure, so nobody ever sees a half-written copy.
//
// # Protocol
//
// One rpc method, MethodChunk. A request (RequestSize bytes, fuzzed
// decoder) names the object, the size the puller expects and a byte
// range; the server pins the object, checks its size, copies the range
// into the response and unpins it. A missing, unsealed, lost or
// differently sized object gives a handler error whose message starts
// with the text of ErrObjectNotFound, ErrNotSealed, ErrObjectLost or
// ErrSizeMismatch, which the Puller turns back into that error.
//
// # Performance
//
// BenchmarkPull64MiB against BenchmarkRawTCP64MiB (one plain loopback TCP
// stream between two goroutines) measures the cost over raw TCP:
//
//	go test -run '^$' -bench 'Pull|RawTCP' -count 5 ./transfer
//
// On this shared 2-core machine a 64 MiB pull ran at 3.23–3.54 GB/s
// against 3.24–3.37 GB/s for one raw stream in the same runs: about as
// fast, because four connections share the copying. 256 KiB chunks, 4
// connections, 8 requests in flight each; BenchmarkChunkTuning compares
// the alternatives. rpc's client reads each response straight from the
// socket into the object's slot; the server still copies each chunk out
// of the store into its response, and that into the connection's write
// buffer.
//
// # Not yet
//
// Nodes do not call this package yet (the object table of the GCS will
// say where copies are). Connections to a peer are kept until Close; a
// pull takes chunks from one peer at a time rather than striping over all
// the copies; the server copies each chunk out of the store rather than
// sending from shared memory.
package transfer
