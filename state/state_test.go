package state

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func tasks(node string, n int) []Task {
	out := make([]Task, n)
	for i := range out {
		st := "FINISHED"
		if i%3 == 0 {
			st = "RUNNING"
		}
		out[i] = Task{ID: fmt.Sprintf("%s-%04d", node, i), Name: "f", State: st, Node: node, Type: "NORMAL_TASK"}
	}
	return out
}

// Filters come before the limit: Total counts every match, Items are
// the first Limit of them by key; 0 means no limit.
func TestApply(t *testing.T) {
	rows := tasks("n", 30)
	p, err := Apply(rows, Query{Filters: []Filter{{Key: "state", Value: "RUNNING"}}, Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 10 || len(p.Items) != 4 || p.Items[0].ID != "n-0000" || p.Items[3].ID != "n-0009" {
		t.Fatalf("page %+v", p)
	}
	p, _ = Apply(rows, Query{Filters: []Filter{{Key: "state", Not: true, Value: "RUNNING"}, {Key: "name", Value: "f"}}})
	if p.Total != 20 || len(p.Items) != 20 {
		t.Fatalf("not running: %d of %d", len(p.Items), p.Total)
	}
	if _, err := Apply(rows, Query{Filters: []Filter{{Key: "colour", Value: "red"}}}); err == nil {
		t.Fatal("an unknown field filtered silently")
	}
}

// An unknown field is an error with no rows to filter too: on an idle
// node a mistyped --filter must not list an empty page.
func TestApplyUnknownFieldOnNoRows(t *testing.T) {
	if _, err := Apply([]Task{}, Query{Filters: []Filter{{Key: "stat", Value: "RUNNING"}}}); err == nil {
		t.Error("tasks: an unknown field filtered nothing silently")
	}
	if _, err := Apply[Worker](nil, Query{Filters: []Filter{{Key: "state", Value: "IDLE"}, {Key: "colour", Value: "red"}}}); err == nil {
		t.Error("workers: an unknown field filtered nothing silently")
	}
	if p, err := Apply([]Actor{}, Query{Filters: []Filter{{Key: "class_name", Value: "A"}}}); err != nil || p.Total != 0 {
		t.Errorf("actors: a known field on no rows: %+v, %v", p, err)
	}
}

func TestParseFilter(t *testing.T) {
	for in, want := range map[string]Filter{
		"state=RUNNING":  {Key: "state", Value: "RUNNING"},
		"state!=RUNNING": {Key: "state", Not: true, Value: "RUNNING"},
		"name=a=b":       {Key: "name", Value: "a=b"},
		"error_message=": {Key: "error_message"},
	} {
		if got, err := ParseFilter(in); err != nil || got != want {
			t.Errorf("ParseFilter(%q) = %+v, %v", in, got, err)
		}
		if f, _ := ParseFilter(in); f.String() != in {
			t.Errorf("%q prints as %q", in, f.String())
		}
	}
	for _, bad := range []string{"", "state", "=x", "!=x"} {
		if _, err := ParseFilter(bad); err == nil {
			t.Errorf("ParseFilter(%q) accepted", bad)
		}
	}
}

func serve(t *testing.T, src Source) string {
	t.Helper()
	s, err := Serve("", src, "secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr()
}

// Two nodes' answers merge into one page; a node that does not answer is
// named, not fatal; a wrong token, a bad filter and a bad kind are errors.
func TestListAcrossNodes(t *testing.T) {
	a := serve(t, Source{Tasks: func() []Task { return tasks("a", 10) }})
	b := serve(t, Source{Tasks: func() []Task { return tasks("b", 5) }, Workers: func() []Worker { return []Worker{{ID: 1, Node: "b", PID: 42, State: "ALIVE"}} }})
	ctx := context.Background()
	c := &Client{Token: "secret"}
	p, err := List[Task](ctx, c, []string{a, b}, KindTasks, Query{Filters: []Filter{{Key: "state", Value: "RUNNING"}}, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 6 || len(p.Items) != 5 || p.Items[0].ID != "a-0000" || p.Items[4].ID != "b-0000" || len(p.Partial) != 0 {
		t.Fatalf("page %+v", p)
	}
	w, err := List[Worker](ctx, c, []string{a, b, "127.0.0.1:1"}, KindWorkers, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Total != 1 || w.Items[0].PID != 42 || len(w.Partial) != 1 {
		t.Fatalf("workers %+v", w)
	}
	sum, partial, err := c.SummarizeTasks(ctx, []string{a, b})
	if err != nil || len(partial) != 0 || sum.Total != 15 || sum.ByName["f"]["RUNNING"] != 6 || sum.ByName["f"]["FINISHED"] != 9 {
		t.Fatalf("summary %+v %v %v", sum, partial, err)
	}

	var se *StatusError
	if _, err := List[Task](ctx, &Client{Token: "wrong"}, []string{a}, KindTasks, Query{}); !errors.As(err, &se) && err == nil {
		t.Fatal("a wrong token was let in")
	}
	resp, err := http.Get("http://" + a + "/api/v0/tasks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %s", resp.Status)
	}
	if _, err := List[Task](ctx, c, []string{a, b}, KindTasks, Query{Filters: []Filter{{Key: "colour", Value: "red"}}}); !errors.As(err, &se) || se.Code != http.StatusBadRequest {
		t.Fatalf("bad filter: %v", err)
	}
	if _, err := List[Task](ctx, c, []string{a}, "dogs", Query{}); err == nil {
		t.Fatal("unknown kind accepted")
	}
	if _, err := Handler(Source{}, ""); err == nil {
		t.Fatal("a handler without a token")
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"state=RUNNING", "name!=f", "=", "a!=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		again, err := ParseFilter(flt.String())
		if err != nil || again != flt {
			t.Fatalf("%q parses to %+v, which prints as %q and parses to %+v, %v", s, flt, flt.String(), again, err)
		}
	})
}
