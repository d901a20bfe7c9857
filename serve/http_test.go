package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func newTestServer(t *testing.T, m Model, p Policy, clock clockwork.Clock) *Server {
	t.Helper()
	s, err := NewServer(m, p, ServerConfig{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestServerListensOnLoopbackByDefault(t *testing.T) {
	s := newTestServer(t, &recorder{size: 2}, Policy{MaxBatch: 2}, nil)
	host, _, err := net.SplitHostPort(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Fatalf("listening on %s, not loopback", s.Addr())
	}
}

func TestServerAnswersWithTheModelsOutputs(t *testing.T) {
	m, err := NewResidual(ResidualFeatures, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	in := slices.Concat(state(0.5, ResidualFeatures), state(-2, ResidualFeatures))
	want := make([]float32, 2*ResidualFeatures)
	if err := m.Infer(in, want); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, m, Policy{MaxBatch: 4}, nil)
	c := HTTPClient{URL: s.URL(), StateSize: ResidualFeatures}
	got, err := c.Infer(t.Context(), in)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("%v %v, want %v", got, err, want)
	}
	// A deadline beyond what the server takes is sent as MaxTimeout.
	far, cancel := context.WithTimeout(t.Context(), 2*MaxTimeout)
	defer cancel()
	if got, err := c.Infer(far, in); err != nil || !slices.Equal(got, want) {
		t.Fatalf("deadline in two hours: %v %v", got, err)
	}
	if _, err := c.Infer(t.Context(), in[:3]); !errors.Is(err, ErrBadInput) {
		t.Fatalf("partial state from the client: %v", err)
	}
}

func TestServerRejectsBadRequests(t *testing.T) {
	s := newTestServer(t, &recorder{size: 2}, Policy{MaxBatch: 2}, nil)
	huge := `{"states": [[` + strings.Repeat("1,", int(maxRequestBytes(2, 2))) + `1]]}`
	for _, tc := range []struct {
		name, method, contentType, body string
		status                          int
	}{
		{"not JSON", "POST", "application/json", `states: 1`, http.StatusBadRequest},
		{"empty body", "POST", "application/json", ``, http.StatusBadRequest},
		{"no states", "POST", "application/json", `{"states": []}`, http.StatusBadRequest},
		{"short state", "POST", "application/json", `{"states": [[1]]}`, http.StatusBadRequest},
		{"too many states", "POST", "application/json", `{"states": [[1,2],[3,4],[5,6]]}`, http.StatusBadRequest},
		{"string value", "POST", "application/json", `{"states": [["1",2]]}`, http.StatusBadRequest},
		{"overflowing float32", "POST", "application/json", `{"states": [[1e300,2]]}`, http.StatusBadRequest},
		{"unknown field", "POST", "application/json", `{"states": [[1,2]], "model": "x"}`, http.StatusBadRequest},
		{"two objects", "POST", "application/json", `{"states": [[1,2]]} {}`, http.StatusBadRequest},
		{"negative timeout", "POST", "application/json", `{"states": [[1,2]], "timeout_ms": -1}`, http.StatusBadRequest},
		{"timeout too long", "POST", "application/json", `{"states": [[1,2]], "timeout_ms": 100000000000}`, http.StatusBadRequest},
		{"GET", "GET", "", ``, http.StatusMethodNotAllowed},
		{"form", "POST", "application/x-www-form-urlencoded", `states=1`, http.StatusUnsupportedMediaType},
		{"too large", "POST", "application/json", huge, http.StatusRequestEntityTooLarge},
		{"good", "POST", "application/json; charset=utf-8", `{"states": [[1,2]], "timeout_ms": 60000}`, http.StatusOK},
	} {
		req, err := http.NewRequestWithContext(t.Context(), tc.method, s.URL(), strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error   string      `json:"error"`
			Outputs [][]float32 `json:"outputs"`
		}
		decodeErr := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || decodeErr != nil {
			t.Errorf("%s: HTTP %d (%v), want %d", tc.name, resp.StatusCode, decodeErr, tc.status)
			continue
		}
		if tc.status != http.StatusOK && !strings.HasPrefix(body.Error, "serve: bad input") {
			t.Errorf("%s: error %q does not say what was wrong", tc.name, body.Error)
		}
	}
}

// post sends one raw request body and returns its status and error text.
func post(ctx context.Context, url, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var e errorResponse
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error, nil
}

func TestServerTimeoutFailsOnlyItsOwnRequest(t *testing.T) {
	m := &recorder{size: 2, batches: make(chan []float32, 4)}
	clock := clockwork.NewFakeClock()
	s := newTestServer(t, m, Policy{MaxBatch: 4, MaxWait: 10 * time.Millisecond}, clock)
	ctx := t.Context()

	type result struct {
		out []float32
		err error
	}
	patient := make(chan result, 1)
	go func() {
		out, err := (&HTTPClient{URL: s.URL(), StateSize: 2}).Infer(ctx, []float32{1, 1})
		patient <- result{out, err}
	}()
	if err := clock.BlockUntilContext(ctx, 1); err != nil { // queued: MaxWait runs
		t.Fatal(err)
	}
	type status struct {
		code int
		msg  string
		err  error
	}
	hurried := make(chan status, 1)
	go func() {
		code, msg, err := post(ctx, s.URL(), `{"states": [[2, 2]], "timeout_ms": 5}`)
		hurried <- status{code, msg, err}
	}()
	if err := clock.BlockUntilContext(ctx, 2); err != nil { // and the hurried request's deadline
		t.Fatal(err)
	}
	clock.Advance(5 * time.Millisecond)
	if h := <-hurried; h.err != nil || h.code != http.StatusGatewayTimeout || !strings.HasPrefix(h.msg, ErrTimeout.Error()) {
		t.Fatalf("hurried request: %+v, want 504 and a timeout", h)
	}
	clock.Advance(5 * time.Millisecond)
	if p := <-patient; p.err != nil || !slices.Equal(p.out, []float32{1}) {
		t.Fatalf("patient request: %+v, want a batch of its own state only", p)
	}
	if in := <-m.batches; !slices.Equal(in, []float32{1, 1}) {
		t.Fatalf("the model saw %v", in)
	}
}

func TestHTTPClientMapsStatuses(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error
	}{
		{http.StatusBadRequest, ErrBadInput},
		{http.StatusGatewayTimeout, ErrTimeout},
		{http.StatusInternalServerError, ErrModel},
		{http.StatusServiceUnavailable, ErrClosed},
	} {
		if got := sentinelOfStatus(tc.status); got != tc.want {
			t.Errorf("HTTP %d: %v, want %v", tc.status, got, tc.want)
		}
	}
	m := &recorder{size: 1, fail: errors.New("no")}
	s := newTestServer(t, m, Policy{MaxBatch: 1}, nil)
	if _, err := (&HTTPClient{URL: s.URL(), StateSize: 1}).Infer(t.Context(), []float32{1}); !errors.Is(err, ErrModel) {
		t.Fatalf("failing model: %v", err)
	}
	_, err := (&HTTPClient{URL: s.URL(), StateSize: 1}).Infer(t.Context(), []float32{1, 2})
	if !errors.Is(err, ErrBadInput) || strings.Count(err.Error(), ErrBadInput.Error()) != 1 {
		t.Fatalf("two states, a batch of one: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), -time.Second)
	defer cancel()
	if _, err := (&HTTPClient{URL: s.URL(), StateSize: 1}).Infer(ctx, []float32{1}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("deadline passed: %v", err)
	}
}

// FuzzDecodeRequest feeds the REST endpoint's decoder arbitrary bodies: it
// must not panic, and what it accepts must be whole states within the
// batch, which encode and decode again to the same values.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"states": [[1, 2]]}`, `{"states": [[1, 2], [3.5, -4e-3]], "timeout_ms": 7}`, `{"states": [[1]]}`,
		`{"states": null}`, `[]`, `{"states": [[1e39, 0]]}`, `{"states": [[1,2]]}{}`, `{"timeout_ms": 1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		states, timeout, err := decodeRequest(bytes.NewReader(body), 2, 3)
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("error without ErrBadInput: %v", err)
			}
			return
		}
		if len(states) == 0 || len(states)%2 != 0 || len(states) > 6 || timeout < 0 || timeout > MaxTimeout {
			t.Fatalf("accepted %d values, timeout %v", len(states), timeout)
		}
		again, err := json.Marshal(inferRequest{States: split(states, 2), TimeoutMS: timeout.Milliseconds()})
		if err != nil {
			t.Fatal(err)
		}
		back, backTimeout, err := decodeRequest(bytes.NewReader(again), 2, 3)
		if err != nil || backTimeout != timeout || fmt.Sprint(back) != fmt.Sprint(states) {
			t.Fatalf("round trip: %v %v %v, want %v %v", back, backTimeout, err, states, timeout)
		}
	})
}
