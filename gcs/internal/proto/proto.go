package proto

import (
	"encoding/binary"
	"errors"

	"manta/gcs"
	"manta/gcs/chain"
	"manta/rpc"
	"manta/rpc/wire"
)

// The GCS's rpc methods. Replicas serve the first group, the monitor the
// second.
const (
	// MethodWrite (client → head): a batch of writes; the response comes
	// once every one is committed or failed.
	MethodWrite rpc.Method = 0x4701 + iota
	// MethodRead (client → tail): a batch of reads.
	MethodRead
	// MethodSubscribe (client → tail): start a subscription.
	MethodSubscribe
	// MethodPoll (client → tail): take a subscription's notifications,
	// waiting a little for some.
	MethodPoll
	// MethodUnsubscribe (client → tail): end a subscription.
	MethodUnsubscribe
	// MethodPeer (replica or monitor → replica): a batch of chain
	// protocol messages.
	MethodPeer
	// MethodPing (monitor → replica): are you there?
	MethodPing
)

const (
	// MethodMonitorStep (replica → monitor): a batch of messages (joins,
	// heartbeats); the response holds the monitor's answers to the sender.
	MethodMonitorStep rpc.Method = 0x4781 + iota
	// MethodChains (client → monitor): every shard's chain; with a shard
	// and an epoch in the request, once that shard's chain is newer (or
	// after a short wait).
	MethodChains
	// MethodSuspect (replica or client → monitor): a replica seems dead;
	// the monitor probes it, removes it if it is, and answers with every
	// chain.
	MethodSuspect
)

// Result codes of a write or read in a batch.
const (
	CodeOK          = 0
	CodeBadOp       = 1
	CodeTooLarge    = 2
	CodeCorrupt     = 3
	CodeUnavailable = 4 // this replica cannot serve it now: retry elsewhere
	CodeOther       = 5
	codeEnd         = 6
)

// ErrorCode is the result code that stands for err.
func ErrorCode(err error) byte {
	switch {
	case err == nil:
		return CodeOK
	case errors.Is(err, gcs.ErrBadOp):
		return CodeBadOp
	case errors.Is(err, gcs.ErrTooLarge):
		return CodeTooLarge
	case errors.Is(err, gcs.ErrCorrupt):
		return CodeCorrupt
	case errors.Is(err, chain.ErrNotHead), errors.Is(err, chain.ErrNotTail), errors.Is(err, gcs.ErrUnavailable), errors.Is(err, gcs.ErrClosed):
		return CodeUnavailable
	}
	return CodeOther
}

