package state_test

import (
	"context"
	"fmt"

	"manta/state"
)

// A node serves its rows behind the cluster token; a client lists them,
// filtered before the limit.
func Example() {
	src := state.Source{Tasks: func() []state.Task {
		return []state.Task{
			{ID: "01", Name: "f", State: "RUNNING"},
			{ID: "02", Name: "f", State: "FINISHED"},
			{ID: "03", Name: "g", State: "RUNNING"},
		}
	}}
	srv, err := state.Serve("", src, "token")
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	c := &state.Client{Token: "token"}
	page, err := state.List[state.Task](context.Background(), c, []string{srv.Addr()}, state.KindTasks,
		state.Query{Filters: []state.Filter{{Key: "state", Value: "RUNNING"}}, Limit: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(page.Total, "running; first:", page.Items[0].ID, page.Items[0].Name)
	// Output: 2 running; first: 01 f
}
