// Package peer is how the node managers of a cluster run tasks for each
// other, the bottom-up scheduling of the Ray paper (§4.2.2): a node that
// spills a task asks the global scheduler where it should go, and sends it
// straight to that node, which runs it and keeps its stored result for the
// task's owner until the owner releases it.
//
//   - RunRequest and RunReply are the frames of MethodRun: the task's
//     specification (node.TaskSpec's binary form) with what the node must
//     know of its stored arguments (size, which nodes hold them), and the
//     outcome (an encoded error, an inline value, or a stored value's size
//     on the node that ran it). An object's description names its owner,
//     the node that keeps its lineage. An actor's calls carry their caller,
//     number and instance (Caller, Seq, Epoch), so that its node submits
//     them in order; a call for an actor the node does not run is refused
//     (ErrActorNotHere), and a reply carries the state an actor that
//     replays saved after the call (Checkpoint). What a
//     reply lends (a stored result, an actor's creation) is lent to the
//     calling member (RunRequest.Member); MethodRelease gives it back, and
//     a member that leaves the cluster gets it back implicitly.
//     MethodLoad asks a job node for its load. MethodCancel (a
//     CancelRequest) cancels a task a run asked for; one that overtakes
//     its run is kept for it (EarlyCancels). Every decoder is fuzzed.
//   - Server serves a node's Executor (node/host's Host) over rpc, with
//     the cluster token: at most MaxRuns runs at once, with room beyond
//     them (ShortRequests) so that cancels, releases and loads always
//     get through.
//   - Client calls peers, two connections each: one for runs, which may
//     take hours and fill its call slots, and one for the short requests
//     that must pass them (cancels, releases, loads); a peer that cannot be
//     reached or dies mid-run gives ErrPeerLost, and the task is retried;
//     a run the peer refuses for want of room gives ErrPeerBusy, and one
//     over a MaxFrame limit rpc.ErrFrameTooLarge: those fail alone, and
//     the peer and the other runs on the connection are left be.
//   - Network is a node's view of its cluster: a replica of the global
//     scheduler (sched/global) fed by the nodes' heartbeats through
//     Update, which Place asks; the Client; and a transfer.Puller that
//     brings remote objects into the local store. It is what node/host's
//     Config.Cluster returns; core makes one for a driver or node that
//     joins a cluster.
//
// The objects themselves move by package transfer: an argument or result
// is pulled into a node's store when it is first pinned there.
package peer
