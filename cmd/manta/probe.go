package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"manta/plots"
	"manta/probe"
)

// probeCommand attaches eBPF probes to a running driver and its workers
// and prints where its synchronous round trips spend their time: once a
// second for the last second, and for the whole run at the end.
func probeCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(out)
	pid := fs.Int("pid", 0, "the driver's process ID (a program that called core.Init; its workers are found by parent)")
	duration := fs.Duration("duration", 0, "how long to probe (default: until interrupted or the driver exits)")
	jsonPath := fs.String("json", "", "write the whole run's histograms to this JSON file")
	plotPath := fs.String("plot", "", "draw the stages' p50/p90/p99 into this PNG file (and an SVG beside it)")
	kernelOnly := fs.Bool("kernel-only", false, "only the scheduler's view: no uprobes on the stages, whose traps slow a short path down")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pid <= 0 || fs.NArg() > 0 {
		return errors.New("usage: manta probe --pid PID [--duration D] [--json FILE] [--plot FILE.png] [--kernel-only]")
	}
	if *kernelOnly && *plotPath != "" {
		return errors.New("probe: --plot draws the stages, which --kernel-only leaves out")
	}
	plotDir, plotName := "", ""
	if *plotPath != "" {
		if filepath.Ext(*plotPath) != ".png" {
			return fmt.Errorf("probe: --plot %s: want a .png file", *plotPath)
		}
		plotDir, plotName = filepath.Dir(*plotPath), strings.TrimSuffix(filepath.Base(*plotPath), ".png")
	}
	p, err := probe.Attach(probe.Config{PID: *pid, KernelOnly: *kernelOnly})
	if err != nil {
		return err
	}
	defer p.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	what := fmt.Sprintf("%d stages of a sync round trip and the scheduler", len(probe.SyncRoundTrip))
	if *kernelOnly {
		what = "the scheduler"
	}
	fmt.Fprintf(out, "probing pid %d and its workers: %s; every second the last second, then the whole run\n", *pid, what)
	var writeErr error
	report, err := p.Run(ctx, time.Second, func(r probe.Report) {
		if writeErr == nil {
			fmt.Fprintf(out, "\n--- %s\n", time.Now().Format(time.TimeOnly))
			writeErr = r.WriteText(out)
		}
	})
	if err != nil {
		return err
	}
	if writeErr != nil {
		return writeErr
	}
	fmt.Fprintln(out, "\n=== the whole run")
	if err := report.WriteText(out); err != nil {
		return err
	}
	if *jsonPath != "" {
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
	}
	if *plotPath != "" {
		if _, err := plots.Render(report.Figure(plotName), plotDir); err != nil {
			return err
		}
	}
	return nil
}
