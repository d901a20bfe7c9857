package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// sessions remembers, per client, the requests it applied, so that a
// write retried after a failure is applied at most once. They are part of
// the replicated state: every replica records the same entries in the same
// order, and snapshots carry them.
type sessions map[uint64]*session

type session struct {
	low  uint64 // requests below it are forgotten: the client will not retry them
	last uint64 // sequence number of its latest entry
	reqs map[uint64]sessEntry
}

type sessEntry struct {
	seq uint64
	err string // the apply error, if any
}

// Sessions idle for this many entries of the shard are forgotten, checked
// every sessionSweep entries.
const (
	sessionIdle  = 1 << 20
	sessionSweep = 1 << 16
	sessionTrim  = 64 // trim a session's requests below low once it holds this many
)

// lookup reports whether client's req was applied, and as which entry.
func (ss sessions) lookup(client, req uint64) (seq uint64, err error, dup bool) {
	s := ss[client]
	if s == nil {
		return 0, nil, false
	}
	if req < s.low {
		// Forgotten, so long applied (the client promised not to retry it).
		return 0, nil, true
	}
	e, ok := s.reqs[req]
	if !ok {
		return 0, nil, false
	}
	if e.err != "" {
		err = errors.New(e.err)
	}
	return e.seq, err, true
}

// record notes that e was applied with the given outcome.
func (ss sessions) record(e Entry, err error) {
	if e.Seq%sessionSweep == 0 {
		for c, s := range ss {
			if e.Seq-s.last > sessionIdle {
				delete(ss, c)
			}
		}
	}
	if e.Client == 0 {
		return
	}
	s := ss[e.Client]
	if s == nil {
		s = &session{reqs: map[uint64]sessEntry{}}
		ss[e.Client] = s
	}
	s.last = e.Seq
	var msg string
	if err != nil {
		msg = err.Error()
	}
	s.reqs[e.Req] = sessEntry{seq: e.Seq, err: msg}
	if e.Acked > s.low {
		s.low = e.Acked
		if len(s.reqs) >= sessionTrim {
			for req := range s.reqs {
				if req < s.low {
					delete(s.reqs, req)
				}
			}
		}
	}
}

// appendSnapshot encodes the sessions, sorted so equal states encode
// equally: a count, then per client its ID, low, last and requests, then
// per request its number, entry and error; all uvarints or length-prefixed.
func (ss sessions) appendSnapshot(dst []byte) []byte {
	clients := make([]uint64, 0, len(ss))
	for c := range ss {
		clients = append(clients, c)
	}
	slices.Sort(clients)
	dst = binary.AppendUvarint(dst, uint64(len(clients)))
	var reqs []uint64
	for _, c := range clients {
		s := ss[c]
		dst = binary.AppendUvarint(dst, c)
		dst = binary.AppendUvarint(dst, s.low)
		dst = binary.AppendUvarint(dst, s.last)
		reqs = reqs[:0]
		for r := range s.reqs {
			reqs = append(reqs, r)
		}
		slices.Sort(reqs)
		dst = binary.AppendUvarint(dst, uint64(len(reqs)))
		for _, r := range reqs {
			e := s.reqs[r]
			dst = binary.AppendUvarint(dst, r)
			dst = binary.AppendUvarint(dst, e.seq)
			dst = binary.AppendUvarint(dst, uint64(len(e.err)))
			dst = append(dst, e.err...)
		}
	}
	return dst
}

// restore replaces the sessions with those encoded at the start of snap
// and returns the rest.
func (ss *sessions) restore(snap []byte) ([]byte, error) {
	d := newDecoder(snap)
	n := d.Count("sessions", 4)
	out := make(sessions, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		c := d.Uvarint("client")
		s := &session{low: d.Uvarint("low"), last: d.Uvarint("last")}
		m := d.Count("requests", 3)
		s.reqs = make(map[uint64]sessEntry, m)
		for j := 0; j < m && d.Err() == nil; j++ {
			r := d.Uvarint("request")
			s.reqs[r] = sessEntry{seq: d.Uvarint("entry"), err: string(d.Bytes("error"))}
		}
		out[c] = s
	}
	if d.Err() != nil {
		return nil, fmt.Errorf("cannot restore sessions: %w", d.Err())
	}
	*ss = out
	return d.Rest(), nil
}
