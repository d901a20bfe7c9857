package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"manta/gcs/server"
)

// gcsCommand is `manta gcs`: one replica of one GCS shard. A head starts
// these with everything in MANTA_GCS_* variables; by hand, give the
// monitor's address and shard as flags and the cluster token in
// MANTA_GCS_TOKEN (hex), which is never read from the command line.
func gcsCommand(args []string, out io.Writer) error {
	env, _, err := server.ReplicaConfigFromEnv()
	fs := flag.NewFlagSet("gcs", flag.ContinueOnError)
	fs.SetOutput(out)
	shard := fs.Int("shard", env.Shard, "the shard to replicate")
	monitor := fs.String("monitor", env.Monitor, "the monitor's address (what `manta start --head` printed)")
	addr := fs.String("addr", env.Addr, "address to listen on (default 127.0.0.1, a free port)")
	flushDir := fs.String("flush-dir", env.FlushDir, "flush task and lineage entries beyond the memory cap to segments here")
	memCap := fs.Int64("memory-cap", env.MemoryCap, "bytes of task and lineage entries kept in memory when flushing (default 64 MiB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *monitor == "" {
		return errors.New("gcs: -monitor (or MANTA_GCS_MONITOR) is required")
	}
	if err != nil {
		return err
	}
	if len(env.Token) == 0 {
		if env.Token, err = hex.DecodeString(os.Getenv(server.EnvToken)); err != nil || len(env.Token) == 0 {
			return fmt.Errorf("gcs: set %s to the cluster token in hex (it is never taken on the command line)", server.EnvToken)
		}
	}
	cfg := env
	cfg.Shard, cfg.Monitor, cfg.Addr, cfg.FlushDir, cfg.MemoryCap = *shard, *monitor, *addr, *flushDir, *memCap
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return server.RunReplica(ctx, cfg, func(s *server.Replica) {
		fmt.Fprintf(out, "manta gcs: replica %d of shard %d at %s\n", s.ID(), cfg.Shard, s.Addr())
	})
}
