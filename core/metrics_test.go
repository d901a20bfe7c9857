package core

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A node given MetricsAddr serves its state at /metrics.
func TestMetricsEndpoint(t *testing.T) {
	c, err := Init(Config{MetricsAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	if _, err := benchNoop.Remote().Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := c.MetricsAddr()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("metrics at %q, want loopback", addr)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"manta_worker_starts_total ", "manta_store_capacity_bytes ", `manta_tasks{state="running"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(string(body), "manta_worker_starts_total 0") {
		t.Errorf("/metrics counts no worker start after a task ran")
	}
}
