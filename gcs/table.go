package gcs

import "fmt"

// Table names one of the GCS tables. Every key lives in exactly one table;
// the same key bytes in two tables are two different entries.
type Table uint8

// The tables of the paper's control state.
const (
	// Objects maps an object ID to the set of its locations, each an
	// encoded ObjectLocation (node and size). A set table.
	Objects Table = iota + 1
	// Tasks maps a task ID to its specification and status: the lineage
	// that reconstruction re-executes. A value table, flushed to disk
	// beyond the memory cap.
	Tasks
	// Lineage is a log per key (an object or task ID) of the lineage
	// records that name it, for instance the tasks that consumed an
	// object. A log table, flushed to disk beyond the memory cap.
	Lineage
	// Functions maps a function or binary name (or content hash) to its
	// descriptor. A value table.
	Functions
	// Actors maps an actor ID to an encoded ActorInfo (where it lives and
	// its state). A value table; subscribers see it move.
	Actors
	// Nodes maps a node ID to an encoded NodeInfo (address, resources,
	// alive or dead). A value table; subscribers see a node die.
	Nodes
	// Heartbeats maps a node ID to its latest heartbeat, kept apart from
	// Nodes so that subscribers to Nodes see state changes, not every
	// heartbeat. A value table.
	Heartbeats
	// Jobs maps a job ID to its descriptor. A value table.
	Jobs
	// Events is the event log: a log per key (a job, node or component).
	Events
	// KV is a value table for everything else, keyed by the caller.
	KV
	tableEnd
)

// numTables is one more than the largest Table, for arrays indexed by table.
const numTables = int(tableEnd)

// TableKind says which operations a table takes.
type TableKind uint8

// Table kinds, after the Redis-based GCS of Ray 0.x: a value per key, an
// append-only log per key, or a set per key.
const (
	KindValue TableKind = iota + 1 // Put, Delete
	KindLog                        // Append, Delete
	KindSet                        // Add, Remove, Delete
)

var tableInfo = [tableEnd]struct {
	name      string
	kind      TableKind
	flushable bool
}{
	Objects:    {"objects", KindSet, false},
	Tasks:      {"tasks", KindValue, true},
	Lineage:    {"lineage", KindLog, true},
	Functions:  {"functions", KindValue, false},
	Actors:     {"actors", KindValue, false},
	Nodes:      {"nodes", KindValue, false},
	Heartbeats: {"heartbeats", KindValue, false},
	Jobs:       {"jobs", KindValue, false},
	Events:     {"events", KindLog, false},
	KV:         {"kv", KindValue, false},
}

// Valid reports whether t is one of the tables above.
func (t Table) Valid() bool { return t > 0 && t < tableEnd }

// Kind is the table's kind; zero for an invalid table.
func (t Table) Kind() TableKind {
	if !t.Valid() {
		return 0
	}
	return tableInfo[t].kind
}

// Flushable reports whether the table's entries are written to disk
// segments and dropped from memory beyond the memory cap.
func (t Table) Flushable() bool { return t.Valid() && tableInfo[t].flushable }

// String is the table's name ("objects", "kv").
func (t Table) String() string {
	if t.Valid() {
		return tableInfo[t].name
	}
	return fmt.Sprintf("Table(%d)", uint8(t))
}

// String is the kind's name ("value", "log", "set").
func (k TableKind) String() string {
	switch k {
	case KindValue:
		return "value"
	case KindLog:
		return "log"
	case KindSet:
		return "set"
	}
	return fmt.Sprintf("TableKind(%d)", uint8(k))
}
