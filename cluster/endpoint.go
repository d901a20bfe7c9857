package cluster

import (
	"context"
	"fmt"

	"manta/gcs"
)

// EndpointState names a node's state API server (package state) among
// its endpoints.
const EndpointState = "state"

func endpointKey(node NodeID, name string) []byte {
	return []byte("endpoint/" + name + "/" + string(node))
}

// PublishEndpoint records in the GCS that node serves name at addr, so
// that commands and the dashboard can find it; a node publishes its
// endpoints after it joins.
func PublishEndpoint(ctx context.Context, api gcs.API, node NodeID, name, addr string) error {
	if err := api.Put(ctx, gcs.KV, endpointKey(node, name), []byte(addr)); err != nil {
		return fmt.Errorf("cluster: publishing %s of node %s: %w", name, node, err)
	}
	return nil
}

// Endpoint returns where node serves name, and false if it never said.
func Endpoint(ctx context.Context, api gcs.API, node NodeID, name string) (string, bool, error) {
	v, ok, err := api.Get(ctx, gcs.KV, endpointKey(node, name), nil)
	if err != nil {
		return "", false, fmt.Errorf("cluster: reading %s of node %s: %w", name, node, err)
	}
	return string(v), ok, nil
}

// Endpoints returns where the live nodes serve name, by node; nodes that
// never published it are left out.
func Endpoints(ctx context.Context, api gcs.API, name string) (map[NodeID]string, error) {
	nodes, err := List(ctx, api)
	if err != nil {
		return nil, err
	}
	out := map[NodeID]string{}
	for _, n := range nodes {
		if n.State != gcs.NodeAlive {
			continue
		}
		addr, ok, err := Endpoint(ctx, api, n.ID, name)
		if err != nil {
			return nil, err
		}
		if ok {
			out[n.ID] = addr
		}
	}
	return out, nil
}
