package store

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/shm"
)

// minCapacity is the smallest store New accepts: a few pages.
const minCapacity = 4096

// DefaultPutTimeout is how long Create and Pin wait for room by default.
const DefaultPutTimeout = 10 * time.Second

// Config configures a Store. The zero value is usable.
type Config struct {
	// Capacity is the size of the shared-memory segment in bytes, rounded
	// down to Align. 0 means DefaultCapacity().
	Capacity int64
	// SpillDir receives spill files. "" means a fresh directory
	// os.TempDir()/manta-spill-<pid>-<random>, made on the first spill.
	// A directory the store made is removed by Close; in one that already
	// existed, Close removes only the store's files. Two stores must not
	// share a directory.
	SpillDir string
	// PutTimeout bounds how long Create (and Pin restoring a spilled
	// object) wait for memory when everything in memory is pinned or being
	// written. 0 means DefaultPutTimeout; negative means do not wait.
	PutTimeout time.Duration
	// Clock times those waits, and a Pin's wait for another caller's
	// restore (tests drive a clockwork.FakeClock). nil means
	// clockwork.NewRealClock().
	Clock clockwork.Clock
	// Spilled and Restored, if set, are told of every object written to
	// a spill file and every one read back, with its size in bytes (the
	// node's task-life events). They are called with the store's lock
	// held: they must be quick and must not call into the store.
	Spilled, Restored func(id ID, size int64)
}

// Store is a node's object store: one shared-memory segment, the
// allocator over it and the state of every object. It lives in the node
// manager; workers reach the bytes through a View. Its methods are safe
// for concurrent use.
type Store struct {
	seg      *shm.Segment
	mem      []byte
	capacity int64
	timeout  time.Duration
	// Config.Spilled and Config.Restored, called under mu.
	spilled, restored func(id ID, size int64)
	clock             clockwork.Clock

	// createFile opens a spill file for writing, and openFile for
	// reading; tests substitute them to inject I/O errors.
	createFile func(name string) (spillFile, error)
	openFile   func(name string) (*os.File, error)

	mu       sync.Mutex
	closed   bool
	alloc    allocator
	objs     []object // records; indices are stable while a record is live
	spareObj []int32
	index    idIndex
	lruHead  int32 // most recently used sealed, unpinned object in memory
	lruTail  int32 // least recently used: the next to spill
	lruBytes int64 // allocation bytes of the objects in the LRU list

	spillDir   string // "" until made
	configDir  string
	madeDir    bool
	spillBytes int64 // allocation bytes of objects whose spill is in flight
	io         int   // spills and restores in flight; Close waits for 0

	// wake is closed (and replaced) to wake every goroutine waiting for a
	// change: memory freed, an object sealed or unpinned, I/O finished.
	wake    chan struct{}
	waiters int

	st Stats
}

// New creates a store with one memfd segment of cfg.Capacity bytes.
func New(cfg Config) (*Store, error) {
	capacity := cfg.Capacity
	if capacity == 0 {
		c, err := DefaultCapacity()
		if err != nil {
			return nil, err
		}
		capacity = c
	}
	capacity &^= Align - 1
	if capacity < minCapacity || int64(int(capacity)) != capacity {
		return nil, fmt.Errorf("store: cannot create a store of %d bytes: need at least %d", cfg.Capacity, minCapacity)
	}
	seg, err := shm.NewSegment("manta-store", int(capacity))
	if err != nil {
		return nil, fmt.Errorf("store: cannot create a store of %d bytes: %w", capacity, err)
	}
	s := &Store{
		seg:        seg,
		mem:        seg.Bytes(),
		capacity:   capacity,
		timeout:    cfg.PutTimeout,
		clock:      cfg.Clock,
		createFile: createOSFile,
		openFile:   os.Open,
		configDir:  cfg.SpillDir,
		spilled:    cfg.Spilled,
		restored:   cfg.Restored,
		lruHead:    noObject,
		lruTail:    noObject,
	}
	if s.timeout == 0 {
		s.timeout = DefaultPutTimeout
	}
	if s.clock == nil {
		s.clock = clockwork.NewRealClock()
	}
	s.alloc.init(capacity)
	s.index.init(minIndexSlots)
	s.st.Capacity = capacity
	return s, nil
}

// Segment returns the shared memory; core passes Segment().File() to
// workers, which map it with shm.MapSegment and read it through a View.
func (s *Store) Segment() *shm.Segment { return s.seg }

// Close waits for spill and restore I/O in flight, unmaps and closes the
// segment (workers that still map it keep their mapping), and removes
// every spill file and the spill directory if the store made it. Waiting
// Create and Pin calls return ErrClosed; later calls too.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.broadcast()
	for s.io > 0 {
		s.waitChange(nil, nil)
	}
	var files []string
	if !s.madeDir && s.spillDir != "" {
		for i := range s.objs {
			if o := &s.objs[i]; o.live && o.onDisk {
				files = append(files, s.spillPath(o.id))
			}
		}
	}
	dir, madeDir := s.spillDir, s.madeDir
	s.mu.Unlock()

	err := s.seg.Close()
	if madeDir {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = fmt.Errorf("store: cannot remove spill directory: %w", rerr)
		}
	}
	for _, f := range files {
		if rerr := os.Remove(f); rerr != nil && !os.IsNotExist(rerr) && err == nil {
			err = fmt.Errorf("store: cannot remove spill file: %w", rerr)
		}
	}
	return err
}

// broadcast wakes every waiter. Called with s.mu held after any change a
// waiter may be waiting for; free when nobody waits.
func (s *Store) broadcast() {
	if s.waiters > 0 && s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
}

// waitChange releases s.mu until the next broadcast, done closing or
// timer firing, and takes it again. It reports which ended the wait:
// 0 broadcast, 1 done, 2 timer.
func (s *Store) waitChange(done <-chan struct{}, timer <-chan time.Time) int {
	if s.wake == nil {
		s.wake = make(chan struct{})
	}
	ch := s.wake
	s.waiters++
	s.mu.Unlock()
	why := 0
	select {
	case <-ch:
	case <-done:
		why = 1
	case <-timer:
		why = 2
	}
	s.mu.Lock()
	s.waiters--
	return why
}