// remoteError is an error from a replica: its message, and the sentinel
// its code stands for.
type remoteError struct {
	code byte
	msg  string
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Unwrap() error {
	switch e.code {
	case CodeBadOp:
		return gcs.ErrBadOp
	case CodeTooLarge:
		return gcs.ErrTooLarge
	case CodeCorrupt:
		return gcs.ErrCorrupt
	case CodeUnavailable:
		return gcs.ErrUnavailable
	}
	return nil
}

// CodeError is the error a result stands for: nil for CodeOK, else one
// with the replica's message that wraps the sentinel of its code.
func CodeError(code byte, msg string) error {
	if code == CodeOK {
		return nil
	}
	return &remoteError{code: code, msg: msg}
}

// Frame layouts (uvarints and length-prefixed bytes unless said):
//
//	write request    client | acked | count | count × (request | op)
//	write response   0 | count | count × (code u8 | message if code≠0)
//	                 1 | chain                      (redirect: not the head)
//	read request     count | count × (table u8 | key)
//	read response    0 | count | count × (0 missing | 1 value | 2 code u8 message)
//	                 1 | chain                      (redirect: not the tail)
//	chains           count | count × chain
//	subscribe        table u8 | has key u8 | key   → 0 | id, or 1 | chain
//	poll             id | max | wait µs            → 0 | count | count × (table u8 | op u8 | key | value), or 1 (unknown id)
//	unsubscribe      id
//	suspect          replica ID                    → chains

// WriteRequest is a batch of writes from one client. Reqs numbers each op
// for deduplication; Acked promises that no request below it will be
// retried.
type WriteRequest struct {
	Client, Acked uint64
	Reqs          []uint64
	Ops           []gcs.Op
}

// AppendWriteRequest encodes w onto dst.
func AppendWriteRequest(dst []byte, w *WriteRequest) []byte {
	dst = binary.AppendUvarint(dst, w.Client)
	dst = binary.AppendUvarint(dst, w.Acked)
	dst = binary.AppendUvarint(dst, uint64(len(w.Ops)))
	for i := range w.Ops {
		dst = binary.AppendUvarint(dst, w.Reqs[i])
		dst = gcs.AppendOp(dst, &w.Ops[i])
	}
	return dst
}

// DecodeWriteRequest parses src into w, reusing its slices; keys and
// values alias src.
func DecodeWriteRequest(src []byte, w *WriteRequest) error {
	d := newDecoder(src)
	w.Client = d.Uvarint("client")
	w.Acked = d.Uvarint("acked")
	n := d.Count("writes", 5)
	w.Reqs, w.Ops = w.Reqs[:0], w.Ops[:0]
	for i := 0; i < n && d.Err() == nil; i++ {
		w.Reqs = append(w.Reqs, d.Uvarint("request"))
		w.Ops = append(w.Ops, gcs.Op{
			Kind:  gcs.OpKind(d.Byte("op kind")),
			Table: gcs.Table(d.Byte("table")),
			Key:   d.Bytes("key"),
			Value: d.Bytes("value"),
		})
	}
	d.End("write request")
	return d.Err()
}

// Result is the outcome of one write or read of a batch: a code and its
// message, and for a read whether the key was found and its value.
type Result struct {
	Code  byte
	Msg   string
	Found bool
	Value []byte
}

// AppendWriteResults encodes a write response.
func AppendWriteResults(dst []byte, rs []Result) []byte {
	dst = append(dst, 0)
	dst = binary.AppendUvarint(dst, uint64(len(rs)))
	for _, r := range rs {
		dst = append(dst, r.Code)
		if r.Code != CodeOK {
			dst = appendBytes(dst, []byte(r.Msg))
		}
	}
	return dst
}

// AppendRedirect encodes a response that refuses the request, carrying
// the chain the replica knows, for the client to try where it says.
func AppendRedirect(dst []byte, c *chain.Chain) []byte {
	dst = append(dst, 1)
	return chain.AppendChain(dst, c)
}

// AppendReadResults starts a read response of n results; append each
// with AppendReadResult.
func AppendReadResults(dst []byte, n int) []byte {
	dst = append(dst, 0)
	return binary.AppendUvarint(dst, uint64(n))
}

// AppendReadResult appends one read's result: get appends the value (if
// found) to the frame, where it stays without a second copy.
func AppendReadResult(dst []byte, get func(dst []byte) ([]byte, bool, error)) []byte {
	at := len(dst)
	dst = append(dst, 1, 0, 0, 0, 0, 0) // tag, then room for a length
	start := len(dst)
	dst, ok, err := get(dst)
	switch {
	case err != nil:
		dst = append(dst[:at], 2, ErrorCode(err))
		return appendBytes(dst, []byte(err.Error()))
	case !ok:
		return append(dst[:at], 0)
	}
	return fixLength(dst, at+1, start)
}

// fixLength turns the value appended at start into a length-prefixed
// field at lenAt, where 5 bytes were reserved: it writes the uvarint
// length there and moves the value down over the unused bytes.
func fixLength(b []byte, lenAt, start int) []byte {
	n := len(b) - start
	k := binary.PutUvarint(b[lenAt:start], uint64(n))
	copy(b[lenAt+k:], b[start:])
	return b[:lenAt+k+n]
}

// DecodeResults parses a write or read response: the results, or the
// chain of a redirect (redirect true).
func DecodeResults(src []byte, reads bool, rs []Result, c *chain.Chain) (_ []Result, redirect bool, err error) {
	d := newDecoder(src)
	switch status := d.Byte("status"); {
	case d.Err() != nil:
	case status == 1:
		chain.ReadChain(&d, c)
		d.End("redirect")
		return rs, true, d.Err()
	case status != 0:
		d.Fail("status %d", status)
	}
	n := d.Count("results", 1)
	rs = rs[:0]
	for i := 0; i < n && d.Err() == nil; i++ {
		var r Result
		if reads {
			switch tag := d.Byte("read tag"); tag {
			case 0:
			case 1:
				r.Found, r.Value = true, d.Bytes("value")
			case 2:
				r.Code = d.Byte("code")
				r.Msg = string(d.Bytes("message"))
				if d.Err() == nil && (r.Code == CodeOK || r.Code >= codeEnd) {
					d.Fail("error code %d", r.Code)
				}
			default:
				d.Fail("read tag %d", tag)
			}
		} else {
			r.Code = d.Byte("code")
			if d.Err() == nil && r.Code >= codeEnd {
				d.Fail("error code %d", r.Code)
			}
			if r.Code != CodeOK {
				r.Msg = string(d.Bytes("message"))
			}
		}
		rs = append(rs, r)
	}
	d.End("results")
	return rs, false, d.Err()
}

// ReadRequest is a batch of reads: Keys[i] in Tables[i].
type ReadRequest struct {
	Tables []gcs.Table
	Keys   [][]byte
}

// AppendReadRequest encodes r onto dst.
func AppendReadRequest(dst []byte, r *ReadRequest) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(r.Keys)))
	for i := range r.Keys {
		dst = append(dst, byte(r.Tables[i]))
		dst = appendBytes(dst, r.Keys[i])
	}
	return dst
}

// DecodeReadRequest parses src into r, reusing its slices; keys alias
// src.
func DecodeReadRequest(src []byte, r *ReadRequest) error {
	d := newDecoder(src)
	n := d.Count("reads", 2)
	r.Tables, r.Keys = r.Tables[:0], r.Keys[:0]
	for i := 0; i < n && d.Err() == nil; i++ {
		r.Tables = append(r.Tables, gcs.Table(d.Byte("table")))
		r.Keys = append(r.Keys, d.Bytes("key"))
	}
	d.End("read request")
	return d.Err()
}

