package state

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Kinds of rows, as they appear in URLs (/api/v0/KIND) and on the
// command line (manta list KIND).
const (
	KindTasks   = "tasks"
	KindActors  = "actors"
	KindObjects = "objects"
	KindWorkers = "workers"
)

// Kinds lists the kinds a node serves.
var Kinds = []string{KindTasks, KindActors, KindObjects, KindWorkers}

// Row is one listed record: a Task, Actor, Object or Worker.
type Row interface {
	// Field returns the value of the field named key (its JSON name) as
	// text, and whether the row has that field, which depends on key
	// alone: Apply asks the zero row to check filters.
	Field(key string) (string, bool)
	// Key orders rows in a listing (their ID).
	Key() string
}

// Task is one task a node knows: submitted and not finished, or finished
// and kept as the lineage of a result still held. Ray's names for the
// fields are kept where they mean the same.
type Task struct {
	ID        string `json:"task_id"`
	Name      string `json:"name"`
	Type      string `json:"type"`  // NORMAL_TASK, ACTOR_CREATION_TASK or ACTOR_TASK
	State     string `json:"state"` // WAITING, QUEUED, RUNNING, SPILLED, FINISHED or FAILED
	Node      string `json:"node_id"`
	WorkerPID int    `json:"worker_pid,omitempty"`
	Actor     string `json:"actor_id,omitempty"`
	Attempt   int    `json:"attempt_number"`
	Error     string `json:"error_message,omitempty"`
}

// Actor is one actor a node knows.
type Actor struct {
	ID           string `json:"actor_id"`
	Class        string `json:"class_name"`
	Name         string `json:"name,omitempty"`
	State        string `json:"state"` // PENDING, ALIVE, DEAD or REMOTE (lives on another node)
	Node         string `json:"node_id"`
	PID          int    `json:"pid,omitempty"`
	Queued       int    `json:"queued_calls"`
	Running      int    `json:"running_calls"`
	RestartsLeft int    `json:"restarts_left"`
	Error        string `json:"death_cause,omitempty"`
}

// Object is one object a node holds.
type Object struct {
	ID     string `json:"object_id"`
	Node   string `json:"node_id"`
	Size   int64  `json:"object_size"`
	Stored bool   `json:"stored"` // in the object store, not inline
	State  string `json:"state"`  // PENDING, READY or FAILED
	Refs   int    `json:"reference_count"`
}

// Worker is one worker process of a node.
type Worker struct {
	ID      int    `json:"worker_id"`
	Node    string `json:"node_id"`
	PID     int    `json:"pid,omitempty"`
	State   string `json:"state"` // STARTING, ALIVE or EXITING
	Actor   string `json:"actor_id,omitempty"`
	Running int    `json:"running_tasks"`
	Borrows int    `json:"held_objects"`
}

// Field implements Row.
func (t Task) Field(key string) (string, bool) {
	switch key {
	case "task_id":
		return t.ID, true
	case "name":
		return t.Name, true
	case "type":
		return t.Type, true
	case "state":
		return t.State, true
	case "node_id":
		return t.Node, true
	case "worker_pid":
		return strconv.Itoa(t.WorkerPID), true
	case "actor_id":
		return t.Actor, true
	case "attempt_number":
		return strconv.Itoa(t.Attempt), true
	case "error_message":
		return t.Error, true
	}
	return "", false
}

// Key implements Row.
func (t Task) Key() string { return t.ID }

// Field implements Row.
func (a Actor) Field(key string) (string, bool) {
	switch key {
	case "actor_id":
		return a.ID, true
	case "class_name":
		return a.Class, true
	case "name":
		return a.Name, true
	case "state":
		return a.State, true
	case "node_id":
		return a.Node, true
	case "pid":
		return strconv.Itoa(a.PID), true
	case "queued_calls":
		return strconv.Itoa(a.Queued), true
	case "running_calls":
		return strconv.Itoa(a.Running), true
	case "restarts_left":
		return strconv.Itoa(a.RestartsLeft), true
	case "death_cause":
		return a.Error, true
	}
	return "", false
}

// Key implements Row.
func (a Actor) Key() string { return a.ID }

// Field implements Row.
func (o Object) Field(key string) (string, bool) {
	switch key {
	case "object_id":
		return o.ID, true
	case "node_id":
		return o.Node, true
	case "object_size":
		return strconv.FormatInt(o.Size, 10), true
	case "stored":
		return strconv.FormatBool(o.Stored), true
	case "state":
		return o.State, true
	case "reference_count":
		return strconv.Itoa(o.Refs), true
	}
	return "", false
}

