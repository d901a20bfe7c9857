package benchmarks

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"time"

	"manta/gcs"
	"manta/gcs/chain"
	"manta/gcs/client"
	"manta/gcs/server"
)

// The measurements behind Figures 10a and 10b (fig10.go): they drive the
// gcs packages directly and return every sample.

// fig10aConfig configures figure10a.
type fig10aConfig struct {
	// Duration is the whole run; default 3 s.
	Duration time.Duration
	// KillAt is when one member gets SIGKILL; default Duration/3.
	KillAt time.Duration
	// JoinAt is when a new replica process starts and joins; default
	// KillAt + Duration/6.
	JoinAt time.Duration
	// Victim is "tail" (default) or "head".
	Victim string
	// KeySize and ValueSize default to the paper's 25 and 512 bytes.
	KeySize, ValueSize int
	// Command starts a replica process (see server.HeadConfig.Command).
	// Required.
	Command func() *exec.Cmd
	// Logger receives the head's log; nil: discarded.
	Logger *slog.Logger
}

// fig10aSample is one operation of the Figure 10a client.
type fig10aSample struct {
	At      time.Duration // when it was issued, since the start
	Latency time.Duration // until it returned, retries included
	Write   bool
	Err     string // set if it failed visibly
}

// fig10aResult is Figure 10a's data: client latency over time while a
// member of a 2-replica chain is killed and a new one joins.
type fig10aResult struct {
	Samples    []fig10aSample
	Victim     string
	KilledAt   time.Duration // SIGKILL sent
	RemovedAt  time.Duration // the monitor removed the victim
	JoinedAt   time.Duration // the new replica process started
	RejoinedAt time.Duration // the chain had 2 members again
	MaxLatency time.Duration
	P50, P99   time.Duration
	Writes     int
	Reads      int
	Failed     int // operations that failed visibly
	// Acknowledged writes, and how many of them were read back with their
	// value at the end (the goal: all).
	Acknowledged, ReadBack int
}

