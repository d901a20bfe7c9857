package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"manta/node"
	"manta/rpc/wire"
	"manta/sched"
	"manta/sched/global"
	"manta/shm/store"
	"manta/transfer"
)

// NetworkConfig configures a Network. Self, Token and Store are
// required.
type NetworkConfig struct {
	// Self is this node's peer and transfer addresses, and for a job node
	// the peer address of its node (Self.Member): Place answers Self.Peer
	// for that node, since a task sent there would come back here.
	Self Holder
	// Binary is this program's hash in the function table, sent with
	// every task (RunRequest.Binary).
	Binary string
	// Token is the cluster token.
	Token []byte
	// Store is this node's object store, which pulls fill.
	Store *store.Store
	// Global configures the placement of spilled tasks (locality, waiting
	// for nodes).
	Global global.Config
	// Actors is the cluster's actor table: where each actor lives.
	// Required for calls through handles to actors this node did not
	// place.
	Actors ActorDirectory
	// MaxFrame bounds peer requests and replies. Default
	// rpc.DefaultMaxFrame.
	MaxFrame int
	// Logger: default slog.Default().
	Logger *slog.Logger
}

// ActorDirectory records and finds the node an actor lives on (core keeps
// it in the GCS's actor table).
type ActorDirectory interface {
	Record(ctx context.Context, actor wire.TaskID, peer string) error
	Locate(ctx context.Context, actor wire.TaskID) (string, error)
}

// Node is one live node of the cluster as Update reports it.
type Node struct {
	// Peer is its peer server's address; nodes without one take no tasks.
	Peer string
	// Total and Free are its resources, Room what its actors leave tasks
	// (nil: the totals), Queued its queue length, from its last
	// heartbeat.
	Total, Free, Room map[string]float64
	Queued            int
}

// Network is a node's view of its cluster and its calls to the other
// nodes: the global scheduler's placement (paper §4.2.2), fed with the
// nodes' heartbeats through Update; runs of spilled tasks at peers
// (Client); pulls of objects into the local store (transfer.Puller). It
// is what node/host's Cluster asks for, and safe for concurrent use.
//
// Every node that spills keeps its own replica of the global scheduler's
// state, rebuilt from the GCS: the paper's global scheduler is replicated
// the same way, sharing its information through the GCS.
type Network struct {
	cfg    NetworkConfig
	client *Client
	puller *transfer.Puller

	mu     sync.Mutex
	sched  *global.Scheduler
	ids    map[string]global.NodeID // by peer address
	addrs  map[global.NodeID]string
	nextID global.NodeID
	// updated is closed and replaced at each Update: placements that
	// wait for a node (global.Config.WaitForNodes) try again then.
	updated chan struct{}
	closed  bool
	// waiting counts those placements by demand.
	waiting map[string]int
	// members are the live peers of the last Update.
	members map[string]bool
	// lost holds the peers a run could not reach, left out of placement
	// until the GCS stops listing them or Quarantine has passed: the
	// head's watcher needs its timeout to mark a dead node dead.
	lost map[string]time.Time
}

// Quarantine is how long a peer that could not be reached is left out of
// placement while the GCS still lists it alive.
const Quarantine = 10 * time.Second

