package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/gcs"
)

// Version is the cluster protocol a node speaks: it changes with any
// message between nodes (node/peer's frames, transfer's, the records in
// the GCS). The head records it; a node of another version is refused
// at Join.
const Version = "manta-cluster/2"

// versionKey is where the head records Version, in gcs.KV.
var versionKey = []byte("cluster/version")

// membersKey is the log, in gcs.Events, of every node that ever joined,
// in order: what List reads.
var membersKey = []byte("cluster/nodes")

// ErrVersion is returned by Join when the cluster speaks another protocol
// version than this binary.
var ErrVersion = errors.New("cluster: version mismatch")

// ErrNoHead is returned by Join when the GCS has no cluster recorded: no
// head initialised it.
var ErrNoHead = errors.New("cluster: no head has initialised this GCS")

// NodeID names a node for the life of its process: a node that restarts
// joins as a new node, as in Ray.
type NodeID string

// InitHead records the cluster's protocol version in the GCS; the head
// calls it once, before any node joins. A GCS holding another version is
// an error wrapping ErrVersion.
func InitHead(ctx context.Context, api gcs.API) error {
	have, ok, err := api.Get(ctx, gcs.KV, versionKey, nil)
	switch {
	case err != nil:
		return fmt.Errorf("cluster: reading the version: %w", err)
	case ok && string(have) != Version:
		return fmt.Errorf("%w: the GCS holds %q, this head speaks %q", ErrVersion, have, Version)
	case ok:
		return nil
	}
	return api.Put(ctx, gcs.KV, versionKey, []byte(Version))
}

// Config says how a node joins.
type Config struct {
	// GCS is the cluster's control store. Required.
	GCS gcs.API
	// Addr is where peers reach this node (for transfers); may be empty.
	Addr string
	// Resources are the node's totals (see host.DetectResources).
	Resources map[string]float64
	// Heartbeat is how often the node writes its heartbeat; the head's
	// NodeWatcher marks it dead after its timeout without one. Default
	// 500 ms.
	Heartbeat time.Duration
	// Load, if set, is asked for the node's load at every heartbeat,
	// which carries it to `manta status`; it must not block.
	Load func() Load
	// Clock paces heartbeats; nil means the real clock.
	Clock clockwork.Clock
	// Logger receives failed heartbeats; nil means slog.Default().
	Logger *slog.Logger
}

