package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"manta/cluster"
	"manta/dashboard"
	"manta/gcs"
	"manta/state"
)

func Example() {
	ctx := context.Background()
	st, _ := gcs.Open(gcs.Config{}) // the head's GCS; a replicated GCS's client (gcs/client) works the same
	defer st.Close()
	cluster.InitHead(ctx, st)
	node, _ := cluster.Join(ctx, cluster.Config{GCS: st, Addr: "127.0.0.1:7001", Resources: map[string]float64{"CPU": 4}})
	defer node.Leave(ctx)

	token := []byte("the-cluster-token") // cluster.ReadToken's, in a real cluster
	srv, err := dashboard.Serve(dashboard.Config{GCS: st, Token: token})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	// A browser opens http://ADDR/?token=HEX; a script sends the token
	// as a bearer header. HEX is the token's text form.
	resp, err := http.Get("http://" + srv.Addr() + "/api/nodes")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("without the token:", resp.Status)

	req, _ := http.NewRequest(http.MethodGet, "http://"+srv.Addr()+"/api/nodes", nil)
	req.Header.Set("Authorization", "Bearer "+state.TokenText(token))
	if resp, err = http.DefaultClient.Do(req); err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var page struct {
		Nodes []struct {
			Addr      string
			State     string
			Resources map[string]float64
		}
	}
	json.NewDecoder(resp.Body).Decode(&page)
	for _, n := range page.Nodes {
		fmt.Println(n.Addr, n.State, n.Resources["CPU"], "CPU")
	}
	// Output:
	// without the token: 401 Unauthorized
	// 127.0.0.1:7001 alive 4 CPU
}