// Key implements Row.
func (o Object) Key() string { return o.ID }

// Field implements Row.
func (w Worker) Field(key string) (string, bool) {
	switch key {
	case "worker_id":
		return strconv.Itoa(w.ID), true
	case "node_id":
		return w.Node, true
	case "pid":
		return strconv.Itoa(w.PID), true
	case "state":
		return w.State, true
	case "actor_id":
		return w.Actor, true
	case "running_tasks":
		return strconv.Itoa(w.Running), true
	case "held_objects":
		return strconv.Itoa(w.Borrows), true
	}
	return "", false
}

// Key implements Row.
func (w Worker) Key() string { return fmt.Sprintf("%s/%08d", w.Node, w.ID) }

// Filter keeps the rows whose field Key equals Value (or, with Not, does
// not).
type Filter struct {
	Key   string
	Not   bool
	Value string
}

// ParseFilter reads "key=value" or "key!=value"; a key is a field's JSON
// name (lower case letters and underscores).
func ParseFilter(s string) (Filter, error) {
	if k, v, ok := strings.Cut(s, "!="); ok && isKey(k) {
		return Filter{Key: k, Not: true, Value: v}, nil
	}
	if k, v, ok := strings.Cut(s, "="); ok && isKey(k) {
		return Filter{Key: k, Value: v}, nil
	}
	return Filter{}, fmt.Errorf("state: filter %q is not key=value or key!=value", s)
}

func isKey(k string) bool {
	return k != "" && strings.Trim(k, "abcdefghijklmnopqrstuvwxyz_") == ""
}

func (f Filter) String() string {
	if f.Not {
		return f.Key + "!=" + f.Value
	}
	return f.Key + "=" + f.Value
}

// Query selects rows: every filter must hold; then at most Limit of
// them, by key (0: all; there is no cap).
type Query struct {
	Filters []Filter
	Limit   int
}

// Page is the answer to a Query: Total rows matched its filters, Items
// are the first Limit of them by key.
type Page[T Row] struct {
	Total int `json:"total"`
	Items []T `json:"items"`
	// Partial names the nodes that did not answer, with why; the page
	// has what the others did.
	Partial []string `json:"partial,omitempty"`
}

// Apply filters rows, then sorts what is left by key and cuts it to the
// limit: filters come before the limit, so Total counts every match. An
// unknown field is an error, not an empty page.
func Apply[T Row](rows []T, q Query) (Page[T], error) {
	// Checked on the zero row, not only on those there are: a mistyped
	// key must fail on an idle node too.
	var zero T
	for _, f := range q.Filters {
		if _, ok := zero.Field(f.Key); !ok {
			return Page[T]{}, fmt.Errorf("state: no field %q to filter on", f.Key)
		}
	}
	kept := rows[:0:0]
	for _, r := range rows {
		if matches(r, q.Filters) {
			kept = append(kept, r)
		}
	}
	slices.SortFunc(kept, func(a, b T) int { return cmp.Compare(a.Key(), b.Key()) })
	p := Page[T]{Total: len(kept), Items: kept}
	if q.Limit > 0 && len(kept) > q.Limit {
		p.Items = kept[:q.Limit]
	}
	return p, nil
}

func matches(r Row, filters []Filter) bool {
	for _, f := range filters {
		if v, _ := r.Field(f.Key); (v == f.Value) == f.Not {
			return false
		}
	}
	return true
}

// TaskSummary counts a node's or a cluster's tasks by function name and
// state.
type TaskSummary struct {
	// ByName maps a function or method name to its count per state.
	ByName map[string]map[string]int `json:"by_name"`
	Total  int                       `json:"total"`
}

// Summarize counts tasks by name and state.
func Summarize(tasks []Task) TaskSummary {
	s := TaskSummary{ByName: map[string]map[string]int{}}
	for _, t := range tasks {
		s.add(t.Name, t.State, 1)
	}
	return s
}

func (s *TaskSummary) add(name, state string, n int) {
	m := s.ByName[name]
	if m == nil {
		m = map[string]int{}
		s.ByName[name] = m
	}
	m[state] += n
	s.Total += n
}

// Merge adds o's counts to s.
func (s *TaskSummary) Merge(o TaskSummary) {
	if s.ByName == nil {
		s.ByName = map[string]map[string]int{}
	}
	for name, states := range o.ByName {
		for st, n := range states {
			s.add(name, st, n)
		}
	}
}
