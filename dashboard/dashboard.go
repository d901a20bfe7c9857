package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/cluster"
	"manta/gcs"
	"manta/internal/httpserve"
	"manta/state"
)

// DefaultAddr is where Serve listens when Config.Addr is empty: loopback,
// on a port the kernel picks.
const DefaultAddr = "127.0.0.1:0"

// cookieName is the session cookie the login sets.
const cookieName = "manta_dashboard"

// rowLimit is how many actors or objects a page shows; the page says how
// many there are in all.
const rowLimit = 200

// requestTimeout bounds what one request of the page may wait for the
// GCS and the nodes.
const requestTimeout = 10 * time.Second

//go:embed static
var static embed.FS

// Config says what a dashboard serves and where.
type Config struct {
	// Addr is where the dashboard listens; "" means DefaultAddr
	// (loopback). Anything else exposes the cluster's state to whoever
	// can reach it and has the token.
	Addr string
	// GCS is the cluster's control store (the head has it). Required.
	GCS gcs.API
	// Token is the cluster token (raw bytes, as cluster.ReadToken
	// returns it). Required: every request must carry it in its text
	// form, hex (state.TokenText: what $MANTA_GCS_TOKEN and the head's
	// token file hold), at login or as "Authorization: Bearer HEX", and
	// the nodes' state APIs are asked with it.
	Token []byte
	// Every is the sampling period of the charts; default 1 s.
	Every time.Duration
	// Clock paces sampling and stamps the samples; nil means the real
	// clock.
	Clock clockwork.Clock
}

// Server is a running dashboard: it samples the cluster every
// Config.Every and serves the page and its JSON until Close.
type Server struct {
	cfg     Config
	srv     *httpserve.Server
	cookie  []byte   // the session cookie's value
	token   [32]byte // SHA-256 of the token's text, compared to the SHA-256 of what a request offers
	client  *state.Client
	sampler *sampler
}

// Serve starts a dashboard: it listens on cfg.Addr, takes a first sample
// of the cluster at once and another every cfg.Every.
func Serve(cfg Config) (*Server, error) {
	return serve(cfg, nil)
}

// serve is Serve, with afterSample (if not nil) called after each sample:
// tests wait on it.
func serve(cfg Config, afterSample func()) (*Server, error) {
	if cfg.GCS == nil {
		return nil, errors.New("dashboard: Config.GCS is required")
	}
	if len(cfg.Token) == 0 {
		return nil, errors.New("dashboard: Config.Token is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	text := state.TokenText(cfg.Token)
	client := &state.Client{Token: text, HTTP: &http.Client{Timeout: requestTimeout}}
	s := &Server{
		cfg:     cfg,
		cookie:  []byte(cookieValue(cfg.Token)),
		token:   sha256.Sum256([]byte(text)),
		client:  client,
		sampler: newSampler(cfg.GCS, client, cfg.Clock, cfg.Every, afterSample),
	}
	srv, err := httpserve.Start(cfg.Addr, s.handler())
	if err != nil {
		s.sampler.close()
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	s.srv = srv
	return s, nil
}

// Addr is the address the dashboard listens on (host:port); the page is
// at http://ADDR/?token=HEX, HEX being state.TokenText(Config.Token).
func (s *Server) Addr() string { return s.srv.Addr() }

// Close stops sampling and serving, and waits for both.
func (s *Server) Close() error {
	s.sampler.close()
	return s.srv.Close()
}

// cookieValue is what the session cookie holds: derived from the token,
// so that the page never holds the token itself.
func cookieValue(token []byte) string {
	mac := hmac.New(sha256.New, token)
	mac.Write([]byte("manta-dashboard"))
	return hex.EncodeToString(mac.Sum(nil))
}

// isToken says whether offered is the cluster token's text, in time that
// does not depend on where they differ or on their lengths.
func (s *Server) isToken(offered string) bool {
	sum := sha256.Sum256([]byte(offered))
	return subtle.ConstantTimeCompare(sum[:], s.token[:]) == 1
}

func (s *Server) authorized(r *http.Request) bool {
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.isToken(bearer) {
		return true
	}
	c, err := r.Cookie(cookieName)
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), s.cookie) == 1
}

func (s *Server) handler() http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree has static/
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", s.page(files))
	mux.Handle("GET /app.js", s.guard(http.FileServerFS(files)))
	mux.Handle("GET /style.css", s.guard(http.FileServerFS(files)))
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s.login(w, r, r.PostFormValue("token"))
	})
	mux.Handle("GET /api/nodes", s.guard(s.api(s.nodesJSON)))
	mux.Handle("GET /api/series", s.guard(s.api(func(context.Context) (any, error) { return s.sampler.series(), nil })))
	mux.Handle("GET /api/errors", s.guard(s.api(func(context.Context) (any, error) { return s.sampler.lastErrors(), nil })))
	mux.Handle("GET /api/summary", s.guard(s.api(s.summaryJSON)))
	mux.Handle("GET /api/actors", s.guard(s.api(func(ctx context.Context) (any, error) {
		return listRows[state.Actor](ctx, s, state.KindActors)
	})))
	mux.Handle("GET /api/objects", s.guard(s.api(func(ctx context.Context) (any, error) {
		return listRows[state.Object](ctx, s, state.KindObjects)
	})))
	return headers(mux)
}

