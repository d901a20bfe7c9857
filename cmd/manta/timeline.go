package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
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
	return nil
}
