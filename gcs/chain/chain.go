package chain

import (
	"fmt"
	"strings"
)

// ReplicaID names one replica process for its whole life. IDs are never
// reused: a replica that was removed from its chain never comes back with
// its old state; a restarted process is a new replica that joins afresh.
// Zero is the monitor.
type ReplicaID uint64

// MonitorID is the address of the monitor in Messages.
const MonitorID ReplicaID = 0

// Member is a replica in a chain: its ID and the address clients and
// peers reach it at.
type Member struct {
	ID   ReplicaID
	Addr string
}

// Chain is one shard's replication chain as the monitor configured it:
// writes enter at the head (Members[0]) and are acknowledged once the tail
// (the last member) has them; reads are served by the tail. A Joiner is
// receiving the state from the tail and becomes the new tail once it has
// caught up. Every change makes a new Epoch.
type Chain struct {
	Shard   uint32
	Epoch   uint64
	Members []Member
	Joiner  Member // ID 0: none
}

// Head is the member that takes writes; zero if the chain is empty.
func (c Chain) Head() Member {
	if len(c.Members) == 0 {
		return Member{}
	}
	return c.Members[0]
}

// Tail is the member that serves reads and acknowledges writes.
func (c Chain) Tail() Member {
	if len(c.Members) == 0 {
		return Member{}
	}
	return c.Members[len(c.Members)-1]
}

// index is id's position in Members, or -1.
func (c Chain) index(id ReplicaID) int {
	for i, m := range c.Members {
		if m.ID == id {
			return i
		}
	}
	return -1
}

// Contains reports whether id is a member or the joiner.
func (c Chain) Contains(id ReplicaID) bool {
	_, ok := c.Member(id)
	return ok
}

// Member returns the member or joiner whose ID is id.
func (c Chain) Member(id ReplicaID) (Member, bool) {
	return c.find(func(m Member) bool { return id != 0 && m.ID == id })
}

// MemberAt returns the member or joiner that listens at addr.
func (c Chain) MemberAt(addr string) (Member, bool) {
	return c.find(func(m Member) bool { return m.Addr == addr })
}

func (c Chain) find(match func(Member) bool) (Member, bool) {
	for _, m := range c.Members {
		if match(m) {
			return m, true
		}
	}
	if c.Joiner.ID != 0 && match(c.Joiner) {
		return c.Joiner, true
	}
	return Member{}, false
}

// Clone returns a deep copy.
func (c Chain) Clone() Chain {
	c.Members = append([]Member(nil), c.Members...)
	return c
}

// String describes the chain as the tests and logs print it:
// "shard=0 epoch=3 chain=[1 2] joiner=4".
func (c Chain) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "shard=%d epoch=%d chain=[", c.Shard, c.Epoch)
	for i, m := range c.Members {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, m.ID)
	}
	b.WriteByte(']')
	if c.Joiner.ID != 0 {
		fmt.Fprintf(&b, " joiner=%d", c.Joiner.ID)
	}
	return b.String()
}
