package gcs

import (
	"encoding/binary"
	"fmt"
)

// Message encoding, for replicas and the monitor over rpc:
//
//	kind u8 | from | to | shard | epoch | fields of the kind, in this order:
//	  seq | echo | flag u8 | offset | total | sum | data | addr | entries | chain
//
// Integers are uvarints, except sum (u32 little-endian); byte fields are
// length-prefixed. Which fields a kind has is fixed (fieldsOf).

type msgFields uint16

const (
	fSeq msgFields = 1 << iota
	fEcho
	fFlag
	fOffset
	fTotal
	fSum
	fData
	fAddr
	fEntries
	fChain
)

var fieldsOf = [msgEnd]msgFields{
	MsgForward:   fEntries,
	MsgAck:       fSeq,
	MsgHello:     fSeq | fFlag,
	MsgSnapshot:  fSeq | fEcho | fFlag | fOffset | fTotal | fSum | fData,
	MsgJoin:      fEcho | fAddr,
	MsgHeartbeat: fSeq | fEcho | fFlag | fAddr,
	MsgConfig:    fEcho | fChain,
}

// AppendMessage encodes m onto dst. It panics on a kind it does not know:
// that is a bug in the caller, not bad input.
func AppendMessage(dst []byte, m *Message) []byte {
	if m.Kind == 0 || m.Kind >= msgEnd || m.lazy != nil {
		panic(fmt.Sprintf("BUG: gcs.AppendMessage of %v (lazy %v)", m.Kind, m.lazy != nil))
	}
	f := fieldsOf[m.Kind]
	dst = append(dst, byte(m.Kind))
	dst = binary.AppendUvarint(dst, uint64(m.From))
	dst = binary.AppendUvarint(dst, uint64(m.To))
	dst = binary.AppendUvarint(dst, uint64(m.Shard))
	dst = binary.AppendUvarint(dst, m.Epoch)
	if f&fSeq != 0 {
		dst = binary.AppendUvarint(dst, m.Seq)
	}
	if f&fEcho != 0 {
		dst = binary.AppendUvarint(dst, m.Echo)
	}
	if f&fFlag != 0 {
		dst = appendBool(dst, m.Flag)
	}
	if f&fOffset != 0 {
		dst = binary.AppendUvarint(dst, m.Offset)
	}
	if f&fTotal != 0 {
		dst = binary.AppendUvarint(dst, m.Total)
	}
	if f&fSum != 0 {
		dst = binary.LittleEndian.AppendUint32(dst, m.Sum)
	}
	if f&fData != 0 {
		dst = appendBytes(dst, m.Data)
	}
	if f&fAddr != 0 {
		dst = appendBytes(dst, []byte(m.Addr))
	}
	if f&fEntries != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(m.Entries)))
		for i := range m.Entries {
			e := &m.Entries[i]
			dst = binary.AppendUvarint(dst, e.Seq)
			dst = binary.AppendUvarint(dst, e.Client)
			dst = binary.AppendUvarint(dst, e.Req)
			dst = binary.AppendUvarint(dst, e.Acked)
			dst = appendBytes(dst, e.Cmd)
		}
	}
	if f&fChain != 0 {
		dst = AppendChain(dst, &m.Chain)
	}
	return dst
}

// AppendChain encodes c: shard, epoch, member count, each member's ID and
// address, then the joiner's ID and address.
func AppendChain(dst []byte, c *Chain) []byte {
	dst = binary.AppendUvarint(dst, uint64(c.Shard))
	dst = binary.AppendUvarint(dst, c.Epoch)
	dst = binary.AppendUvarint(dst, uint64(len(c.Members)))
	for _, m := range c.Members {
		dst = appendMemberID(dst, m)
	}
	return appendMemberID(dst, c.Joiner)
}

func appendMemberID(dst []byte, m Member) []byte {
	dst = binary.AppendUvarint(dst, uint64(m.ID))
	return appendBytes(dst, []byte(m.Addr))
}

// DecodeMessage parses src into m, reusing m.Entries. Byte fields alias
// src; strings are copied.
func DecodeMessage(src []byte, m *Message) error {
	d := decoder{buf: src}
	d.message(m)
	d.end("message")
	return d.err
}

