package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"manta/gcs"
	"manta/gcs/client"
)

// writeLoad is writers putting keys of their own through a client until
// stopped, remembering every write that was acknowledged, so a test can
// kill replicas under load and then check that none of them is lost.
type writeLoad struct {
	t    *testing.T
	c    *client.Client
	stop chan struct{}
	more chan struct{} // a write finished
	wg   sync.WaitGroup

	mu     sync.Mutex
	acked  map[string]string
	failed int
}

// startWrites starts writers, each giving every write up to timeout.
func startWrites(ctx context.Context, t *testing.T, c *client.Client, writers int, timeout time.Duration) *writeLoad {
	l := &writeLoad{t: t, c: c, stop: make(chan struct{}), more: make(chan struct{}, 1), acked: map[string]string{}}
	for w := range writers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				k, v := fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("value %d of writer %d", i, w)
				wctx, cancel := context.WithTimeout(ctx, timeout)
				err := c.Put(wctx, gcs.KV, []byte(k), []byte(v))
				cancel()
				l.mu.Lock()
				if err == nil {
					l.acked[k] = v
				} else {
					l.failed++
					t.Logf("write %s failed visibly: %v", k, err)
				}
				l.mu.Unlock()
				select {
				case l.more <- struct{}{}:
				default:
				}
			}
		}()
	}
	return l
}

func (l *writeLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// progress waits until n more writes are acknowledged, failing the test
// if ctx ends first.
func (l *writeLoad) progress(ctx context.Context, n int) {
	l.t.Helper()
	want := l.count() + n
	for l.count() < want {
		select {
		case <-l.more:
		case <-ctx.Done():
			l.t.Fatalf("only %d writes acknowledged, want %d", l.count(), want)
		}
	}
}

// finish stops the writers and reads every acknowledged write back.
func (l *writeLoad) finish(ctx context.Context) {
	l.t.Helper()
	close(l.stop)
	l.wg.Wait()
	var lost int
	for k, v := range l.acked {
		got, ok, err := l.c.Get(ctx, gcs.KV, []byte(k), nil)
		if err != nil || !ok || string(got) != v {
			lost++
			l.t.Errorf("acknowledged write %s reads back %q %v %v", k, got, ok, err)
		}
	}
	l.t.Logf("%d writes acknowledged and read back (%d lost), %d failed visibly", len(l.acked), lost, l.failed)
}
