package gcs

import (
	"encoding/binary"
	"fmt"
)

// Typed records for the tables whose values the GCS itself gives meaning
// to. Each has an append-style encoder and a decoder that refuses
// malformed input with ErrMalformed.

// ObjectLocation is one member of an object's set in Objects: a node that
// holds a copy, and the object's size.
type ObjectLocation struct {
	Node string
	Size uint64
}

// AppendObjectLocation encodes l: node (length-prefixed), size (uvarint).
func AppendObjectLocation(dst []byte, l ObjectLocation) []byte {
	dst = appendBytes(dst, []byte(l.Node))
	return binary.AppendUvarint(dst, l.Size)
}

// DecodeObjectLocation decodes what AppendObjectLocation encoded.
func DecodeObjectLocation(src []byte) (ObjectLocation, error) {
	d := newDecoder(src)
	l := ObjectLocation{Node: string(d.Bytes("node")), Size: d.Uvarint("size")}
	d.End("object location")
	return l, d.Err()
}

// ObjectLocations decodes the value of an object's key in Objects.
func ObjectLocations(data []byte) ([]ObjectLocation, error) {
	ms, err := Members(data, nil)
	if err != nil {
		return nil, err
	}
	out := make([]ObjectLocation, 0, len(ms))
	for _, m := range ms {
		l, err := DecodeObjectLocation(m)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// NodeState is a node's state in Nodes.
type NodeState uint8

// Node states.
const (
	NodeAlive NodeState = iota + 1
	NodeDead
)

// String is the state's name ("alive", "dead").
func (s NodeState) String() string {
	switch s {
	case NodeAlive:
		return "alive"
	case NodeDead:
		return "dead"
	}
	return fmt.Sprintf("NodeState(%d)", uint8(s))
}

// NodeInfo is a node's value in Nodes.
type NodeInfo struct {
	Addr      string
	State     NodeState
	Resources []byte // encoded by the scheduler; opaque here
}

// AppendNodeInfo encodes n: state u8, address, resources.
func AppendNodeInfo(dst []byte, n NodeInfo) []byte {
	dst = append(dst, byte(n.State))
	dst = appendBytes(dst, []byte(n.Addr))
	return appendBytes(dst, n.Resources)
}

// DecodeNodeInfo decodes what AppendNodeInfo encoded; Resources aliases
// src.
func DecodeNodeInfo(src []byte) (NodeInfo, error) {
	d := newDecoder(src)
	n := NodeInfo{State: NodeState(d.Byte("node state"))}
	n.Addr = string(d.Bytes("address"))
	n.Resources = d.Bytes("resources")
	d.End("node info")
	if d.Err() == nil && (n.State < NodeAlive || n.State > NodeDead) {
		d.Fail("node state %d", n.State)
	}
	return n, d.Err()
}

// ActorState is an actor's state in Actors.
type ActorState uint8

// Actor states.
const (
	ActorPending ActorState = iota + 1
	ActorAlive
	ActorRestarting
	ActorDead
)

// String is the state's name ("pending", "alive", "restarting",
// "dead").
func (s ActorState) String() string {
	switch s {
	case ActorPending:
		return "pending"
	case ActorAlive:
		return "alive"
	case ActorRestarting:
		return "restarting"
	case ActorDead:
		return "dead"
	}
	return fmt.Sprintf("ActorState(%d)", uint8(s))
}

// ActorInfo is an actor's value in Actors: where it lives and its state.
// Subscribers to the actor's key see it move.
type ActorInfo struct {
	Node     string
	State    ActorState
	Restarts uint32
}

// AppendActorInfo encodes a: state u8, node, restarts (uvarint).
func AppendActorInfo(dst []byte, a ActorInfo) []byte {
	dst = append(dst, byte(a.State))
	dst = appendBytes(dst, []byte(a.Node))
	return binary.AppendUvarint(dst, uint64(a.Restarts))
}

// DecodeActorInfo decodes what AppendActorInfo encoded.
func DecodeActorInfo(src []byte) (ActorInfo, error) {
	d := newDecoder(src)
	a := ActorInfo{State: ActorState(d.Byte("actor state"))}
	a.Node = string(d.Bytes("node"))
	a.Restarts = d.Uint32("restarts")
	d.End("actor info")
	if d.Err() == nil && (a.State < ActorPending || a.State > ActorDead) {
		d.Fail("actor state %d", a.State)
	}
	return a, d.Err()
}
