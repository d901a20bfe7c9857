package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"manta/metrics"
)

func Example() {
	srv, err := metrics.Serve(metrics.Config{
		// Addr "" listens on 127.0.0.1 at a port the kernel picks.
		Snapshot: func() metrics.Snapshot {
			// A node fills this from core.Cluster.Stats.
			return metrics.Snapshot{TasksQueued: 2, StoreUsed: 1 << 20, StoreCapacity: 1 << 30,
				QueuedByShape: map[string]int{"CPU=1": 2}}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "manta_tasks{") || strings.HasPrefix(line, "manta_sched_") || strings.HasPrefix(line, "manta_store_used") {
			fmt.Print(line)
		}
	}
	// Output:
	// manta_sched_queued_tasks{shape="CPU=1"} 2
	// manta_store_used_bytes 1.048576e+06
	// manta_tasks{state="blocked"} 0
	// manta_tasks{state="pipelined"} 0
	// manta_tasks{state="queued"} 2
	// manta_tasks{state="running"} 0
}
