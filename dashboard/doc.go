// Package dashboard is the cluster's web dashboard, served by the head: one
// page that shows the nodes (alive or dead, address, resources total and
// free, running and queued tasks, object store use, lent objects, waiting
// demands, heartbeat age), charts of the last five minutes (tasks in
// flight, tasks finished per second, observed task latency), the last
// errors (failed tasks' messages, dead actors' causes), tasks by function,
// actors and objects. The page is plain HTML and a little JavaScript,
// embedded in the binary; it loads nothing from elsewhere and works
// offline.
//
// The head calls Serve with its GCS and the cluster token:
//
//	srv, err := dashboard.Serve(dashboard.Config{GCS: api, Token: token})
//	...
//	defer srv.Close()
//	fmt.Printf("http://%s/?token=%s\n", srv.Addr(), state.TokenText(token))
//
// It listens on loopback (127.0.0.1, a port the kernel picks) unless
// Config.Addr says otherwise. Every request needs the token, in its text
// form (hex, state.TokenText: what $MANTA_GCS_TOKEN and the head's token
// file hold): opening /?token=HEX (or posting it to the login form the
// refusal shows) sets an HttpOnly, SameSite=Strict cookie holding
// HMAC-SHA256(token, "manta-dashboard") and redirects to /, so the token
// leaves the address bar; other requests need that cookie or
// "Authorization: Bearer HEX", else they get 401 and a page saying how to
// log in. Comparisons take constant time.
//
// The JSON the page polls, for scripts too (with the bearer header):
// /api/nodes (cluster.List with each node's state API address),
// /api/series (the charts' samples), /api/errors, /api/summary (tasks by
// function and state), /api/actors and /api/objects (the first 200 by ID,
// with the total). The nodes table, the summary, actors and objects are
// read when asked: the nodes from the GCS, the rest from every live node's
// state API (package state), whose addresses the nodes publish
// (cluster.Endpoints).
//
// The charts come from a sample every Config.Every (default 1 s), kept for
// five minutes. Tasks in flight are the alive nodes' heartbeats (running
// and queued, summed). Heartbeats carry no count of finished tasks and a
// node forgets a finished task once its results are dropped, so the
// throughput is what the sampler sees: it lists every node's tasks at each
// sample and counts those it saw unfinished that are now finished or gone,
// plus those that appear already finished. A task that starts and is
// forgotten between two samples is missed, so the rate is a lower bound,
// and the page says so. The latency chart plots, per sample, the median and
// longest time from the sample that first listed a task unfinished to the
// one that found it finished or gone: right to within one period. Listing
// every task each period costs the nodes what `manta list tasks` costs.
package dashboard
