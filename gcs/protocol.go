package gcs

import (
	"encoding/binary"
	"errors"

	"manta/rpc"
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
	// after 50 ms).
	MethodChains
	// MethodSuspect (replica or client → monitor): a replica seems dead;
	// the monitor probes it, removes it if it is, and answers with every
	// chain.
	MethodSuspect
)

// Result codes of a write or read in a batch.
const (
	codeOK          = 0
	codeBadOp       = 1
	codeTooLarge    = 2
	codeCorrupt     = 3
	codeUnavailable = 4 // this replica cannot serve it now: retry elsewhere
	codeOther       = 5
	codeEnd         = 6
)

func errorCode(err error) byte {
	switch {
	case err == nil:
		return codeOK
	case errors.Is(err, ErrBadOp):
		return codeBadOp
	case errors.Is(err, ErrTooLarge):
		return codeTooLarge
	case errors.Is(err, ErrCorrupt):
		return codeCorrupt
	case errors.Is(err, ErrNotHead), errors.Is(err, ErrNotTail), errors.Is(err, ErrUnavailable), errors.Is(err, ErrClosed):
		return codeUnavailable
	}
	return codeOther
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
	case codeBadOp:
		return ErrBadOp
	case codeTooLarge:
		return ErrTooLarge
	case codeCorrupt:
		return ErrCorrupt
	case codeUnavailable:
		return ErrUnavailable
	}
	return nil
}

func codeError(code byte, msg string) error {
	if code == codeOK {
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

// writeRequest is a batch of writes from one client.
type writeRequest struct {
	client, acked uint64
	reqs          []uint64
	ops           []Op
}

func appendWriteRequest(dst []byte, w *writeRequest) []byte {
	dst = binary.AppendUvarint(dst, w.client)
	dst = binary.AppendUvarint(dst, w.acked)
	dst = binary.AppendUvarint(dst, uint64(len(w.ops)))
	for i := range w.ops {
		dst = binary.AppendUvarint(dst, w.reqs[i])
		dst = AppendOp(dst, &w.ops[i])
	}
	return dst
}

func decodeWriteRequest(src []byte, w *writeRequest) error {
	d := newDecoder(src)
	w.client = d.Uvarint("client")
	w.acked = d.Uvarint("acked")
	n := d.Count("writes", 5)
	w.reqs, w.ops = w.reqs[:0], w.ops[:0]
	for i := 0; i < n && d.Err() == nil; i++ {
		w.reqs = append(w.reqs, d.Uvarint("request"))
		w.ops = append(w.ops, Op{
			Kind:  OpKind(d.Byte("op kind")),
			Table: Table(d.Byte("table")),
			Key:   d.Bytes("key"),
			Value: d.Bytes("value"),
		})
	}
	d.End("write request")
	return d.Err()
}

// results are the outcomes of a batch: per item, a code and a message.
type result struct {
	code  byte
	msg   string
	found bool   // reads
	value []byte // reads
}

func appendWriteResults(dst []byte, rs []result) []byte {
	dst = append(dst, 0)
	dst = binary.AppendUvarint(dst, uint64(len(rs)))
	for _, r := range rs {
		dst = append(dst, r.code)
		if r.code != codeOK {
			dst = appendBytes(dst, []byte(r.msg))
		}
	}
	return dst
}

func appendRedirect(dst []byte, c *Chain) []byte {
	dst = append(dst, 1)
	return AppendChain(dst, c)
}

// decodeResults parses a write or read response: the results, or the
// chain of a redirect (redirect true).
func decodeResults(src []byte, reads bool, rs []result, c *Chain) (_ []result, redirect bool, err error) {
	d := newDecoder(src)
	switch status := d.Byte("status"); {
	case d.Err() != nil:
	case status == 1:
		d.chain(c)
		d.End("redirect")
		return rs, true, d.Err()
	case status != 0:
		d.Fail("status %d", status)
	}
	n := d.Count("results", 1)
	rs = rs[:0]
	for i := 0; i < n && d.Err() == nil; i++ {
		var r result
		if reads {
			switch tag := d.Byte("read tag"); tag {
			case 0:
			case 1:
				r.found, r.value = true, d.Bytes("value")
			case 2:
				r.code = d.Byte("code")
				r.msg = string(d.Bytes("message"))
				if d.Err() == nil && (r.code == codeOK || r.code >= codeEnd) {
					d.Fail("error code %d", r.code)
				}
			default:
				d.Fail("read tag %d", tag)
			}
		} else {
			r.code = d.Byte("code")
			if d.Err() == nil && r.code >= codeEnd {
				d.Fail("error code %d", r.code)
			}
			if r.code != codeOK {
				r.msg = string(d.Bytes("message"))
			}
		}
		rs = append(rs, r)
	}
	d.End("results")
	return rs, false, d.Err()
}

// readRequest is a batch of reads.
type readRequest struct {
	tables []Table
	keys   [][]byte
}

func appendReadRequest(dst []byte, r *readRequest) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(r.keys)))
	for i := range r.keys {
		dst = append(dst, byte(r.tables[i]))
		dst = appendBytes(dst, r.keys[i])
	}
	return dst
}

