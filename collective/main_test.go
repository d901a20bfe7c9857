package collective_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"

	"manta/collective"
	"manta/core"
)

func TestMain(m *testing.M) {
	core.WorkerMain()
	os.Exit(m.Run())
}

// member is the tests' actor: it runs the collectives it is asked to.
type member struct{}

var (
	memberType = core.RegisterActor0("collective_test.member", func() (*member, error) { return &member{}, nil },
		core.WithMaxConcurrency(collective.MinConcurrency+1))
	members = collective.Enable(memberType)

	allreduce32 = core.RegisterMethod4(memberType, "allreduce32", func(_ *member, ctx context.Context, group string, buf []float32, op collective.Op) ([]float32, error) {
		g, err := collective.GetGroup(group)
		if err != nil {
			return nil, err
		}
		return buf, collective.Allreduce(ctx, g, buf, op)
	})
	allreduce64 = core.RegisterMethod4(memberType, "allreduce64", func(_ *member, ctx context.Context, group string, buf []float64, op collective.Op) ([]float64, error) {
		g, err := collective.GetGroup(group)
		if err != nil {
			return nil, err
		}
		return buf, collective.Allreduce(ctx, g, buf, op)
	})
	reduceScatter64 = core.RegisterMethod4(memberType, "reducescatter64", func(_ *member, ctx context.Context, group string, buf []float64, op collective.Op) ([]float64, error) {
		g, err := collective.GetGroup(group)
		if err != nil {
			return nil, err
		}
		return collective.ReduceScatter(ctx, g, buf, op)
	})
	allgather32 = core.RegisterMethod3(memberType, "allgather32", func(_ *member, ctx context.Context, group string, send []float32) ([]float32, error) {
		g, err := collective.GetGroup(group)
		if err != nil {
			return nil, err
		}
		recv := make([]float32, g.Size()*len(send))
		return recv, collective.Allgather(ctx, g, send, recv)
	})
	broadcast64 = core.RegisterMethod4(memberType, "broadcast64", func(_ *member, ctx context.Context, group string, buf []float64, root int) ([]float64, error) {
		g, err := collective.GetGroup(group)
		if err != nil {
			return nil, err
		}
		return buf, collective.Broadcast(ctx, g, buf, root)
	})
	// outcome runs an allreduce of n elements and says how it ended.
	outcome = core.RegisterMethod3(memberType, "outcome", func(_ *member, ctx context.Context, group string, n int) (string, error) {
		g, err := collective.GetGroup(group)
		if err != nil {
			return "", err
		}
		return classify(collective.Allreduce(ctx, g, make([]float64, n), collective.Sum)), nil
	})
	// crash kills the member's process.
	crash = core.RegisterMethod0(memberType, "crash", func(*member) (bool, error) {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	})
)

// classify names the sentinel an error wraps, and checks it is an *Error.
func classify(err error) string {
	if err == nil {
		return "ok"
	}
	var ce *collective.Error
	if !errors.As(err, &ce) {
		return "untyped: " + err.Error()
	}
	for _, k := range []struct {
		err  error
		name string
	}{
		{collective.ErrMismatch, "mismatch"}, {collective.ErrMemberLost, "lost"}, {collective.ErrAborted, "aborted"},
		{collective.ErrClosed, "closed"}, {context.DeadlineExceeded, "deadline"}, {collective.ErrInvalid, "invalid"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "other: " + err.Error()
}