// Member is this process's membership: Join made it, Leave ends it.
type Member struct {
	cfg  Config
	id   NodeID
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Join checks the cluster's protocol version, records the node alive in
// gcs.Nodes with its address and resources, appends it to the members'
// log, and starts heartbeating until Leave.
func Join(ctx context.Context, cfg Config) (*Member, error) {
	if cfg.GCS == nil {
		return nil, errors.New("cluster: Config.GCS is required")
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 500 * time.Millisecond
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	have, ok, err := cfg.GCS.Get(ctx, gcs.KV, versionKey, nil)
	switch {
	case err != nil:
		return nil, fmt.Errorf("cluster: cannot join: %w", err)
	case !ok:
		return nil, ErrNoHead
	case string(have) != Version:
		return nil, fmt.Errorf("%w: the cluster speaks %q, this node %q", ErrVersion, have, Version)
	}
	m := &Member{cfg: cfg, id: newNodeID(), stop: make(chan struct{}), done: make(chan struct{})}
	info := gcs.NodeInfo{Addr: cfg.Addr, State: gcs.NodeAlive, Resources: AppendResources(nil, cfg.Resources)}
	if err := cfg.GCS.Put(ctx, gcs.Nodes, []byte(m.id), gcs.AppendNodeInfo(nil, info)); err != nil {
		return nil, fmt.Errorf("cluster: cannot join: %w", err)
	}
	if err := m.beat(ctx); err != nil {
		return nil, fmt.Errorf("cluster: cannot join: %w", err)
	}
	if err := cfg.GCS.Append(ctx, gcs.Events, membersKey, []byte(m.id)); err != nil {
		return nil, fmt.Errorf("cluster: cannot join: %w", err)
	}
	go m.heartbeat()
	return m, nil
}

// ID is the node's ID.
func (m *Member) ID() NodeID { return m.id }

func (m *Member) beat(ctx context.Context) error {
	var load Load
	if m.cfg.Load != nil {
		load = m.cfg.Load()
	}
	load.At = m.cfg.Clock.Now()
	return m.cfg.GCS.Put(ctx, gcs.Heartbeats, []byte(m.id), load.Append(nil))
}

// Load is what a node reports in its heartbeats.
type Load struct {
	// At is when it was taken; the heartbeat sets it.
	At time.Time
	// Free is what of the node's resources is not in use.
	Free map[string]float64
	// Queued counts tasks waiting for resources or a worker; Running,
	// those running.
	Queued, Running int
	// StoreUsed and StoreCapacity are the object store's bytes.
	StoreUsed, StoreCapacity int64
	// Room is what tasks can ever get on the node while its actors live:
	// its totals less what they hold. Nil if not reported.
	Room map[string]float64
	// Lent counts the objects the node holds for other nodes' programs
	// (results of tasks it ran for them, not yet released).
	Lent int
	// Demands are the requests waiting on the node, by shape, with why.
	Demands []Demand
	// GPUs are the node's devices as last read.
	GPUs []GPULoad
}

// GPULoad is one GPU of a node as its heartbeat read it.
type GPULoad struct {
	Index                   int
	MemoryUsed, MemoryTotal uint64 // bytes
	Utilization             int    // percent
	Lost                    bool   // it could not be read: out of service
}

// Demand is one shape of resource request waiting on a node.
type Demand struct {
	// Shape is the request, as AppendResources writes it.
	Shape  string
	Count  int
	Reason DemandReason
}

// DemandReason says why a demand waits.
type DemandReason string

// The reasons a demand waits.
const (
	// DemandBusy: the resources exist but are in use.
	DemandBusy DemandReason = "busy"
	// DemandNoNode: no live node has the resources; the request waits
	// for one to join (core.Config.WaitForNodes).
	DemandNoNode DemandReason = "nonode"
)

// String explains the reason in words, for `manta status`.
func (r DemandReason) String() string {
	switch r {
	case DemandBusy:
		return "waiting for resources in use"
	case DemandNoNode:
		return "no live node has them: waiting for one to join"
	}
	return string(r)
}

// Append encodes l as space-separated key=value fields.
func (l Load) Append(dst []byte) []byte {
	if !l.At.IsZero() {
		dst = append(dst, "at="...)
		dst = strconv.AppendInt(dst, l.At.UnixNano(), 10)
		dst = append(dst, ' ')
	}
	dst = append(dst, "queued="...)
	dst = strconv.AppendInt(dst, int64(l.Queued), 10)
	dst = append(dst, " running="...)
	dst = strconv.AppendInt(dst, int64(l.Running), 10)
	dst = append(dst, " store="...)
	dst = strconv.AppendInt(dst, l.StoreUsed, 10)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, l.StoreCapacity, 10)
	if l.Lent > 0 {
		dst = append(dst, " lent="...)
		dst = strconv.AppendInt(dst, int64(l.Lent), 10)
	}
	if l.Free != nil {
		dst = append(dst, " free="...)
		dst = AppendResources(dst, l.Free)
	}
	if l.Room != nil {
		dst = append(dst, " room="...)
		dst = AppendResources(dst, l.Room)
	}
	for _, g := range l.GPUs {
		dst = append(dst, " gpu="...)
		dst = strconv.AppendInt(dst, int64(g.Index), 10)
		dst = append(dst, '*')
		dst = strconv.AppendUint(dst, g.MemoryUsed, 10)
		dst = append(dst, '*')
		dst = strconv.AppendUint(dst, g.MemoryTotal, 10)
		dst = append(dst, '*')
		dst = strconv.AppendInt(dst, int64(g.Utilization), 10)
		if g.Lost {
			dst = append(dst, "*lost"...)
		}
	}
	for _, d := range l.Demands {
		dst = append(dst, " demand="...)
		dst = append(dst, d.Shape...)
		dst = append(dst, '*')
		dst = strconv.AppendInt(dst, int64(d.Count), 10)
		dst = append(dst, '*')
		dst = append(dst, d.Reason...)
	}
	return dst
}

// DecodeLoad reads what Load.Append wrote; unknown fields are skipped,
// so that a newer node's heartbeat still reads.
func DecodeLoad(b []byte) (Load, error) {
	var l Load
	bad := func() (Load, error) { return Load{}, fmt.Errorf("cluster: malformed load %q", b) }
	for _, field := range strings.Fields(string(b)) {
		key, value, ok := strings.Cut(field, "=")
		if !ok {
			return bad()
		}
		var err error
		switch key {
		case "at":
			var ns int64
			ns, err = strconv.ParseInt(value, 10, 64)
			l.At = time.Unix(0, ns)
		case "queued":
			l.Queued, err = strconv.Atoi(value)
		case "running":
			l.Running, err = strconv.Atoi(value)
		case "lent":
			l.Lent, err = strconv.Atoi(value)
		case "store":
			used, capacity, ok := strings.Cut(value, "/")
			if !ok {
				return bad()
			}
			if l.StoreUsed, err = strconv.ParseInt(used, 10, 64); err == nil {
				l.StoreCapacity, err = strconv.ParseInt(capacity, 10, 64)
			}
		case "free":
			l.Free, err = DecodeResources([]byte(value))
		case "room":
			l.Room, err = DecodeResources([]byte(value))
		case "demand":
			var d Demand
			if d, err = decodeDemand(value); err == nil {
				l.Demands = append(l.Demands, d)
			}
		case "gpu":
			var g GPULoad
			if g, err = decodeGPU(value); err == nil {
				l.GPUs = append(l.GPUs, g)
			}
		}
		if err != nil || l.Queued < 0 || l.Running < 0 || l.Lent < 0 || l.StoreUsed < 0 || l.StoreCapacity < 0 {
			return bad()
		}
	}
	return l, nil
}

// decodeGPU reads INDEX*USED*TOTAL*UTILIZATION, with *lost for a lost
// device.
func decodeGPU(v string) (GPULoad, error) {
	parts := strings.Split(v, "*")
	if len(parts) != 4 && (len(parts) != 5 || parts[4] != "lost") {
		return GPULoad{}, errors.New("bad gpu")
	}
	index, err1 := strconv.Atoi(parts[0])
	used, err2 := strconv.ParseUint(parts[1], 10, 64)
	total, err3 := strconv.ParseUint(parts[2], 10, 64)
	util, err4 := strconv.Atoi(parts[3])
	if err := errors.Join(err1, err2, err3, err4); err != nil || index < 0 || util < 0 || util > 100 {
		return GPULoad{}, errors.New("bad gpu")
	}
	return GPULoad{Index: index, MemoryUsed: used, MemoryTotal: total, Utilization: util, Lost: len(parts) == 5}, nil
}

// decodeDemand reads SHAPE*COUNT*REASON.
func decodeDemand(v string) (Demand, error) {
	shape, rest, ok := strings.Cut(v, "*")
	if !ok {
		return Demand{}, errors.New("no count")
	}
	count, reason, ok := strings.Cut(rest, "*")
	if !ok || reason == "" {
		return Demand{}, errors.New("no reason")
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 0 {
		return Demand{}, errors.New("bad count")
	}
	if _, err := DecodeResources([]byte(shape)); err != nil {
		return Demand{}, err
	}
	return Demand{Shape: shape, Count: n, Reason: DemandReason(reason)}, nil
}

func (m *Member) heartbeat() {
	defer close(m.done)
	t := m.cfg.Clock.NewTicker(m.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.Chan():
			ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Heartbeat)
			if err := m.beat(ctx); err != nil {
				m.cfg.Logger.Warn("manta: heartbeat failed", "node", m.id, "err", err)
			}
			cancel()
		}
	}
}

