package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"manta/events"
)

// timelineCommand is `manta timeline`: the task-life events a program
// recorded (MANTA_EVENTS_DIR, or core.Config.EventsDir) as one Chrome
// trace; the program may still be running.
func timelineCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("timeline", flag.ContinueOnError)
	fs.SetOutput(out)
	dir := fs.String("dir", os.Getenv(events.EnvDir), "the directory the program recorded its events in (default $"+events.EnvDir+")")
	output := fs.String("o", "timeline.json", "where to write the trace (open it at ui.perfetto.dev or chrome://tracing)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("timeline: give --dir, the directory a program recorded events in (run it with " + events.EnvDir + "=DIR)")
	}
	began := time.Now()
	procs, err := events.ReadDir(*dir)
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	f, err := os.Create(*output)
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	st, err := events.WriteTimeline(f, procs)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	fmt.Fprintf(out, "%s: %d processes, %d task runs, %d trace events, %.1f MB in %v\n",
		*output, st.Processes, st.Tasks, st.Events, float64(st.Bytes)/1e6, time.Since(began).Round(time.Millisecond))
	if st.Dropped > 0 {
		fmt.Fprintf(out, "%d events were dropped: a recording ring was full\n", st.Dropped)
	}
	printBreakdown(out, events.Breakdown(procs))
	return nil
}

// printBreakdown prints where the tasks that recorded their whole life
// spent it, phase by phase.
func printBreakdown(out io.Writer, phases []events.Phase) {
	whole := phases[len(phases)-1]
	if len(whole.Nanos) == 0 {
		fmt.Fprintln(out, "no task recorded its whole life (submit to Get returning): no breakdown")
		return
	}
	fmt.Fprintf(out, "\nthe life of %d tasks, submit to Get returning, by phase (µs):\n", len(whole.Nanos))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tp50\tp90\tp99\t")
	us := func(ns int64) string { return strconv.FormatFloat(float64(ns)/1e3, 'f', 2, 64) }
	sum := int64(0)
	for i, p := range phases {
		if i == len(phases)-1 {
			fmt.Fprintf(tw, "sum of the phases' p50\t%s\t\t\t\n", us(sum))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", p.Name, us(p.Quantile(0.5)), us(p.Quantile(0.9)), us(p.Quantile(0.99)))
		sum += p.Quantile(0.5)
	}
	tw.Flush()
}
