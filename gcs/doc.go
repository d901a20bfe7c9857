// Package gcs is manta's Global Control Store: the control state of the
// cluster as the Ray paper describes it, in sharded tables with pub-sub,
// chain-replicated per shard and flushed to disk so that memory stays
// bounded.
package gcs
