package core

import (
	"context"
	"time"

	"manta/gcs"
	"manta/metrics/hist"
)

// timedGCS is the node's GCS client with the latency of its reads and
// writes counted, for /metrics.
type timedGCS struct {
	gcs.API
	reads, writes hist.Histogram
}

func (t *timedGCS) write(start time.Time) { t.writes.Observe(time.Since(start)) }

func (t *timedGCS) Apply(ctx context.Context, op gcs.Op) error {
	defer t.write(time.Now())
	return t.API.Apply(ctx, op)
}

func (t *timedGCS) Put(ctx context.Context, tb gcs.Table, key, value []byte) error {
	defer t.write(time.Now())
	return t.API.Put(ctx, tb, key, value)
}

func (t *timedGCS) Append(ctx context.Context, tb gcs.Table, key, member []byte) error {
	defer t.write(time.Now())
	return t.API.Append(ctx, tb, key, member)
}

func (t *timedGCS) Add(ctx context.Context, tb gcs.Table, key, member []byte) error {
	defer t.write(time.Now())
	return t.API.Add(ctx, tb, key, member)
}

func (t *timedGCS) Remove(ctx context.Context, tb gcs.Table, key, member []byte) error {
	defer t.write(time.Now())
	return t.API.Remove(ctx, tb, key, member)
}

func (t *timedGCS) Delete(ctx context.Context, tb gcs.Table, key []byte) error {
	defer t.write(time.Now())
	return t.API.Delete(ctx, tb, key)
}

func (t *timedGCS) Get(ctx context.Context, tb gcs.Table, key, dst []byte) ([]byte, bool, error) {
	start := time.Now()
	v, ok, err := t.API.Get(ctx, tb, key, dst)
	t.reads.Observe(time.Since(start))
	return v, ok, err
}