// NewNetwork returns a Network that knows of no node until Update.
func NewNetwork(cfg NetworkConfig) (*Network, error) {
	if cfg.Store == nil || cfg.Self.Peer == "" {
		return nil, errors.New("peer: NetworkConfig.Store and Self are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	gs, err := global.New(cfg.Global)
	if err != nil {
		return nil, err
	}
	p, err := transfer.NewPuller(transfer.PullerConfig{Store: cfg.Store, Token: cfg.Token})
	if err != nil {
		return nil, err
	}
	return &Network{cfg: cfg, client: NewClient(ClientConfig{Token: cfg.Token, MaxFrame: cfg.MaxFrame, Logger: cfg.Logger}), puller: p,
		sched: gs, ids: map[string]global.NodeID{}, addrs: map[global.NodeID]string{}, lost: map[string]time.Time{},
		updated: make(chan struct{}), waiting: map[string]int{}}, nil
}

// Self is this node's holder addresses.
func (n *Network) Self() Holder { return n.cfg.Self }

// Update replaces the view of the cluster with live, its live nodes: new
// ones are added, the load of known ones reported, and those missing
// removed (their runs in flight fail with ErrPeerLost, so their tasks are
// retried elsewhere). It returns the peers that were live at the last
// Update and are not now: members that left or died, whose lent holds
// their lenders give back (see node/host's MembersGone).
func (n *Network) Update(live []Node) (left []string, err error) {
	n.mu.Lock()
	var gone []string
	seen := map[string]bool{}
	var errs []error
	now := time.Now()
	for _, nd := range live {
		if nd.Peer == "" {
			continue
		}
		seen[nd.Peer] = true
		if at, ok := n.lost[nd.Peer]; ok && now.Sub(at) < Quarantine {
			continue
		}
		delete(n.lost, nd.Peer)
		id, known := n.ids[nd.Peer]
		if !known {
			total, err := sched.NewResources(nd.Total)
			if err != nil {
				errs = append(errs, fmt.Errorf("peer: node %s: %w", nd.Peer, err))
				continue
			}
			n.nextID++
			id = n.nextID
			if err := n.sched.AddNode(id, total); err != nil {
				errs = append(errs, err)
				continue
			}
			n.ids[nd.Peer], n.addrs[id] = id, nd.Peer
		}
		if nd.Free != nil {
			free, err := sched.NewResources(nd.Free)
			if err != nil {
				errs = append(errs, fmt.Errorf("peer: node %s: %w", nd.Peer, err))
				continue
			}
			load := global.Load{Available: free, Queued: nd.Queued}
			if nd.Room != nil {
				room, err := sched.NewResources(nd.Room)
				if err != nil {
					errs = append(errs, fmt.Errorf("peer: node %s: %w", nd.Peer, err))
					continue
				}
				load.Room = &room
			}
			n.sched.Report(id, load)
		}
	}
	// A peer that is no longer live loses both its connections, however
	// it left placement: by this Update, or earlier when a run found it
	// lost (then only its run connection was dropped, and the short one
	// would redial it for ever).
	for addr := range n.lost {
		if !seen[addr] {
			delete(n.lost, addr)
			gone = append(gone, addr)
		}
	}
	for addr := range n.ids {
		if !seen[addr] {
			n.removeLocked(addr)
			gone = append(gone, addr)
		}
	}
	for addr := range n.members {
		if !seen[addr] {
			left = append(left, addr)
			gone = append(gone, addr) // Forget is idempotent
		}
	}
	n.members = seen
	close(n.updated)
	n.updated = make(chan struct{})
	n.mu.Unlock()
	for _, addr := range gone {
		n.client.Forget(addr)
	}
	return left, errors.Join(errs...)
}

// Place picks the node for a spilled task (host.Cluster): the lowest
// estimated wait, counting the bytes of inputs it would have to pull.
// With global.Config.WaitForNodes a demand no live node can fit waits
// (counted in Waiting) until one that can joins, or the Network closes.
// An actor goes only where the actors already there leave it room
// (global.Scheduler.PlaceActor); while no node does, it waits the same
// way, rather than wait for good on a node where room may never come.
func (n *Network) Place(spec *node.TaskSpec, inputs []Object) (string, error) {
	res := map[string]float64{"CPU": 1}
	if spec.Options != nil && spec.Options.Resources != nil {
		res = spec.Options.Resources
	}
	demand, err := sched.NewResources(res)
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	in := make([]global.Input, 0, len(inputs))
	for _, o := range inputs {
		gi := global.Input{Bytes: o.Size}
		for _, h := range o.From {
			if id, ok := n.ids[h.Node()]; ok {
				gi.On = append(gi.On, id)
			}
		}
		in = append(in, gi)
	}
	place := func() (global.Placement, error) {
		if spec.Kind == wire.SubmitActor {
			return n.sched.PlaceActor(demand)
		}
		return n.sched.Place(demand, in)
	}
	p, err := place()
	for errors.Is(err, global.ErrNoNodeYet) || errors.Is(err, global.ErrNoRoomYet) {
		shape := demand.String()
		n.waiting[shape]++
		updated := n.updated
		n.mu.Unlock()
		<-updated
		n.mu.Lock()
		if n.waiting[shape]--; n.waiting[shape] == 0 {
			delete(n.waiting, shape)
		}
		if n.closed {
			return "", fmt.Errorf("peer: closed while %s waited for a node", shape)
		}
		p, err = place()
	}
	if err != nil {
		return "", err
	}
	if addr := n.addrs[p.Node]; addr != n.cfg.Self.Node() {
		return addr, nil
	}
	return n.cfg.Self.Peer, nil
}

// Run runs req at the peer addr (see Client.Run).
func (n *Network) Run(ctx context.Context, addr string, req *RunRequest) (RunReply, error) {
	req.Binary, req.Member = n.cfg.Binary, n.cfg.Self.Node()
	reply, err := n.client.Run(ctx, addr, req)
	if errors.Is(err, ErrPeerLost) {
		n.mu.Lock()
		n.removeLocked(addr)
		n.lost[addr] = time.Now()
		n.mu.Unlock()
	}
	return reply, err
}

// Release gives back holds the peer addr lent (see Client.Release).
func (n *Network) Release(addr string, ids []wire.ObjectID) {
	n.client.Release(addr, n.cfg.Self.Node(), ids)
}

// Cancel asks the peer addr to cancel a task this node asked it to run
// (see Client.Cancel).
func (n *Network) Cancel(addr string, task wire.TaskID) {
	n.client.Cancel(addr, &CancelRequest{Binary: n.cfg.Binary, Task: task})
}

// removeLocked drops the peer addr from placement. Under mu.
func (n *Network) removeLocked(addr string) {
	if id, ok := n.ids[addr]; ok {
		n.sched.RemoveNode(id)
		delete(n.ids, addr)
		delete(n.addrs, id)
	}
}

// Pull copies object id into the local store from one of from (this
// node itself left out), at Get priority if forGet, else as a task's
// argument.
func (n *Network) Pull(ctx context.Context, id wire.ObjectID, size int64, from []Holder, forGet bool) error {
	addrs := make([]string, 0, len(from))
	for _, h := range from {
		if h != n.cfg.Self && h.Transfer != "" {
			addrs = append(addrs, h.Transfer)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%w: object %v: no other node holds it", transfer.ErrTransferFailed, id)
	}
	prio := transfer.PriorityArg
	if forGet {
		prio = transfer.PriorityGet
	}
	var sid store.ID
	wire.AppendObjectID(sid[:0], id)
	return n.puller.Pull(ctx, sid, size, addrs, prio)
}

// RecordActor records that actor lives at the peer addr.
func (n *Network) RecordActor(ctx context.Context, actor wire.TaskID, addr string) error {
	if n.cfg.Actors == nil {
		return nil
	}
	return n.cfg.Actors.Record(ctx, actor, addr)
}

// LocateActor returns the peer address of the node actor lives on.
func (n *Network) LocateActor(ctx context.Context, actor wire.TaskID) (string, error) {
	if n.cfg.Actors == nil {
		return "", fmt.Errorf("peer: no actor table to find actor %v", actor)
	}
	return n.cfg.Actors.Locate(ctx, actor)
}

// Waiting counts the placements waiting for a node that can run them,
// by demand (sched.Resources.String).
func (n *Network) Waiting() map[string]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.waiting)
}

// Close closes the peer connections and the puller, and ends the waits
// of placements.
func (n *Network) Close() error {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.updated)
		n.updated = make(chan struct{})
	}
	n.mu.Unlock()
	n.client.Close()
	return n.puller.Close()
}
