package gcs

import "context"

// API is what both the embedded Store and the replicated GCS's client
// (gcs/client) offer. Writes are Apply or its shorthands; Get appends a
// key's value (for a log or set, its members: see Members) to dst.
type API interface {
	Apply(ctx context.Context, op Op) error
	Put(ctx context.Context, t Table, key, value []byte) error
	Append(ctx context.Context, t Table, key, member []byte) error
	Add(ctx context.Context, t Table, key, member []byte) error
	Remove(ctx context.Context, t Table, key, member []byte) error
	Delete(ctx context.Context, t Table, key []byte) error
	Get(ctx context.Context, t Table, key, dst []byte) ([]byte, bool, error)
	Subscribe(ctx context.Context, t Table, key []byte) (*Subscription, error)
	Close() error
}

var _ API = (*Store)(nil)
