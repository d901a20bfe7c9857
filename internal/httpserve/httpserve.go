// Package httpserve runs an http.Handler on a listener of its own until
// Close: the lifecycle the node's metrics, state API and the head's
// dashboard share.
//
//	s, err := httpserve.Start("127.0.0.1:0", handler)
//	...
//	fmt.Println("at http://" + s.Addr())
//	defer s.Close()
package httpserve

import (
	"net"
	"net/http"
	"time"
)

// Server serves one handler until Close.
type Server struct {
	ln   net.Listener
	http *http.Server
	done chan struct{}
}

// Start listens on addr (host:port; port 0 lets the kernel pick) and
// serves h there. Slow clients get 10 s to send their headers.
func Start(addr string, h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, http: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.http.Serve(ln) // http.ErrServerClosed after Close
	}()
	return s, nil
}

// Addr is the address the server listens on (host:port), with the port
// the kernel picked when the one asked for was 0.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening, closes the open connections (requests in
// progress are cut off) and waits for the serving goroutine to end.
func (s *Server) Close() error {
	err := s.http.Close()
	<-s.done
	return err
}
