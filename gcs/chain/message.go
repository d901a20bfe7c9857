package chain

import (
	"fmt"
	"hash/crc32"

	"manta/gcs"
)

// MsgKind says what a Message is.
type MsgKind uint8

// The messages of the chain protocol.
const (
	// MsgForward carries Entries from a replica to its successor (or from
	// the tail to the joiner), in sequence order.
	MsgForward MsgKind = iota + 1
	// MsgAck goes upstream: every entry up to Seq is committed (held by
	// the tail) as far as the sender knows. A joiner acks what it holds.
	MsgAck
	// MsgHello goes upstream from a replica that is missing entries after
	// Seq, asking its predecessor to resend them; from a joiner with Flag
	// set it asks for the snapshot.
	MsgHello
	// MsgSnapshot carries one chunk of the state, taken at Seq, from the
	// tail to the joiner: Data is the bytes at Offset of Total, of the
	// snapshot numbered Echo by the tail, whose CRC32C is Sum. Flag asks a
	// joiner that holds a state already to replace it.
	MsgSnapshot
	// MsgJoin asks the monitor to add the sender (at Addr) to Shard.
	MsgJoin
	// MsgHeartbeat tells the monitor the sender lives: Epoch is the chain
	// it knows, Seq what it has applied, Echo its clock when it sent this,
	// and Flag (from a tail) that its joiner has caught up.
	MsgHeartbeat
	// MsgConfig carries a Chain from the monitor; Echo, when not zero,
	// answers the heartbeat sent at that time and renews the receiver's
	// lease.
	MsgConfig
	msgEnd
)

var msgNames = [msgEnd]string{"", "forward", "ack", "hello", "snapshot", "join", "heartbeat", "config"}

// String is the kind's name, as Message.String prints it.
func (k MsgKind) String() string {
	if k > 0 && k < msgEnd {
		return msgNames[k]
	}
	return fmt.Sprintf("MsgKind(%d)", uint8(k))
}

// Message is every message of the chain protocol, flattened: Kind decides
// which fields mean something.
type Message struct {
	Kind    MsgKind
	From    ReplicaID
	To      ReplicaID
	Shard   uint32
	Epoch   uint64
	Seq     uint64
	Echo    uint64
	Flag    bool
	Offset  uint64
	Total   uint64
	Sum     uint32
	Data    []byte
	Addr    string
	Entries []Entry
	Chain   Chain

	// lazy is a captured snapshot not yet encoded (see Expand).
	lazy *pendingSnapshot
}

// pendingSnapshot is a MsgSnapshot whose state the driver encodes and
// chunks outside its lock: the state machine only captures it.
type pendingSnapshot struct {
	prefix []byte // the sessions
	app    gcs.Snapshot
	chunk  int
}

// Expand appends to dst the messages to send for m: m itself, or for a
// captured snapshot (a MsgSnapshot from Outbox) its encoded chunks, each
// with the whole snapshot's Total and CRC32C Sum. Encoding takes a while
// for a large state: drivers call it outside their locks, in send order,
// once per message. A message that will not be sent is Discarded instead.
func (m *Message) Expand(dst []Message) []Message {
	if m.lazy == nil {
		return append(dst, *m)
	}
	data := m.lazy.app.AppendTo(m.lazy.prefix)
	total, sum := uint64(len(data)), crc(data)
	for off := 0; ; {
		n := min(m.lazy.chunk, len(data)-off)
		c := *m
		c.lazy = nil
		c.Offset, c.Total, c.Sum, c.Data = uint64(off), total, sum, data[off:off+n:off+n]
		dst = append(dst, c)
		off += n
		if off >= len(data) {
			return dst
		}
	}
}

// Captured reports whether m is a captured snapshot from Outbox, not yet
// Expanded into its chunks.
func (m *Message) Captured() bool { return m.lazy != nil }

// Discard releases what a message from Outbox that will not be sent (nor
// Expanded) holds.
func (m *Message) Discard() {
	if m.lazy != nil {
		m.lazy.app.Release()
	}
}

// Entry is one write in a shard's sequence. Client and Req identify it for
// deduplication (Client 0: none); Acked is the client's promise that it
// will never retry a request below it, so the replicas may forget those.
// Cmd is the write itself, opaque to the chain (an encoded Op).
type Entry struct {
	Seq    uint64
	Client uint64
	Req    uint64
	Acked  uint64
	Cmd    []byte
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// String describes m in one line, as the script tests print it:
// "1→2 forward seq=3".
func (m *Message) String() string {
	s := fmt.Sprintf("%d→%d %v", m.From, m.To, m.Kind)
	switch m.Kind {
	case MsgForward:
		if n := len(m.Entries); n > 0 {
			if n == 1 {
				s += fmt.Sprintf(" seq=%d", m.Entries[0].Seq)
			} else {
				s += fmt.Sprintf(" seq=%d..%d", m.Entries[0].Seq, m.Entries[n-1].Seq)
			}
		}
	case MsgAck:
		s += fmt.Sprintf(" seq=%d", m.Seq)
	case MsgHello:
		s += fmt.Sprintf(" seq=%d", m.Seq)
		if m.Flag {
			s += " snapshot"
		}
	case MsgSnapshot:
		s += fmt.Sprintf(" seq=%d id=%d bytes=%d..%d/%d", m.Seq, m.Echo, m.Offset, m.Offset+uint64(len(m.Data)), m.Total)
		if m.Flag {
			s += " replace"
		}
	case MsgJoin:
		s += fmt.Sprintf(" shard=%d", m.Shard)
	case MsgHeartbeat:
		s += fmt.Sprintf(" epoch=%d seq=%d", m.Epoch, m.Seq)
		if m.Flag {
			s += " synced"
		}
	case MsgConfig:
		s += " " + m.Chain.String()
	}
	return s
}
