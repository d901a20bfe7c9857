// Package serve serves a model embedded in a manta program (the paper's
// §5.2.2, Table 3): a model actor that batches the requests of clients
// that are other tasks and actors, and, as the baseline, the same model
// and batching behind a plain net/http JSON endpoint, the way a serving
// system outside the cluster (the paper's Clipper) is reached.
//
// # Models and batching
//
// A Model evaluates a batch of states laid end to end ([]float32). A
// Batcher gathers concurrent requests into batches under a Policy — at
// most MaxBatch states, the oldest request waiting at most MaxWait for
// the batch to fill, a request never split — and evaluates one batch at a
// time. Both front ends use the same Batcher; the policy itself is a
// state machine without goroutines or clock (the queue), driven by the
// Batcher on an injected clock. A request whose context ends first
// returns at once with ErrTimeout (its deadline) or ErrCancelled and
// leaves its batch; the others of that batch are answered.
//
// # The model actor
//
// Register a Deployment at package level with a function that loads the
// model; Deploy starts a replica, an actor whose constructor loads the
// model in the actor's process behind a Batcher. Replicas take many calls
// at once (core.WithMaxConcurrency, 2 × MaxBatch), and each call of
// Infer waits in the batcher: calls that different clients make at about
// the same time are evaluated as one batch. This is Ray Serve's
// @serve.batch, where the replica's handler gathers concurrent calls;
// the alternative, a batch gathered by each client or by a proxy before
// one sequential actor call, would batch only one caller's requests or
// add a hop. Clients pass the replica's handle (a core.Actor[Replica]) to
// any task or actor and call Deployment.Infer there; the states travel
// as a []float32 argument, inline or through the object store, as any
// argument does.
//
// # The REST baseline
//
// NewServer serves a Model under a Policy at POST InferPath on its own
// listener, loopback by default (DefaultAddr), with JSON bodies
// ({"states": [[...], ...], "timeout_ms": n} → {"outputs": [[...], ...]});
// malformed bodies and shapes get 4xx answers with a JSON error, a
// timeout 504. HTTPClient is its Go client.
//
// # The paper's workload
//
// Residual is the workload of Table 3: a small residual network over
// pooled features whose batches take a fixed time, 10 ms for 4 KB states
// and 5 ms for 100 KB states in the paper; its own arithmetic takes a
// fraction of that and it spins for the rest (see Residual). Clipper is
// not available here: the REST baseline stands in for a serving system
// reached over REST, with the same model and batching.
package serve