func (d *decoder) message(m *Message) {
	kind := MsgKind(d.byte("kind"))
	if d.err != nil {
		return
	}
	if kind == 0 || kind >= msgEnd {
		d.fail("unknown message kind %d", uint8(kind))
		return
	}
	entries := m.Entries[:0]
	*m = Message{Kind: kind}
	f := fieldsOf[kind]
	m.From = ReplicaID(d.uvarint("from"))
	m.To = ReplicaID(d.uvarint("to"))
	m.Shard = d.uint32("shard")
	m.Epoch = d.uvarint("epoch")
	if f&fSeq != 0 {
		m.Seq = d.uvarint("seq")
	}
	if f&fEcho != 0 {
		m.Echo = d.uvarint("echo")
	}
	if f&fFlag != 0 {
		m.Flag = d.bool("flag")
	}
	if f&fOffset != 0 {
		m.Offset = d.uvarint("offset")
	}
	if f&fTotal != 0 {
		m.Total = d.uvarint("total")
	}
	if f&fSum != 0 {
		m.Sum = d.fixed32("sum")
	}
	if f&fData != 0 {
		m.Data = d.bytes("data")
	}
	if f&fAddr != 0 {
		m.Addr = string(d.bytes("addr"))
	}
	if f&fEntries != 0 {
		n := d.count("entries", 5)
		for i := 0; i < n && d.err == nil; i++ {
			entries = append(entries, Entry{
				Seq:    d.uvarint("entry seq"),
				Client: d.uvarint("entry client"),
				Req:    d.uvarint("entry request"),
				Acked:  d.uvarint("entry acked"),
				Cmd:    d.bytes("entry command"),
			})
		}
		m.Entries = entries
	}
	if f&fChain != 0 {
		d.chain(&m.Chain)
	}
}

// DecodeChain parses what AppendChain encoded.
func DecodeChain(src []byte, c *Chain) error {
	d := decoder{buf: src}
	d.chain(c)
	d.end("chain")
	return d.err
}

func (d *decoder) chain(c *Chain) {
	c.Shard = d.uint32("chain shard")
	c.Epoch = d.uvarint("chain epoch")
	n := d.count("members", 2)
	c.Members = nil
	for i := 0; i < n && d.err == nil; i++ {
		m := d.member()
		if d.err == nil && m.ID == 0 {
			d.fail("member with ID 0")
		}
		c.Members = append(c.Members, m)
	}
	c.Joiner = d.member()
}

func (d *decoder) member() Member {
	return Member{ID: ReplicaID(d.uvarint("member ID")), Addr: string(d.bytes("member address"))}
}

func (d *decoder) fixed32(what string) uint32 {
	if d.err != nil {
		return 0
	}
	if len(d.buf) < 4 {
		d.fail("truncated %s", what)
		return 0
	}
	v := binary.LittleEndian.Uint32(d.buf)
	d.buf = d.buf[4:]
	return v
}

// AppendMessages encodes a batch: a count, then each message
// length-prefixed.
func AppendMessages(dst []byte, ms []Message) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ms)))
	for i := range ms {
		at := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		dst = AppendMessage(dst, &ms[i])
		binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	}
	return dst
}

// DecodeMessages parses a batch into dst (reusing its messages' entry
// slices) and returns it.
func DecodeMessages(src []byte, dst []Message) ([]Message, error) {
	d := decoder{buf: src}
	n := d.count("messages", 5)
	dst = dst[:0]
	for i := 0; i < n && d.err == nil; i++ {
		size := d.fixed32("message length")
		if d.err == nil && uint64(size) > uint64(len(d.buf)) {
			d.fail("message length %d exceeds the %d bytes left", size, len(d.buf))
			break
		}
		if len(dst) < cap(dst) {
			dst = dst[:len(dst)+1]
		} else {
			dst = append(dst, Message{})
		}
		sub := decoder{buf: d.buf[:size]}
		sub.message(&dst[len(dst)-1])
		sub.end("message")
		if sub.err != nil {
			d.err = sub.err
			break
		}
		d.buf = d.buf[size:]
	}
	d.end("messages")
	return dst, d.err
}