// figure10a reproduces the paper's Figure 10a: one client issues reads and
// writes, one request in flight, against one shard replicated on a chain
// of 2 processes on loopback; a member is killed with SIGKILL partway
// through and a new one joins later. It returns every operation's latency
// and checks at the end that every acknowledged write reads back.
func figure10a(ctx context.Context, cfg fig10aConfig) (fig10aResult, error) {
	if cfg.Command == nil {
		return fig10aResult{}, errors.New("fig10a: a Command is required")
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 3 * time.Second
	}
	if cfg.KillAt <= 0 {
		cfg.KillAt = cfg.Duration / 3
	}
	if cfg.JoinAt <= 0 {
		cfg.JoinAt = cfg.KillAt + cfg.Duration/6
	}
	if cfg.Victim == "" {
		cfg.Victim = "tail"
	}
	if cfg.Victim != "tail" && cfg.Victim != "head" {
		return fig10aResult{}, fmt.Errorf("fig10a: victim %q: want head or tail", cfg.Victim)
	}
	cfg.KeySize = max(cfg.KeySize, 8)
	if cfg.ValueSize <= 0 {
		cfg.ValueSize = 512
	}
	if cfg.KeySize == 8 {
		cfg.KeySize = 25
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	head, err := server.StartHead(setup, server.HeadConfig{Shards: 1, Replicas: 2, Command: cfg.Command, Logger: cfg.Logger})
	if err != nil {
		return fig10aResult{}, err
	}
	defer head.Close()
	c, err := client.Dial(setup, client.Config{Monitor: head.Addr(), Token: head.Token(), Logger: cfg.Logger})
	if err != nil {
		return fig10aResult{}, err
	}
	defer c.Close()

	res := fig10aResult{Victim: cfg.Victim}
	start := time.Now()
	var events sync.WaitGroup
	var evErr error
	var evMu sync.Mutex
	events.Add(1)
	go func() {
		defer events.Done()
		fail := func(err error) {
			evMu.Lock()
			evErr = errors.Join(evErr, err)
			evMu.Unlock()
		}
		if !sleepUntil(ctx, start.Add(cfg.KillAt)) {
			return
		}
		ch := head.Monitor().Chains()[0]
		victim := ch.Tail()
		if cfg.Victim == "head" {
			victim = ch.Head()
		}
		killed := time.Since(start)
		if err := head.Kill(victim.ID); err != nil {
			fail(err)
			return
		}
		if _, err := head.Monitor().WaitChains(ctx, func(cs []chain.Chain) bool { return !cs[0].Contains(victim.ID) }); err != nil {
			fail(err)
			return
		}
		removed := time.Since(start)
		if !sleepUntil(ctx, start.Add(cfg.JoinAt)) {
			return
		}
		joined := time.Since(start)
		if _, err := head.Spawn(0); err != nil {
			fail(err)
			return
		}
		if _, err := head.WaitFull(ctx); err != nil {
			fail(err)
			return
		}
		evMu.Lock()
		res.KilledAt, res.RemovedAt, res.JoinedAt, res.RejoinedAt = killed, removed, joined, time.Since(start)
		evMu.Unlock()
	}()

	key := make([]byte, cfg.KeySize)
	value := make([]byte, cfg.ValueSize)
	var acked [][2]uint64 // write number, and the value's stamp
	var got []byte
	for n := uint64(0); time.Since(start) < cfg.Duration && ctx.Err() == nil; n++ {
		write := n%2 == 0
		i := n / 2
		fig10aKey(key, i)
		at := time.Now()
		var err error
		if write {
			binary.LittleEndian.PutUint64(value, i^0x5bd1e995)
			err = c.Put(ctx, gcs.KV, key, value)
		} else {
			var ok bool
			got, ok, err = c.Get(ctx, gcs.KV, key, got[:0])
			if err == nil && ok != (len(acked) > 0 && acked[len(acked)-1][0] == i) {
				err = fmt.Errorf("read of write %d: found=%v", i, ok)
			}
		}
		s := fig10aSample{At: at.Sub(start), Latency: time.Since(at), Write: write}
		if err != nil {
			s.Err = err.Error()
			res.Failed++
		} else if write {
			acked = append(acked, [2]uint64{i, i ^ 0x5bd1e995})
		}
		if write {
			res.Writes++
		} else {
			res.Reads++
		}
		res.Samples = append(res.Samples, s)
	}
	events.Wait()
	if evErr != nil {
		return res, evErr
	}
	res.Acknowledged = len(acked)
	for _, a := range acked {
		fig10aKey(key, a[0])
		v, ok, err := c.Get(ctx, gcs.KV, key, got[:0])
		got = v
		if err == nil && ok && len(v) == cfg.ValueSize && binary.LittleEndian.Uint64(v) == a[1] {
			res.ReadBack++
		}
	}
	lat := make([]time.Duration, len(res.Samples))
	for i, s := range res.Samples {
		lat[i] = s.Latency
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.MaxLatency = lat[len(lat)-1]
		res.P50 = lat[len(lat)/2]
		res.P99 = lat[len(lat)*99/100]
	}
	return res, nil
}

// fig10aKey writes write i's key: "k" and i in decimal, zero-padded to the
// key's length.
func fig10aKey(key []byte, i uint64) {
	for j := range key {
		key[j] = '0'
	}
	key[0] = 'k'
	for j := len(key) - 1; j > 0 && i > 0; j-- {
		key[j] = byte('0' + i%10)
		i /= 10
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// fig10bConfig configures figure10b.
type fig10bConfig struct {
	// Tasks recorded in each run; default 1,000,000 (the paper used 50M).
	Tasks int
	// Samples per run; default 40.
	Samples int
	// MemoryCap for the run with flushing; default 32 MiB.
	MemoryCap int64
	// SpecSize is the bytes stored per task besides its 20-byte ID;
	// default 64 (an empty task's specification).
	SpecSize int
	// Dir holds the flush segments; default a temporary directory,
	// removed afterwards.
	Dir string
}

// fig10bSample is the GCS's memory after some tasks were recorded.
type fig10bSample struct {
	Tasks   int
	Elapsed time.Duration
	// StoreBytes is the memory the store accounts for: entries in memory
	// plus the flush segments' bloom filters.
	StoreBytes int64
	// HeapBytes is the process's Go heap in use after a collection.
	HeapBytes uint64
}

// fig10bResult is Figure 10b's data: memory over time while tasks are
// recorded into one embedded shard, without flushing (it grows linearly)
// and with flushing (it stays under the cap).
type fig10bResult struct {
	Tasks        int
	MemoryCap    int64
	WithoutFlush []fig10bSample
	WithFlush    []fig10bSample
	Segments     int   // written in the run with flushing
	FlushedBytes int64 // their size on disk
	// ReadBack is how many of a sample of flushed tasks read back (from
	// disk) correctly at the end, of ReadChecked.
	ReadBack, ReadChecked int
}

// figure10b reproduces the paper's Figure 10b: the GCS's memory while
// tasks are recorded, without flushing and with a memory cap. It runs in
// this process; memory is sampled after a garbage collection.
func figure10b(ctx context.Context, cfg fig10bConfig) (fig10bResult, error) {
	if cfg.Tasks <= 0 {
		cfg.Tasks = 1_000_000
	}
	if cfg.Samples <= 0 {
		cfg.Samples = 40
	}
	if cfg.MemoryCap <= 0 {
		cfg.MemoryCap = 32 << 20
	}
	if cfg.SpecSize <= 0 {
		cfg.SpecSize = 64
	}
	dir := cfg.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "manta-fig10b-"); err != nil {
			return fig10bResult{}, err
		}
		defer os.RemoveAll(dir)
	}
	res := fig10bResult{Tasks: cfg.Tasks, MemoryCap: cfg.MemoryCap}
	var err error
	if res.WithoutFlush, _, err = fig10bRun(ctx, cfg, gcs.Config{Shards: 1}, nil); err != nil {
		return res, err
	}
	runtime.GC()
	var st gcs.Stats
	if res.WithFlush, st, err = fig10bRun(ctx, cfg, gcs.Config{Shards: 1, FlushDir: dir, MemoryCap: cfg.MemoryCap}, &res); err != nil {
		return res, err
	}
	res.Segments, res.FlushedBytes = st.Segments, st.FlushedBytes
	return res, nil
}

func fig10bRun(ctx context.Context, cfg fig10bConfig, sc gcs.Config, res *fig10bResult) ([]fig10bSample, gcs.Stats, error) {
	st, err := gcs.Open(sc)
	if err != nil {
		return nil, gcs.Stats{}, err
	}
	defer st.Close()
	every := max(cfg.Tasks/cfg.Samples, 1)
	id := make([]byte, 20)
	spec := make([]byte, cfg.SpecSize)
	var samples []fig10bSample
	var ms runtime.MemStats
	start := time.Now()
	sample := func(n int) {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		s := st.Stats()
		samples = append(samples, fig10bSample{Tasks: n, Elapsed: time.Since(start), StoreBytes: s.MemoryBytes + s.BloomBytes, HeapBytes: ms.HeapInuse})
	}
	sample(0)
	for n := 1; n <= cfg.Tasks; n++ {
		fig10bTask(id, spec, n)
		if err := st.Put(ctx, gcs.Tasks, id, spec); err != nil {
			return samples, st.Stats(), err
		}
		if n%every == 0 || n == cfg.Tasks {
			if err := ctx.Err(); err != nil {
				return samples, st.Stats(), err
			}
			sample(n)
		}
	}
	if res != nil {
		// Reconstruction needs flushed tasks: read a sample back.
		for n := 1; n <= cfg.Tasks; n += max(cfg.Tasks/1000, 1) {
			fig10bTask(id, spec, n)
			v, ok, err := st.Get(ctx, gcs.Tasks, id, nil)
			res.ReadChecked++
			if err == nil && ok && string(v) == string(spec) {
				res.ReadBack++
			}
		}
	}
	return samples, st.Stats(), nil
}

// fig10bTask fills task n's ID and specification.
func fig10bTask(id, spec []byte, n int) {
	binary.LittleEndian.PutUint64(id, uint64(n)*0x9e3779b97f4a7c15)
	binary.LittleEndian.PutUint64(id[8:], uint64(n))
	binary.LittleEndian.PutUint32(id[16:], 0xfeedf00d)
	binary.LittleEndian.PutUint64(spec, uint64(n))
}