func decodeReadRequest(src []byte, r *readRequest) error {
	d := newDecoder(src)
	n := d.Count("reads", 2)
	r.tables, r.keys = r.tables[:0], r.keys[:0]
	for i := 0; i < n && d.Err() == nil; i++ {
		r.tables = append(r.tables, Table(d.Byte("table")))
		r.keys = append(r.keys, d.Bytes("key"))
	}
	d.End("read request")
	return d.Err()
}

func appendChains(dst []byte, cs []Chain) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(cs)))
	for i := range cs {
		dst = AppendChain(dst, &cs[i])
	}
	return dst
}

func decodeChains(src []byte) ([]Chain, error) {
	d := newDecoder(src)
	n := d.Count("chains", 5)
	cs := make([]Chain, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		d.chain(&cs[i])
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

func appendNotifications(dst []byte, ns []Notification) []byte {
	dst = append(dst, 0)
	dst = binary.AppendUvarint(dst, uint64(len(ns)))
	for _, n := range ns {
		dst = append(dst, byte(n.Table), byte(n.Op))
		dst = appendBytes(dst, n.Key)
		dst = appendBytes(dst, n.Value)
	}
	return dst
}

// decodeNotifications parses a poll response; gone reports an unknown
// subscription. The notifications alias src.
func decodeNotifications(src []byte, dst []Notification) (_ []Notification, gone bool, err error) {
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
		nt := Notification{Table: Table(d.Byte("table")), Op: OpKind(d.Byte("op"))}
		nt.Key, nt.Value = d.Bytes("key"), d.Bytes("value")
		if d.Err() == nil && nt.Op != OpResync && (!nt.Table.Valid() || nt.Op == 0 || nt.Op >= opEnd) {
			d.Fail("notification table %d op %d", nt.Table, nt.Op)
		}
		dst = append(dst, nt)
	}
	d.End("poll response")
	return dst, false, d.Err()
}

func appendUvarints(dst []byte, vs ...uint64) []byte {
	for _, v := range vs {
		dst = binary.AppendUvarint(dst, v)
	}
	return dst
}

func decodeUvarints(src []byte, what string, vs ...*uint64) error {
	d := newDecoder(src)
	for _, v := range vs {
		*v = d.Uvarint(what)
	}
	d.End(what)
	return d.Err()
}

// subscribeRequest names a key, or a whole table (hasKey false).
func appendSubscribe(dst []byte, t Table, key []byte) []byte {
	dst = append(dst, byte(t))
	dst = appendBool(dst, key != nil)
	return appendBytes(dst, key)
}

func decodeSubscribe(src []byte) (t Table, key []byte, err error) {
	d := newDecoder(src)
	t = Table(d.Byte("table"))
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
