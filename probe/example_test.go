package probe_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"manta/probe"
)

// Probe a running driver for ten seconds, printing the last second's
// tables every second and the whole run's at the end. It needs root and a
// driver's PID, so it has no output to check.
func Example() {
	driver := 12345 // a process that called core.Init, e.g. manta microbenchmark
	p, err := probe.Attach(probe.Config{PID: driver})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	report, err := p.Run(ctx, time.Second, func(last probe.Report) { last.WriteText(os.Stdout) })
	if err != nil {
		fmt.Println(err)
		return
	}
	report.WriteText(os.Stdout)
	fmt.Printf("the stages' medians add up to %+.0f%% of the median round trip\n", 100*report.MedianGap())
}
