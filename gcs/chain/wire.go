package chain

import (
	"encoding/binary"
	"fmt"

	"manta/gcs"
	"manta/rpc/wire"
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

// appendMessage encodes m onto dst. It panics on a kind it does not know,
// or a snapshot not expanded: that is a bug in the caller, not bad input.
func appendMessage(dst []byte, m *Message) []byte {
	if m.Kind == 0 || m.Kind >= msgEnd || m.lazy != nil {
		panic(fmt.Sprintf("BUG: chain.appendMessage of %v (lazy %v)", m.Kind, m.lazy != nil))
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

// decodeMessage parses src into m, reusing m.Entries. Byte fields alias
// src; strings are copied.
func decodeMessage(src []byte, m *Message) error {
	d := newDecoder(src)
	readMessage(&d, m)
	d.End("message")
	return d.Err()
}

func readMessage(d *wire.Reader, m *Message) {
	kind := MsgKind(d.Byte("kind"))
	if d.Err() != nil {
		return
	}
	if kind == 0 || kind >= msgEnd {
		d.Fail("unknown message kind %d", uint8(kind))
		return
	}
	entries := m.Entries[:0]
	*m = Message{Kind: kind}
	f := fieldsOf[kind]
	m.From = ReplicaID(d.Uvarint("from"))
	m.To = ReplicaID(d.Uvarint("to"))
	m.Shard = d.Uint32("shard")
	m.Epoch = d.Uvarint("epoch")
	if f&fSeq != 0 {
		m.Seq = d.Uvarint("seq")
	}
	if f&fEcho != 0 {
		m.Echo = d.Uvarint("echo")
	}
	if f&fFlag != 0 {
		m.Flag = d.Bool("flag")
	}
	if f&fOffset != 0 {
		m.Offset = d.Uvarint("offset")
	}
	if f&fTotal != 0 {
		m.Total = d.Uvarint("total")
	}
	if f&fSum != 0 {
		m.Sum = d.Fixed32("sum")
	}
	if f&fData != 0 {
		m.Data = d.Bytes("data")
	}
	if f&fAddr != 0 {
		m.Addr = string(d.Bytes("addr"))
	}
	if f&fEntries != 0 {
		n := d.Count("entries", 5)
		for i := 0; i < n && d.Err() == nil; i++ {
			entries = append(entries, Entry{
				Seq:    d.Uvarint("entry seq"),
				Client: d.Uvarint("entry client"),
				Req:    d.Uvarint("entry request"),
				Acked:  d.Uvarint("entry acked"),
				Cmd:    d.Bytes("entry command"),
			})
		}
		m.Entries = entries
	}
	if f&fChain != 0 {
		ReadChain(d, &m.Chain)
	}
}

// ReadChain reads what AppendChain encoded from d, which records any
// failure (d.Err).
func ReadChain(d *wire.Reader, c *Chain) {
	c.Shard = d.Uint32("chain shard")
	c.Epoch = d.Uvarint("chain epoch")
	n := d.Count("members", 2)
	c.Members = nil
	for i := 0; i < n && d.Err() == nil; i++ {
		m := readMember(d)
		if d.Err() == nil && m.ID == 0 {
			d.Fail("member with ID 0")
		}
		c.Members = append(c.Members, m)
	}
	c.Joiner = readMember(d)
}

func readMember(d *wire.Reader) Member {
	return Member{ID: ReplicaID(d.Uvarint("member ID")), Addr: string(d.Bytes("member address"))}
}

// AppendMessages encodes a batch: a count, then each message
// length-prefixed.
func AppendMessages(dst []byte, ms []Message) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ms)))
	for i := range ms {
		at := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		dst = appendMessage(dst, &ms[i])
		binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	}
	return dst
}

// DecodeMessages parses a batch into dst (reusing its messages' entry
// slices) and returns it.
func DecodeMessages(src []byte, dst []Message) ([]Message, error) {
	d := newDecoder(src)
	n := d.Count("messages", 5)
	dst = dst[:0]
	for i := 0; i < n && d.Err() == nil; i++ {
		body := d.Next(int(d.Fixed32("message length")), "message")
		if d.Err() != nil {
			break
		}
		if len(dst) < cap(dst) {
			dst = dst[:len(dst)+1]
		} else {
			dst = append(dst, Message{})
		}
		sub := newDecoder(body)
		readMessage(&sub, &dst[len(dst)-1])
		sub.End("message")
		if err := sub.Err(); err != nil {
			return dst, err
		}
	}
	d.End("messages")
	return dst, d.Err()
}

// newDecoder reads src with rpc/wire's Reader, failing with
// gcs.ErrMalformed.
func newDecoder(src []byte) wire.Reader { return wire.NewReader(src, gcs.ErrMalformed) }

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}
