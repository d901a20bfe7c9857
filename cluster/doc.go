// Package cluster is how node managers form a cluster around a GCS.
//
// The head records the cluster's protocol version (InitHead) and runs a
// gcs/server NodeWatcher. A node Joins: it checks the version (a node of
// another version is refused), records itself alive in gcs.Nodes with its
// address and resources, appends its ID to the members' log in
// gcs.Events, and writes a heartbeat into gcs.Heartbeats every
// Config.Heartbeat until Leave. A node that stops beating (its process was
// killed) is marked dead by the watcher after its timeout; one that
// Leaves is marked dead at once. List reads the membership, as
// `manta status` shows it. A node that restarts joins under a new ID.
//
// The function table (gcs.Functions) ships the user's program to nodes
// that never had it: where Ray keeps each function there, manta keeps the
// whole Go binary, named by its SHA-256 (a BinaryHash). The driver calls
// PublishBinary with its executable, which writes the file in 1 MiB
// chunks and then its descriptor (only once per hash: publishing again
// costs one Get); a node calls FetchBinary with the hash, which verifies
// the content and renames an executable copy into place as dir/<hash>,
// or fails with ErrBinaryUnavailable when the table cannot supply it.
package cluster
