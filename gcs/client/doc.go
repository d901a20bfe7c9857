// Package client is the client of a replicated GCS: Dial connects through
// the monitor's address (what `manta start --head` prints) with the
// cluster token, and the Client has the embedded Store's methods (it is a
// gcs.API).
//
// The Client batches concurrent operations per shard into frames, sends
// writes to each chain's head and reads and subscriptions to its tail,
// follows redirects (closing its connections to replicas that left the
// chains), reports replicas that do not answer to the monitor,
// and retries until the operation's deadline (the context's, or
// Config.Timeout): a write either completes or fails visibly with
// gcs.ErrUnavailable, and a retried write is applied once. A subscription
// follows its shard's tail when the tail changes, delivering an OpResync
// first.
//
//	c, err := client.Dial(ctx, client.Config{Monitor: addr, Token: token})
//	...
//	err = c.Put(ctx, gcs.Nodes, []byte("node-a"), info)
package client
