// Package server runs the replicated GCS: the servers that drive
// gcs/chain's state machines over manta/rpc, and the processes they live
// in.
//
//   - Replica (StartReplica) serves one replica of one shard: it holds the
//     shard's gcs.Shard, joins the chain through the monitor, and answers
//     clients: writes at the head, reads and subscriptions at the tail,
//     elsewhere a redirect carrying the chain. It drops a subscription
//     nobody polled for 15 to 30 s (a client polls each of its own at
//     least every second), so that those of clients that died do not
//     pile up.
//   - Monitor (StartMonitor) serves the chains: replicas join and
//     heartbeat through it, clients ask it for the chains, and anyone may
//     report a replica that seems dead, which it then probes. Like the
//     replicas and the clients, it keeps connections only to replicas in
//     the chains: those to one removed are closed when the chains change.
//   - Head (StartHead, `manta start --head --gcs-shards S --gcs-replicas
//     R`) runs the monitor in its process and S×R replica processes on
//     loopback (`manta gcs`: RunReplica with ReplicaConfigFromEnv),
//     passing the cluster token in the environment (EnvToken), never on a
//     command line; it replaces processes that exit when asked to, and
//     kills them with it.
//   - NodeWatcher (WatchNodes), run at the head, marks a node dead in
//     gcs.Nodes when its heartbeats in gcs.Heartbeats stop, using
//     chain.Liveness; a write that fails is logged and tried again until
//     it succeeds.
//
// Time: every config takes a clockwork.Clock (nil: the real clock) for
// the ticks of the state machines, leases, probes, waits and retries, so
// a test can drive them with a fake clock; the rpc layer's own deadlines
// and timeouts stay its own. Logging: every config takes a *slog.Logger
// (nil: slog.Default()).
//
// A malformed frame or message fails the call that carried it (the rpc
// layer closes connections with broken framing) and the server keeps
// serving others; a wrong or missing token is refused by the rpc
// handshake.
package server
