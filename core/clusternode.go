package core

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"manta/cluster"
	"manta/gcs"
	"manta/node/host"
	"manta/node/peer"
	"manta/rpc/wire"
	"manta/sched/global"
	"manta/shm/store"
	"manta/transfer"
)

// clusterNode is this node's part in a cluster (Config.Address): its
// connection to the GCS, its membership, its peer and transfer servers,
// and its view of the other nodes, refreshed every heartbeat.
type clusterNode struct {
	cfg   Config
	token []byte
	api   *timedGCS // the GCS client, its latency counted
	// binary is this program's hash in the GCS function table.
	binary string

	// Made by attach, once the host's store exists.
	transfer *transfer.Server
	peers    *peer.Server
	net      *peer.Network
	router   *router

	host   *host.Host          // set once it is made
	load   func() cluster.Load // likewise: this node's load
	member *cluster.Member
	stop   chan struct{}
	done   sync.WaitGroup
}

// dialCluster reaches the GCS of the head at cfg.Address.
func dialCluster(cfg Config) (*clusterNode, error) {
	token, err := cluster.ReadToken(filepath.Join(cluster.StateDir(), cluster.TokenFile))
	if err != nil {
		return nil, fmt.Errorf("manta: cannot join %s: %w", cfg.Address, err)
	}
	api, err := cluster.Dial(context.Background(), cfg.Address, token, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("manta: %w", err)
	}
	// The program's binary goes to the function table, so that a node
	// that never had it can run its tasks (see router).
	exe, err := os.Executable()
	var hash cluster.BinaryHash
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		hash, err = cluster.PublishBinary(ctx, api, exe)
		cancel()
	}
	if err != nil {
		api.Close()
		return nil, fmt.Errorf("manta: publishing this program to the cluster: %w", err)
	}
	return &clusterNode{cfg: cfg, token: token, api: &timedGCS{API: api}, binary: hash.String(), stop: make(chan struct{})}, nil
}

// attach starts the node's servers on the host's store; it is the host's
// Config.Cluster.
func (c *clusterNode) attach(st *store.Store, exec peer.Executor) (host.Cluster, error) {
	logger := c.logger()
	listen := net.JoinHostPort(c.cfg.Bind, "0")
	var err error
	if c.transfer, err = transfer.NewServer(transfer.ServerConfig{Store: st, Addr: listen, Token: c.token, Logger: logger}); err != nil {
		return nil, err
	}
	c.router = newRouter(exec, c)
	if c.peers, err = peer.NewServer(peer.ServerConfig{Exec: c.router, Addr: listen, Token: c.token, Logger: logger}); err != nil {
		return nil, err
	}
	c.net, err = peer.NewNetwork(peer.NetworkConfig{Self: peer.Holder{Peer: c.peers.Addr(), Transfer: c.transfer.Addr(), Member: c.cfg.member},
		Binary: c.binary, Actors: actorTable{c.api}, Token: c.token, Store: st, Global: global.Config{NoLocality: c.cfg.NoLocality, WaitForNodes: c.cfg.WaitForNodes}, Logger: logger})
	if err != nil {
		return nil, err
	}
	return c.net, nil
}

// join records the node in the cluster (unless it is a job node, whose
// node is the member), with its peer address, and starts following the
// other nodes.
func (c *clusterNode) join(load func() cluster.Load) error {
	c.load = load
	if c.cfg.member == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m, err := cluster.Join(ctx, cluster.Config{GCS: c.api, Addr: c.peers.Addr(), Resources: c.cfg.Resources, Load: load,
			Heartbeat: c.cfg.Heartbeat, Clock: c.cfg.Clock, Logger: c.cfg.Logger})
		if err != nil {
			return fmt.Errorf("manta: cannot join %s: %w", c.cfg.Address, err)
		}
		c.member = m
	}
	c.refresh()
	c.done.Add(1)
	go c.follow()
	return nil
}

// follow refreshes the view of the cluster every heartbeat until leave.
func (c *clusterNode) follow() {
	defer c.done.Done()
	t := time.NewTicker(c.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.refresh()
		}
	}
}

// refresh reads the live nodes and their last heartbeats from the GCS.
func (c *clusterNode) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), 4*c.cfg.Heartbeat)
	defer cancel()
	nodes, err := cluster.List(ctx, c.api)
	if err != nil {
		c.logger().Warn("manta: cannot read the cluster's nodes", "err", err)
		return
	}
	live := make([]peer.Node, 0, len(nodes))
	for _, n := range nodes {
		if n.State == gcs.NodeAlive && n.Addr != "" {
			live = append(live, peer.Node{Peer: n.Addr, Total: n.Resources, Free: n.Load.Free, Room: n.Load.Room, Queued: n.Load.Queued})
		}
	}
	left, err := c.net.Update(live)
	if err != nil {
		c.logger().Warn("manta: cluster view", "err", err)
	}
	c.host.MembersGone(left)
	c.router.pollLoads(ctx)
}

func (c *clusterNode) logger() *slog.Logger { return c.cfg.logger() }

// leave ends the membership (best effort: the head's watcher marks a
// silent node dead anyway) and stops following.
func (c *clusterNode) leave() {
	if c.member != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.member.Leave(ctx)
		cancel()
		c.member = nil
	}
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.done.Wait()
	// Before the host shuts down: it waits for its spills, and this ends
	// those waiting for a node to join or running at peers.
	if c.net != nil {
		if err := c.net.Close(); err != nil {
			c.logger().Debug("manta: closing the cluster's connections", "err", err)
		}
	}
	// And the transfer server, whose Close waits for the chunks it is
	// serving: they are copied out of the store's segment, which the
	// host's shutdown unmaps (a peer pulling then faulted this process).
	if c.transfer != nil {
		if err := c.transfer.Close(); err != nil {
			c.logger().Debug("manta: closing the transfer server", "err", err)
		}
	}
}

// close stops the servers and connections, after the host shut down.
func (c *clusterNode) close() {
	if c.router != nil {
		c.router.close(c.cfg.ShutdownGrace + time.Second)
	}
	var errs []error
	if c.peers != nil {
		errs = append(errs, c.peers.Close())
	}
	if c.transfer != nil {
		errs = append(errs, c.transfer.Close()) // again after leave: a no-op
	}
	errs = append(errs, c.api.Close())
	if err := errors.Join(errs...); err != nil {
		c.logger().Debug("manta: closing the cluster node", "err", err)
	}
}

// actorTable is the GCS's actor table as the nodes' directory of where
// actors live: an actor's ID to its gcs.ActorInfo.
type actorTable struct{ api gcs.API }

func actorKey(id wire.TaskID) []byte {
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, id.Hi), id.Lo)
}

func (t actorTable) Record(ctx context.Context, actor wire.TaskID, peer string) error {
	return t.api.Put(ctx, gcs.Actors, actorKey(actor), gcs.AppendActorInfo(nil, gcs.ActorInfo{Node: peer, State: gcs.ActorAlive}))
}

func (t actorTable) Locate(ctx context.Context, actor wire.TaskID) (string, error) {
	raw, ok, err := t.api.Get(ctx, gcs.Actors, actorKey(actor), nil)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%w: actor %v is in no node's table", ErrActorDied, actor)
	}
	info, err := gcs.DecodeActorInfo(raw)
	if err != nil {
		return "", err
	}
	return info.Node, nil
}
