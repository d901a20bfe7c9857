// Package state is the state API: what each node of a cluster holds —
// its tasks, actors, objects and worker processes — listed, filtered and
// summarised, the way `ray list` and `ray summary` do, without their
// 10,000-row cap.
//
// A node serves its own rows (Serve, Handler) at /api/v0/KIND, behind
// the cluster token; a Source gives them as a snapshot per request.
// Clients (List, Client.SummarizeTasks) ask every live node, whose
// addresses the nodes publish in the GCS (cluster.Endpoints), and merge
// the answers. Filters are applied before the limit, so a page's Total
// counts every match in the cluster; there is no hard cap, and a limit
// of 0 returns all rows. A node that does not answer is named in the
// page's Partial rather than failing the listing.
//
//	page, err := state.List[state.Task](ctx, &state.Client{Token: token}, addrs, state.KindTasks,
//		state.Query{Filters: []state.Filter{{Key: "state", Value: "RUNNING"}}, Limit: 100})
//
// `manta list tasks|actors|objects|workers` and `manta summary tasks`
// print these from the command line.
package state