// Leave stops the heartbeats and records the node dead, so that the
// cluster need not wait for the watcher's timeout. It is idempotent.
func (m *Member) Leave(ctx context.Context) error {
	m.once.Do(func() { close(m.stop) })
	<-m.done
	info := gcs.NodeInfo{Addr: m.cfg.Addr, State: gcs.NodeDead, Resources: AppendResources(nil, m.cfg.Resources)}
	return m.cfg.GCS.Put(ctx, gcs.Nodes, []byte(m.id), gcs.AppendNodeInfo(nil, info))
}

// NodeStatus is one node as List reports it.
type NodeStatus struct {
	ID        NodeID
	Addr      string
	State     gcs.NodeState
	Resources map[string]float64
	// Load is its last heartbeat's.
	Load Load
}

// List returns every node that ever joined, in joining order, with its
// state in gcs.Nodes.
func List(ctx context.Context, api gcs.API) ([]NodeStatus, error) {
	log, _, err := api.Get(ctx, gcs.Events, membersKey, nil)
	if err != nil {
		return nil, fmt.Errorf("cluster: listing nodes: %w", err)
	}
	ids, err := gcs.Members(log, nil)
	if err != nil {
		return nil, fmt.Errorf("cluster: listing nodes: %w", err)
	}
	out := make([]NodeStatus, 0, len(ids))
	for _, id := range ids {
		raw, ok, err := api.Get(ctx, gcs.Nodes, id, nil)
		if err != nil {
			return nil, fmt.Errorf("cluster: node %s: %w", id, err)
		}
		if !ok {
			continue
		}
		info, err := gcs.DecodeNodeInfo(raw)
		if err != nil {
			return nil, fmt.Errorf("cluster: node %s: %w", id, err)
		}
		res, err := DecodeResources(info.Resources)
		if err != nil {
			return nil, fmt.Errorf("cluster: node %s: %w", id, err)
		}
		st := NodeStatus{ID: NodeID(id), Addr: info.Addr, State: info.State, Resources: res}
		beat, ok, err := api.Get(ctx, gcs.Heartbeats, id, nil)
		if err != nil {
			return nil, fmt.Errorf("cluster: node %s: %w", id, err)
		}
		if ok {
			if st.Load, err = DecodeLoad(beat); err != nil {
				return nil, fmt.Errorf("cluster: node %s: %w", id, err)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func newNodeID() NodeID {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("cluster: no randomness for a node ID: %v", err))
	}
	return NodeID(hex.EncodeToString(b[:]))
}

// AppendResources encodes resources as "name=quantity" pairs in name
// order, separated by commas: the form gcs.NodeInfo.Resources holds.
func AppendResources(dst []byte, r map[string]float64) []byte {
	names := make([]string, 0, len(r))
	for name := range r {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, name...)
		dst = append(dst, '=')
		dst = strconv.AppendFloat(dst, r[name], 'f', -1, 64)
	}
	return dst
}

// DecodeResources reads what AppendResources wrote; names must be
// non-empty and free of ',', '=' and spaces, quantities finite and not
// negative.
func DecodeResources(b []byte) (map[string]float64, error) {
	out := map[string]float64{}
	if len(b) == 0 {
		return out, nil
	}
	for _, pair := range bytes.Split(b, []byte(",")) {
		name, qty, ok := strings.Cut(string(pair), "=")
		if !ok || name == "" || strings.ContainsAny(name, " ,=") {
			return nil, fmt.Errorf("cluster: malformed resources %q", b)
		}
		v, err := strconv.ParseFloat(qty, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("cluster: malformed quantity in %q", b)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("cluster: %s given twice in %q", name, b)
		}
		out[name] = v
	}
	return out, nil
}
