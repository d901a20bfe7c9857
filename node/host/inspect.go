package host

import (
	"slices"

	"manta/node"
)

// Tasks returns the tasks the node knows (see node.Node.Tasks), with the
// process IDs of the workers they run or ran on; it allocates, under the
// lock, and is meant for the state API, not hot paths.
func (h *Host) Tasks() ([]node.TaskInfo, map[node.ProcID]int) {
	h.lock()
	defer h.unlock()
	return slices.Collect(h.n.Tasks()), h.pidsLocked()
}

// Objects returns the objects the node holds (see node.Node.Objects).
func (h *Host) Objects() []node.ObjectInfo {
	h.lock()
	defer h.unlock()
	return slices.Collect(h.n.Objects())
}

// Actors returns the actors the node knows (see node.Node.Actors), with
// the process IDs of their workers.
func (h *Host) Actors() ([]node.ActorInfo, map[node.ProcID]int) {
	h.lock()
	defer h.unlock()
	return slices.Collect(h.n.Actors()), h.pidsLocked()
}

// Procs returns the node's worker processes (see node.Node.Procs), with
// their process IDs.
func (h *Host) Procs() ([]node.ProcInfo, map[node.ProcID]int) {
	h.lock()
	defer h.unlock()
	return slices.Collect(h.n.Procs()), h.pidsLocked()
}

// pidsLocked maps the node's live worker processes to their PIDs.
func (h *Host) pidsLocked() map[node.ProcID]int {
	pids := make(map[node.ProcID]int, len(h.procs))
	for id, c := range h.procs {
		if c.cmd != nil && c.cmd.Process != nil {
			pids[id] = c.cmd.Process.Pid
		}
	}
	return pids
}
