package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"manta/cluster"
	"manta/state"
)

// filterFlags collects repeated --filter key=value (or key!=value).
type filterFlags []state.Filter

func (f *filterFlags) String() string { return fmt.Sprint(*f) }

func (f *filterFlags) Set(s string) error {
	flt, err := state.ParseFilter(s)
	if err != nil {
		return err
	}
	*f = append(*f, flt)
	return nil
}

// listCommand is `manta list tasks|actors|objects|workers`: the rows of
// every live node's state API, filtered, then limited.
func listCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(out)
	head := reachFlags(fs)
	var filters filterFlags
	fs.Var(&filters, "filter", "keep rows whose FIELD=VALUE (or FIELD!=VALUE); repeat to combine")
	limit := fs.Int("limit", 100, "show at most this many rows, after filtering (0: all)")
	asJSON := fs.Bool("json", false, "print the page as JSON")
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: manta list %s [flags]\n", strings.Join(state.Kinds, "|"))
		fs.PrintDefaults()
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs.Usage()
		return fmt.Errorf("list: name what to list: %s", strings.Join(state.Kinds, ", "))
	}
	kind := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if !slices.Contains(state.Kinds, kind) {
		return fmt.Errorf("list: unknown kind %q (one of %s)", kind, strings.Join(state.Kinds, ", "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), head.timeout)
	defer cancel()
	c, addrs, err := stateClient(ctx, head, "list")
	if err != nil {
		return err
	}
	q := state.Query{Filters: filters, Limit: *limit}
	switch kind {
	case state.KindTasks:
		return printPage(ctx, c, addrs, kind, q, out, *asJSON, []string{"TASK", "NAME", "TYPE", "STATE", "NODE", "PID", "ATTEMPT", "ERROR"},
			func(t state.Task) []string {
				return []string{t.ID, t.Name, t.Type, t.State, t.Node, pid(t.WorkerPID), strconv.Itoa(t.Attempt), t.Error}
			})
	case state.KindActors:
		return printPage(ctx, c, addrs, kind, q, out, *asJSON, []string{"ACTOR", "CLASS", "NAME", "STATE", "NODE", "PID", "QUEUED", "RUNNING", "DEATH"},
			func(a state.Actor) []string {
				return []string{a.ID, a.Class, a.Name, a.State, a.Node, pid(a.PID), strconv.Itoa(a.Queued), strconv.Itoa(a.Running), a.Error}
			})
	case state.KindObjects:
		return printPage(ctx, c, addrs, kind, q, out, *asJSON, []string{"OBJECT", "STATE", "SIZE", "STORED", "REFS", "NODE"},
			func(o state.Object) []string {
				return []string{o.ID, o.State, strconv.FormatInt(o.Size, 10), strconv.FormatBool(o.Stored), strconv.Itoa(o.Refs), o.Node}
			})
	default:
		return printPage(ctx, c, addrs, kind, q, out, *asJSON, []string{"WORKER", "NODE", "PID", "STATE", "ACTOR", "RUNNING", "HELD"},
			func(w state.Worker) []string {
				return []string{strconv.Itoa(w.ID), w.Node, pid(w.PID), w.State, w.Actor, strconv.Itoa(w.Running), strconv.Itoa(w.Borrows)}
			})
	}
}

func pid(p int) string {
	if p == 0 {
		return "-"
	}
	return strconv.Itoa(p)
}

// stateClient dials the head and finds every live node's state API.
func stateClient(ctx context.Context, head *reachOptions, cmd string) (*state.Client, []string, error) {
	api, token, err := head.dial(ctx, cmd)
	if err != nil {
		return nil, nil, err
	}
	defer api.Close()
	eps, err := cluster.Endpoints(ctx, api, cluster.EndpointState)
	if err != nil {
		return nil, nil, err
	}
	if len(eps) == 0 {
		return nil, nil, fmt.Errorf("%s: no live node serves the state API", cmd)
	}
	return &state.Client{Token: state.TokenText(token)}, slices.Sorted(maps.Values(eps)), nil
}

func printPage[T state.Row](ctx context.Context, c *state.Client, addrs []string, kind string, q state.Query, out io.Writer, asJSON bool, header []string, row func(T) []string) error {
	page, err := state.List[T](ctx, c, addrs, kind, q)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(page)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, it := range page.Items {
		fmt.Fprintln(tw, strings.Join(row(it), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d of %d %s", len(page.Items), page.Total, kind)
	if len(page.Items) < page.Total {
		fmt.Fprint(out, " (raise --limit, or 0 for all)")
	}
	fmt.Fprintln(out)
	for _, p := range page.Partial {
		fmt.Fprintln(out, "no answer from", p)
	}
	return nil
}

// summaryCommand is `manta summary tasks`: the cluster's tasks counted by
// function and state.
func summaryCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	fs.SetOutput(out)
	head := reachFlags(fs)
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if len(args) == 0 || args[0] != state.KindTasks {
		return fmt.Errorf("summary: usage: manta summary tasks [flags]")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), head.timeout)
	defer cancel()
	c, addrs, err := stateClient(ctx, head, "summary")
	if err != nil {
		return err
	}
	sum, partial, err := c.SummarizeTasks(ctx, addrs)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(sum)
	}
	states := map[string]bool{}
	for _, by := range sum.ByName {
		for st := range by {
			states[st] = true
		}
	}
	cols := slices.Sorted(maps.Keys(states))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\t"+strings.Join(cols, "\t"))
	for _, name := range slices.Sorted(maps.Keys(sum.ByName)) {
		cells := []string{name}
		for _, st := range cols {
			cells = append(cells, strconv.Itoa(sum.ByName[name][st]))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d tasks\n", sum.Total)
	for _, p := range partial {
		fmt.Fprintln(out, "no answer from", p)
	}
	return nil
}
