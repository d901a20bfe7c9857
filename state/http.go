package state

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"manta/internal/httpserve"
)

// Source gives one node's rows. Each function is called once per request,
// from the request's goroutine, and returns a snapshot the caller owns; a
// nil function serves no rows of that kind.
type Source struct {
	Tasks   func() []Task
	Actors  func() []Actor
	Objects func() []Object
	Workers func() []Worker
}

// DefaultAddr is where Serve listens when told no address: loopback, on
// a port the kernel picks.
const DefaultAddr = "127.0.0.1:0"

// Handler serves src at /api/v0/KIND (KIND one of Kinds; query
// parameters filter=key=value or key!=value, repeated, and limit=N) and
// /api/v0/summary/tasks, as JSON. Every request must carry
// "Authorization: Bearer TOKEN"; token must not be empty.
func Handler(src Source, token string) (http.Handler, error) {
	if token == "" {
		return nil, errors.New("state: a token is required")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v0/tasks", func(w http.ResponseWriter, r *http.Request) { serveRows(w, r, src.Tasks) })
	mux.HandleFunc("GET /api/v0/actors", func(w http.ResponseWriter, r *http.Request) { serveRows(w, r, src.Actors) })
	mux.HandleFunc("GET /api/v0/objects", func(w http.ResponseWriter, r *http.Request) { serveRows(w, r, src.Objects) })
	mux.HandleFunc("GET /api/v0/workers", func(w http.ResponseWriter, r *http.Request) { serveRows(w, r, src.Workers) })
	mux.HandleFunc("GET /api/v0/summary/tasks", func(w http.ResponseWriter, r *http.Request) {
		var tasks []Task
		if src.Tasks != nil {
			tasks = src.Tasks()
		}
		writeJSON(w, Summarize(tasks))
	})
	return RequireToken(token, mux), nil
}

// TokenText is how a cluster token (raw bytes, see cluster.ReadToken)
// travels in an HTTP header: hex. Servers and clients of the state API
// take it in this form.
func TokenText(token []byte) string { return hex.EncodeToString(token) }

// RequireToken wraps h so that only requests bearing token reach it; the
// others get 401.
func RequireToken(token string, h http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			http.Error(w, "state: missing or wrong cluster token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func serveRows[T Row](w http.ResponseWriter, r *http.Request, rows func() []T) {
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var all []T
	if rows != nil {
		all = rows()
	}
	page, err := Apply(all, q)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if page.Items == nil {
		page.Items = []T{}
	}
	writeJSON(w, page)
}

func parseQuery(v url.Values) (Query, error) {
	var q Query
	for _, s := range v["filter"] {
		f, err := ParseFilter(s)
		if err != nil {
			return q, err
		}
		q.Filters = append(q.Filters, f)
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, fmt.Errorf("state: limit %q is not a count", s)
		}
		q.Limit = n
	}
	return q, nil
}

func (q Query) values() url.Values {
	v := url.Values{}
	for _, f := range q.Filters {
		v.Add("filter", f.String())
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Server serves a node's state API until Close; Addr says where.
type Server struct{ *httpserve.Server }

// Serve listens on addr ("" means DefaultAddr) and serves Handler(src,
// token).
func Serve(addr string, src Source, token string) (*Server, error) {
	h, err := Handler(src, token)
	if err != nil {
		return nil, err
	}
	if addr == "" {
		addr = DefaultAddr
	}
	s, err := httpserve.Start(addr, h)
	if err != nil {
		return nil, err
	}
	return &Server{s}, nil
}

// StatusError is a node's refusal of a request: its HTTP status and
// message.
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Code, http.StatusText(e.Code), e.Msg)
}

// Client reads the state API of a cluster's nodes.
type Client struct {
	// Token is the cluster token every request bears, as TokenText
	// gives it.
	Token string
	// HTTP is the client used; nil means one with a 30 s timeout.
	HTTP *http.Client
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (c *Client) get(ctx context.Context, addr, path string, q url.Values, into any) error {
	u := "http://" + addr + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return &StatusError{Code: resp.StatusCode, Msg: strings.TrimSpace(string(msg))}
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// List asks every node at addrs for its rows of kind that match q, and
// merges them: Total counts every match in the cluster, Items are the
// first q.Limit by key. A node that fails is named in Partial; an error
// is returned only when q is refused (bad filter) or no node answered.
func List[T Row](ctx context.Context, c *Client, addrs []string, kind string, q Query) (Page[T], error) {
	if !slices.Contains(Kinds, kind) {
		return Page[T]{}, fmt.Errorf("state: unknown kind %q (one of %s)", kind, strings.Join(Kinds, ", "))
	}
	pages := make([]Page[T], len(addrs))
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Go(func() { errs[i] = c.get(ctx, addr, "/api/v0/"+kind, q.values(), &pages[i]) })
	}
	wg.Wait()
	var out Page[T]
	var all []T
	answered := 0
	for i, p := range pages {
		if err := errs[i]; err != nil {
			if se := (*StatusError)(nil); errors.As(err, &se) && se.Code == http.StatusBadRequest {
				return Page[T]{}, fmt.Errorf("state: %s: %w", addrs[i], err)
			}
			out.Partial = append(out.Partial, fmt.Sprintf("%s: %v", addrs[i], err))
			continue
		}
		answered++
		out.Total += p.Total
		all = append(all, p.Items...)
	}
	if answered == 0 && len(addrs) > 0 {
		return out, fmt.Errorf("state: no node answered: %s", strings.Join(out.Partial, "; "))
	}
	merged, err := Apply(all, Query{Limit: q.Limit})
	if err != nil {
		return out, err
	}
	out.Items = merged.Items
	return out, nil
}

// SummarizeTasks asks every node at addrs for its task summary and adds
// them up; nodes that fail are named in partial.
func (c *Client) SummarizeTasks(ctx context.Context, addrs []string) (sum TaskSummary, partial []string, err error) {
	sum.ByName = map[string]map[string]int{}
	answered := 0
	for _, addr := range addrs {
		var s TaskSummary
		if err := c.get(ctx, addr, "/api/v0/summary/tasks", nil, &s); err != nil {
			partial = append(partial, fmt.Sprintf("%s: %v", addr, err))
			continue
		}
		answered++
		sum.Merge(s)
	}
	if answered == 0 && len(addrs) > 0 {
		return sum, partial, fmt.Errorf("state: no node answered: %s", strings.Join(partial, "; "))
	}
	return sum, partial, nil
}
