package server

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"manta/gcs/chain"
)

// ReplicaConfigFromEnv reads a replica's configuration from the MANTA_GCS_*
// variables a Head sets. ok is false when MANTA_GCS_MONITOR is not set (the
// process is not a replica).
func ReplicaConfigFromEnv() (cfg ReplicaConfig, ok bool, err error) {
	cfg.Monitor = os.Getenv(envMonitor)
	if cfg.Monitor == "" {
		return cfg, false, nil
	}
	if cfg.Token, err = hex.DecodeString(os.Getenv(EnvToken)); err != nil || len(cfg.Token) == 0 {
		return cfg, true, fmt.Errorf("gcs: %s must hold the cluster token in hex", EnvToken)
	}
	if v := os.Getenv(envShard); v != "" {
		if cfg.Shard, err = strconv.Atoi(v); err != nil {
			return cfg, true, fmt.Errorf("gcs: %s: %w", envShard, err)
		}
	}
	if v := os.Getenv(envID); v != "" {
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return cfg, true, fmt.Errorf("gcs: %s: %w", envID, err)
		}
		cfg.ID = chain.ReplicaID(id)
	}
	if host := os.Getenv(envBind); host != "" {
		cfg.Addr = net.JoinHostPort(host, "0")
	}
	cfg.FlushDir = os.Getenv(envFlushDir)
	if v := os.Getenv(envMemoryCap); v != "" {
		if cfg.MemoryCap, err = strconv.ParseInt(v, 10, 64); err != nil {
			return cfg, true, fmt.Errorf("gcs: %s: %w", envMemoryCap, err)
		}
	}
	return cfg, true, nil
}

// RunReplica serves a replica until ctx ends, the replica is removed from
// its chain, or (in a process a Head started) the head process is gone.
// It calls started, if not nil, once the replica listens. It returns why it
// stopped; nil when ctx ended.
func RunReplica(ctx context.Context, cfg ReplicaConfig, started func(*Replica)) error {
	s, err := StartReplica(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if started != nil {
		started(s)
	}
	parent, _ := strconv.Atoi(os.Getenv(envParent))
	check := clockOrReal(cfg.Clock).NewTicker(100 * time.Millisecond)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.Done():
			return s.Err()
		case <-check.Chan():
			if parent != 0 && os.Getppid() != parent {
				return fmt.Errorf("gcs: the head (pid %d) is gone", parent)
			}
		}
	}
}
