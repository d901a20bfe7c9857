package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"manta/benchmarks"
	"manta/benchmarks/peers"
)

// bench is `manta bench`: the paper's evaluation, one experiment per
// figure or table, each writing results/<id>.json and its figures, then
// results/REPORT.md.
func bench(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	list := fs.Bool("list", false, "print every experiment id with its state and exit")
	only := fs.String("only", "", "comma-separated experiment ids to run (default: all)")
	scale := fs.String("scale", "quick", "quick (minutes on 2 cores) or full")
	dir := fs.String("out", "results", "output directory for <id>.json, figures and REPORT.md")
	seeds := fs.Int("seeds", 0, "at most this many seeds a point in the experiments that repeat over seeds (fig14a, fig14b; 0: the scale's)")
	withPeers := fs.Bool("peers", false, "first install (into manta's cache directory) and run the peers the experiments compare with: Ray "+peers.RayVersion+"'s own microbenchmark, about 11 minutes on 2 cores, kept in OUT/peers")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	exps := benchmarks.All()
	if *list {
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "id\tstate\treproduces\ttitle")
		for _, e := range exps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ID, e.State, e.Paper, e.Title)
		}
		return tw.Flush()
	}
	s, err := benchmarks.ParseScale(*scale)
	if err != nil {
		return err
	}
	var ids []string
	if *only != "" {
		ids = strings.Split(*only, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cmd := "manta bench --scale " + string(s) + " --out " + *dir
	if *only != "" {
		cmd += " --only " + *only
	}
	if *seeds < 0 {
		return fmt.Errorf("bench: --seeds %d: want 0 (the scale's) or more", *seeds)
	}
	if *seeds > 0 {
		cmd += fmt.Sprintf(" --seeds %d", *seeds)
	}
	if *withPeers {
		cmd += " --peers"
	}
	sum, err := benchmarks.Run(ctx, benchmarks.Options{
		Only: ids, Scale: s, Out: *dir, Progress: out, Terminal: benchmarks.IsTerminal(out), Command: cmd, Peers: *withPeers, Seeds: *seeds,
	})
	if sum != nil {
		fmt.Fprintf(out, "wrote %s (%d experiments in %s)\n", sum.Report, len(sum.Results), sum.Elapsed.Round(1e8))
	}
	return err
}
