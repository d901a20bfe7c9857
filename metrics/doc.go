// Package metrics serves a node's Prometheus metrics at /metrics.
//
// A node process calls Serve with a Snapshot function, which it fills from
// core.Cluster.Stats; every scrape calls it once and turns what it returns
// into metrics on a registry of the server's own (not client_golang's
// global one), beside the Go runtime's (go_*) and the process's
// (process_*) collectors:
//
//	srv, err := metrics.Serve(metrics.Config{Snapshot: func() metrics.Snapshot { ... }})
//	...
//	defer srv.Close()
//	fmt.Println("metrics at http://" + srv.Addr() + "/metrics")
//
// The server listens on loopback (127.0.0.1, a port the kernel picks)
// unless Config.Addr says otherwise; expose it deliberately, since it is
// not behind the cluster token. When Snapshot.Node is set, every manta_
// metric carries it as the label node.
//
// The metrics, all prefixed manta_, with units in their names:
//
//	manta_tasks{state="queued|running|blocked|pipelined"}  gauge    the local scheduler's tasks
//	manta_tasks_pending                                     gauge    tasks submitted and not finished
//	manta_sched_queued_tasks{shape="CPU=1,GPU=1"}           gauge    queued tasks by resource shape
//	manta_objects                                           gauge    objects held
//	manta_workers                                           gauge    live worker processes
//	manta_worker_starts_total                               counter  worker processes started
//	manta_actors                                            gauge    actors alive or being created
//	manta_lineage_tasks, manta_lineage_bytes                gauge    kept lineage
//	manta_lineage_evictions_total                           counter  lineage dropped to stay within its limit
//	manta_store_used_bytes, _capacity_bytes, _pinned_bytes  gauge    the object store
//	manta_store_spills_total, manta_store_spilled_bytes_total,
//	manta_store_restores_total, manta_store_evictions_total counter  spilling to disk and back
//	manta_lent_objects                                      gauge    results kept here for other nodes
//	manta_worker_deaths_total                               counter  worker processes that died unasked
//	manta_pulls_total, manta_pulled_bytes_total             counter  objects pulled from other nodes
//	manta_task_phase_seconds{phase="..."}                   histogram a task's phases this node sees whole
//	manta_gcs_operation_seconds{op="read|write"}            histogram the node's GCS operations
//
// The histograms have microsecond buckets (package metrics/hist: 1 µs to
// 5 s). The phases (submit_to_queued, scheduler_queue, ring_push,
// at_worker, driver_wakeup) come from the node's task-life events, so
// they are there only while it records them (core.Config.EventsDir),
// and they count a sample of the tasks (one in 16, by ID:
// events.PhaseSample), whose quantiles are the whole's but whose counts
// are a sixteenth of the tasks'; the whole breakdown, workers' phases included, is `manta timeline`'s.
package metrics
