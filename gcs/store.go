package gcs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
)

// Config configures an embedded Store.
type Config struct {
	// Shards is the number of shards S; keys are spread over them by
	// ShardOf. Default 4.
	Shards int
	// Limits bound keys, values and entries.
	Limits Limits
	// FlushDir turns flushing on: the flushable tables (Tasks, Lineage)
	// of each shard beyond MemoryCap are written to segment files under
	// it. Empty: nothing is flushed and memory grows with them.
	FlushDir string
	// MemoryCap is the memory, in bytes, that each shard's flushable
	// tables may take before their oldest entries are flushed. Default
	// segment.DefaultMemoryCap.
	MemoryCap int64
	// MaxQueued is how many notifications a subscriber may fall behind
	// before they are replaced by one OpResync. Default DefaultMaxQueued.
	MaxQueued int
}

// DefaultShards is the number of shards of an embedded Store.
const DefaultShards = 4

// Store is the embedded GCS: S in-process shards with no replication, for
// the driver's embedded cluster. It is safe for concurrent use; each shard
// has its own lock.
type Store struct {
	shards    []*lockedShard
	maxQueued int
	mu        sync.Mutex
	closed    bool
}

type lockedShard struct {
	mu sync.Mutex
	s  *Shard   // nil once the store is closed
	_  [40]byte // keep shards' locks on separate cache lines
}

// Open creates an embedded Store.
func Open(cfg Config) (*Store, error) {
	n := cfg.Shards
	if n <= 0 {
		n = DefaultShards
	}
	st := &Store{maxQueued: cfg.MaxQueued}
	for i := range n {
		sc := ShardConfig{Limits: cfg.Limits, MemoryCap: cfg.MemoryCap}
		if cfg.FlushDir != "" {
			sc.FlushDir = filepath.Join(cfg.FlushDir, fmt.Sprint(i))
		}
		s, err := NewShard(sc)
		if err != nil {
			st.Close()
			return nil, err
		}
		st.shards = append(st.shards, &lockedShard{s: s})
	}
	return st, nil
}

func (st *Store) shardFor(t Table, key []byte) *lockedShard {
	if len(st.shards) == 1 {
		return st.shards[0]
	}
	return st.shards[ShardOf(t, key, len(st.shards))]
}

// Apply applies one write.
func (st *Store) Apply(_ context.Context, op Op) error {
	ls := st.shardFor(op.Table, op.Key)
	ls.mu.Lock()
	if ls.s == nil {
		ls.mu.Unlock()
		return ErrClosed
	}
	err := ls.s.apply(&op)
	ls.mu.Unlock()
	return err
}

// Put sets the value of key in a value table.
func (st *Store) Put(ctx context.Context, t Table, key, value []byte) error {
	return st.Apply(ctx, Op{Kind: OpPut, Table: t, Key: key, Value: value})
}

// Append appends member to key's log in a log table.
func (st *Store) Append(ctx context.Context, t Table, key, member []byte) error {
	return st.Apply(ctx, Op{Kind: OpAppend, Table: t, Key: key, Value: member})
}

// Add adds member to key's set in a set table.
func (st *Store) Add(ctx context.Context, t Table, key, member []byte) error {
	return st.Apply(ctx, Op{Kind: OpAdd, Table: t, Key: key, Value: member})
}

// Remove removes member from key's set in a set table.
func (st *Store) Remove(ctx context.Context, t Table, key, member []byte) error {
	return st.Apply(ctx, Op{Kind: OpRemove, Table: t, Key: key, Value: member})
}

// Delete removes key from t.
func (st *Store) Delete(ctx context.Context, t Table, key []byte) error {
	return st.Apply(ctx, Op{Kind: OpDelete, Table: t, Key: key})
}

// Get appends the value of key to dst (for a log or set table, its
// members: see Members). ok is false if there is no such key. A key of a
// flushable table is read back from disk if it was flushed.
func (st *Store) Get(_ context.Context, t Table, key, dst []byte) (_ []byte, ok bool, err error) {
	ls := st.shardFor(t, key)
	ls.mu.Lock()
	if ls.s == nil {
		ls.mu.Unlock()
		return dst, false, ErrClosed
	}
	dst, ok, err = ls.s.Get(t, key, dst)
	ls.mu.Unlock()
	return dst, ok, err
}

// Subscribe watches key in t, or the whole table if key is nil. Changes
// applied after Subscribe returns are delivered in order per shard.
func (st *Store) Subscribe(_ context.Context, t Table, key []byte) (*Subscription, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("%w: unknown table %d", ErrBadOp, uint8(t))
	}
	if key != nil {
		key = append([]byte{}, key...)
	}
	sub := NewSubscription(st.maxQueued, nil)
	var shards []*lockedShard
	if key == nil {
		shards = st.shards
	} else {
		shards = []*lockedShard{st.shardFor(t, key)}
	}
	for i, ls := range shards {
		ls.mu.Lock()
		if ls.s == nil {
			ls.mu.Unlock()
			for _, done := range shards[:i] {
				done.mu.Lock()
				if done.s != nil {
					done.s.Unsubscribe(t, key, sub)
				}
				done.mu.Unlock()
			}
			return nil, ErrClosed
		}
		ls.s.Subscribe(t, key, sub)
		ls.mu.Unlock()
	}
	sub.cancel = func() {
		for _, ls := range shards {
			ls.mu.Lock()
			if ls.s != nil {
				ls.s.Unsubscribe(t, key, sub)
			}
			ls.mu.Unlock()
		}
	}
	return sub, nil
}

// Stats describes a store's memory and flushing, summed over shards.
type Stats struct {
	Shards       int
	Keys         int   // in memory
	Ops          int64 // writes applied
	MemoryBytes  int64 // accounted bytes of every entry in memory
	FlushableMem int64 // of those, the flushable tables' entries
	BloomBytes   int64 // bloom filters of the flush segments
	Segments     int
	Flushed      int64 // entries written to segments
	FlushedBytes int64 // bytes written to segments
	FlushErrors  int   // failed segment writes (the entries stayed in memory)
}

// Stats returns the store's statistics.
func (st *Store) Stats() Stats {
	s := Stats{Shards: len(st.shards)}
	for _, ls := range st.shards {
		ls.mu.Lock()
		if ls.s != nil {
			ls.s.addStats(&s)
		}
		ls.mu.Unlock()
	}
	return s
}

// verify checks every checksum of every flush segment, returning an error
// wrapping ErrCorrupt for the first bad one.
func (st *Store) verify() error {
	for _, ls := range st.shards {
		ls.mu.Lock()
		var err error
		if ls.s != nil && ls.s.flush != nil {
			err = ls.s.flush.Verify()
		}
		ls.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// Close releases the store and removes its flush segments. Subscriptions
// stay open until closed but receive nothing more.
func (st *Store) Close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil
	}
	st.closed = true
	var errs []error
	for _, ls := range st.shards {
		ls.mu.Lock()
		if ls.s != nil {
			errs = append(errs, ls.s.Close())
		}
		ls.s = nil
		ls.mu.Unlock()
	}
	return errors.Join(errs...)
}