// AppendChains encodes every shard's chain, in shard order.
func AppendChains(dst []byte, cs []chain.Chain) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(cs)))
	for i := range cs {
		dst = chain.AppendChain(dst, &cs[i])
	}
	return dst
}

// DecodeChains parses what AppendChains encoded.
func DecodeChains(src []byte) ([]chain.Chain, error) {
	d := newDecoder(src)
	n := d.Count("chains", 5)
	cs := make([]chain.Chain, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		chain.ReadChain(&d, &cs[i])
		if d.Err() == nil && cs[i].Shard != uint32(i) {
			d.Fail("chain %d is for shard %d", i, cs[i].Shard)
		}
	}
	d.End("chains")
	if d.Err() != nil {
		return nil, d.Err()
	}
	return cs, nil
}

// AppendNotifications encodes a poll response carrying ns.
func AppendNotifications(dst []byte, ns []gcs.Notification) []byte {
	dst = append(dst, 0)
	dst = binary.AppendUvarint(dst, uint64(len(ns)))
	for _, n := range ns {
		dst = append(dst, byte(n.Table), byte(n.Op))
		dst = appendBytes(dst, n.Key)
		dst = appendBytes(dst, n.Value)
	}
	return dst
}

// AppendGone encodes a poll response for a subscription the replica does
// not hold (any more).
func AppendGone(dst []byte) []byte { return append(dst, 1) }

// DecodeNotifications parses a poll response; gone reports an unknown
// subscription. The notifications alias src.
func DecodeNotifications(src []byte, dst []gcs.Notification) (_ []gcs.Notification, gone bool, err error) {
	d := newDecoder(src)
	switch status := d.Byte("status"); {
	case d.Err() != nil:
	case status == 1:
		d.End("poll response")
		return dst, true, d.Err()
	case status != 0:
		d.Fail("status %d", status)
	}
	n := d.Count("notifications", 4)
	for i := 0; i < n && d.Err() == nil; i++ {
		nt := gcs.Notification{Table: gcs.Table(d.Byte("table")), Op: gcs.OpKind(d.Byte("op"))}
		nt.Key, nt.Value = d.Bytes("key"), d.Bytes("value")
		if d.Err() == nil && nt.Op != gcs.OpResync && (!nt.Table.Valid() || !nt.Op.Valid()) {
			d.Fail("notification table %d op %d", nt.Table, nt.Op)
		}
		dst = append(dst, nt)
	}
	d.End("poll response")
	return dst, false, d.Err()
}

// AppendUvarints encodes vs, the body of the requests that carry only
// numbers (poll, unsubscribe, suspect, a chains request that waits).
func AppendUvarints(dst []byte, vs ...uint64) []byte {
	for _, v := range vs {
		dst = binary.AppendUvarint(dst, v)
	}
	return dst
}

// DecodeUvarints parses what AppendUvarints encoded into vs; what names
// the request in errors.
func DecodeUvarints(src []byte, what string, vs ...*uint64) error {
	d := newDecoder(src)
	for _, v := range vs {
		*v = d.Uvarint(what)
	}
	d.End(what)
	return d.Err()
}

// AppendSubscribe encodes a subscription to key in t, or to the whole
// table if key is nil.
func AppendSubscribe(dst []byte, t gcs.Table, key []byte) []byte {
	dst = append(dst, byte(t))
	if key != nil {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	return appendBytes(dst, key)
}

// DecodeSubscribe parses what AppendSubscribe encoded; key aliases src.
func DecodeSubscribe(src []byte) (t gcs.Table, key []byte, err error) {
	d := newDecoder(src)
	t = gcs.Table(d.Byte("table"))
	has := d.Bool("has key")
	key = d.Bytes("key")
	d.End("subscribe")
	if d.Err() == nil && !t.Valid() {
		d.Fail("table %d", t)
	}
	if !has {
		key = nil
	} else if d.Err() == nil && key == nil {
		key = []byte{}
	}
	return t, key, d.Err()
}

// AppendSubscribed encodes the answer to a subscription: its ID.
func AppendSubscribed(dst []byte, id uint64) []byte {
	dst = append(dst, 0)
	return binary.AppendUvarint(dst, id)
}

// DecodeSubscribed parses the answer to a subscription: its ID, or the
// chain of a redirect (redirect true).
func DecodeSubscribed(src []byte, c *chain.Chain) (id uint64, redirect bool, err error) {
	d := newDecoder(src)
	switch status := d.Byte("status"); {
	case d.Err() != nil:
	case status == 0:
		id = d.Uvarint("subscription")
	case status == 1:
		chain.ReadChain(&d, c)
		redirect = true
	default:
		d.Fail("subscribe status %d", status)
	}
	d.End("subscribe response")
	return id, redirect, d.Err()
}

func newDecoder(src []byte) wire.Reader { return wire.NewReader(src, gcs.ErrMalformed) }

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}
