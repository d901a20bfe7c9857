package core

import (
	"context"
	"net"
	"time"

	"manta/cluster"
	"manta/rpc/wire"
	"manta/state"
)

var taskTypes = map[wire.SubmitKind]string{
	wire.SubmitTask:      "NORMAL_TASK",
	wire.SubmitActor:     "ACTOR_CREATION_TASK",
	wire.SubmitActorCall: "ACTOR_TASK",
}

// stateSource turns the node's records into the state API's rows.
func (c *Cluster) stateSource() state.Source {
	id := c.NodeID()
	actorID := func(t wire.TaskID) string {
		if t.IsZero() {
			return ""
		}
		return t.String()
	}
	errText := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	return state.Source{
		Tasks: func() []state.Task {
			tasks, pids := c.h.Tasks()
			out := make([]state.Task, len(tasks))
			for i, t := range tasks {
				out[i] = state.Task{ID: t.ID.String(), Name: t.Name, Type: taskTypes[t.Kind], State: t.State.String(), Node: id,
					WorkerPID: pids[t.Proc], Actor: actorID(t.Actor), Attempt: int(t.Attempt), Error: errText(t.Err)}
			}
			return out
		},
		Actors: func() []state.Actor {
			actors, pids := c.h.Actors()
			out := make([]state.Actor, len(actors))
			for i, a := range actors {
				out[i] = state.Actor{ID: a.ID.String(), Class: a.Class, Name: a.Name, State: a.State.String(), Node: id, PID: pids[a.Proc],
					Queued: a.Queued, Running: a.Running, RestartsLeft: a.RestartsLeft, Error: errText(a.Err)}
			}
			return out
		},
		Objects: func() []state.Object {
			objs := c.h.Objects()
			out := make([]state.Object, len(objs))
			for i, o := range objs {
				st := "PENDING"
				switch {
				case o.Failed:
					st = "FAILED"
				case o.Ready:
					st = "READY"
				}
				out[i] = state.Object{ID: o.ID.String(), Node: id, Size: o.Size, Stored: o.Stored, State: st, Refs: int(o.Refs)}
			}
			return out
		},
		Workers: func() []state.Worker {
			procs, pids := c.h.Procs()
			out := make([]state.Worker, len(procs))
			for i, p := range procs {
				st := "ALIVE"
				switch {
				case p.Starting:
					st = "STARTING"
				case p.Exiting:
					st = "EXITING"
				}
				out[i] = state.Worker{ID: int(p.ID), Node: id, PID: pids[p.ID], State: st, Actor: actorID(p.Actor), Running: p.Running, Borrows: p.Borrows}
			}
			return out
		},
	}
}

// serveState starts the node's state API on the cluster's bind host and
// publishes where, for `manta list` and the dashboard.
func (c *Cluster) serveState() error {
	srv, err := state.Serve(net.JoinHostPort(c.net.cfg.Bind, "0"), c.stateSource(), state.TokenText(c.net.token))
	if err != nil {
		return err
	}
	c.state = srv
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cluster.PublishEndpoint(ctx, c.net.api, cluster.NodeID(c.NodeID()), cluster.EndpointState, srv.Addr())
}

// StateAddr is where the node serves its state API (package state), ""
// when it does not (it serves it only in a cluster).
func (c *Cluster) StateAddr() string {
	if c.state == nil {
		return ""
	}
	return c.state.Addr()
}
