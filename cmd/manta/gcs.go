package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

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
	addr := fs.String("addr", "", "address to listen on (default 127.0.0.1, a free port)")
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

// startCommand is `manta start --head`: the GCS monitor in this process and
// S×R replica processes on loopback, replaced when they die, until
// interrupted.
func startCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	fs.SetOutput(out)
	isHead := fs.Bool("head", false, "start a head node")
	shards := fs.Int("gcs-shards", 1, "GCS shards S")
	replicas := fs.Int("gcs-replicas", 1, "replicas per shard R (a chain of R processes)")
	port := fs.Int("port", 0, "the monitor's port on 127.0.0.1 (default a free one)")
	flushDir := fs.String("gcs-flush-dir", "", "flush task and lineage entries beyond the memory cap to segments here")
	memCap := fs.Int64("gcs-memory-cap", 0, "bytes of task and lineage entries per shard kept in memory when flushing")
	tokenFile := fs.String("token-file", "", "where to write the cluster token (mode 0600; default in $MANTA_DIR or the temp dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*isHead {
		return errors.New("start: only --head is implemented")
	}
	token, err := hex.DecodeString(os.Getenv(server.EnvToken))
	if err != nil || len(token) == 0 {
		token = server.NewToken()
	}
	if *tokenFile == "" {
		dir := os.Getenv("MANTA_DIR")
		if dir == "" {
			dir = filepath.Join(os.TempDir(), fmt.Sprintf("manta-%d", os.Getuid()))
		}
		*tokenFile = filepath.Join(dir, "gcs-token")
	}
	if err := os.MkdirAll(filepath.Dir(*tokenFile), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(*tokenFile, []byte(hex.EncodeToString(token)+"\n"), 0o600); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	addr := ""
	if *port != 0 {
		addr = fmt.Sprintf("127.0.0.1:%d", *port)
	}
	head, err := server.StartHead(startCtx, server.HeadConfig{
		Shards: *shards, Replicas: *replicas, Token: token, Addr: addr, Restart: true,
		FlushDir: *flushDir, MemoryCap: *memCap,
		Command: func() *exec.Cmd { return exec.Command(exe, "gcs") },
	})
	if err != nil {
		return err
	}
	defer head.Close()
	fmt.Fprintf(out, "manta head: GCS monitor at %s, %d shards × %d replicas (pids", head.Addr(), *shards, *replicas)
	for _, p := range head.Processes() {
		fmt.Fprintf(out, " %d", p.PID)
	}
	fmt.Fprintf(out, ")\ncluster token in %s (export %s=$(cat %s) for clients)\n", *tokenFile, server.EnvToken, *tokenFile)
	<-ctx.Done()
	fmt.Fprintln(out, "manta head: stopping")
	return nil
}