// headers sets what every answer carries: the page loads nothing from
// elsewhere and runs no inline script, cannot be framed, and sends no
// referrer (its first URL holds the token).
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// page serves index.html to a logged-in browser; /?token=HEX logs in.
func (s *Server) page(files fs.FS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("token") {
			s.login(w, r, r.URL.Query().Get("token"))
			return
		}
		if !s.authorized(r) {
			refuse(w, r, "")
			return
		}
		http.ServeFileFS(w, r, files, "index.html")
	})
}

// login sets the session cookie and sends the browser to the page, whose
// URL then no longer holds the token; a wrong token is refused.
func (s *Server) login(w http.ResponseWriter, r *http.Request, token string) {
	if !s.isToken(token) {
		refuse(w, r, "That is not this cluster's token.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    string(s.cookie),
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			refuse(w, r, "")
			return
		}
		h.ServeHTTP(w, r)
	})
}

var refusal = template.Must(template.New("refusal").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>manta dashboard: log in</title></head>
<body><h1>manta dashboard</h1>
{{if .}}<p><strong>{{.}}</strong></p>{{end}}
<p>This page needs the cluster token. Open the URL that <code>manta dashboard</code> prints
(it ends in <code>?token=…</code>), or paste the token here, in hex as in the head's token file
or <code>$MANTA_GCS_TOKEN</code>:</p>
<form method="post" action="/login"><input type="password" name="token" autocomplete="off" autofocus>
<button type="submit">Log in</button></form>
</body></html>
`))

// refuse answers 401: to the page's own requests a line of text, to a
// browser a short page saying how to log in.
func refuse(w http.ResponseWriter, r *http.Request, why string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		http.Error(w, "dashboard: log in first: open the URL `manta dashboard` prints, or send Authorization: Bearer TOKEN (in hex)", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_ = refusal.Execute(w, why)
}

// api serves what get returns as JSON; an error is a 502 (the GCS or
// every node failed).
func (s *Server) api(get func(ctx context.Context) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		v, err := get(ctx)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	})
}

// nodeJSON is one row of the nodes table.
type nodeJSON struct {
	ID        string             `json:"id"`
	Addr      string             `json:"addr"`
	State     string             `json:"state"`
	StateAPI  string             `json:"state_api,omitempty"`
	Resources map[string]float64 `json:"resources"`
	Free      map[string]float64 `json:"free"`
	Queued    int                `json:"queued"`
	Running   int                `json:"running"`
	StoreUsed int64              `json:"store_used"`
	StoreCap  int64              `json:"store_capacity"`
	Lent      int                `json:"lent"`
	Demands   []demandJSON       `json:"demands"`
	// BeatAge is how long ago its last heartbeat was taken, in seconds;
	// null if it never beat.
	BeatAge *float64 `json:"heartbeat_age_s"`
}

type demandJSON struct {
	Shape  string `json:"shape"`
	Count  int    `json:"count"`
	Reason string `json:"reason"`
}

func (s *Server) nodesJSON(ctx context.Context) (any, error) {
	nodes, err := cluster.List(ctx, s.cfg.GCS)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	out := make([]nodeJSON, 0, len(nodes))
	for _, n := range nodes {
		row := nodeJSON{ID: string(n.ID), Addr: n.Addr, State: n.State.String(), Resources: n.Resources, Free: n.Load.Free,
			Queued: n.Load.Queued, Running: n.Load.Running, StoreUsed: n.Load.StoreUsed, StoreCap: n.Load.StoreCapacity,
			Lent: n.Load.Lent, Demands: []demandJSON{}}
		if n.State == gcs.NodeAlive {
			if row.StateAPI, _, err = cluster.Endpoint(ctx, s.cfg.GCS, n.ID, cluster.EndpointState); err != nil {
				return nil, err
			}
		}
		for _, d := range n.Load.Demands {
			row.Demands = append(row.Demands, demandJSON{Shape: d.Shape, Count: d.Count, Reason: d.Reason.String()})
		}
		if !n.Load.At.IsZero() {
			age := now.Sub(n.Load.At).Seconds()
			row.BeatAge = &age
		}
		out = append(out, row)
	}
	return map[string]any{"nodes": out}, nil
}

// stateAddrs returns where the live nodes serve their state API.
func (s *Server) stateAddrs(ctx context.Context) ([]string, error) {
	eps, err := cluster.Endpoints(ctx, s.cfg.GCS, cluster.EndpointState)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Values(eps)), nil
}

func listRows[T state.Row](ctx context.Context, s *Server, kind string) (any, error) {
	addrs, err := s.stateAddrs(ctx)
	if err != nil {
		return nil, err
	}
	page, err := state.List[T](ctx, s.client, addrs, kind, state.Query{Limit: rowLimit})
	if err != nil {
		return nil, err
	}
	if page.Items == nil {
		page.Items = []T{}
	}
	return page, nil
}

// summaryJSON is the cluster's tasks counted by function and state.
func (s *Server) summaryJSON(ctx context.Context) (any, error) {
	addrs, err := s.stateAddrs(ctx)
	if err != nil {
		return nil, err
	}
	sum, partial, err := s.client.SummarizeTasks(ctx, addrs)
	if err != nil {
		return nil, err
	}
	return struct {
		state.TaskSummary
		Partial []string `json:"partial,omitempty"`
	}{sum, partial}, nil
}
