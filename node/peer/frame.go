package peer

import (
	"encoding/binary"
	"errors"

	"manta/node"
	"manta/rpc/wire"
)

// The rpc methods a node serves to its peers.
const (
	// MethodRun runs a task (a RunRequest) and answers its RunReply once
	// it is done.
	MethodRun = 1
	// MethodRelease gives back holds on objects a RunReply lent: an
	// encoded list of object IDs, answered with nothing.
	MethodRelease = 2
	// MethodLoad asks a node that implements LoadReporter for its load,
	// answered as the node encodes it.
	MethodLoad = 3
	// MethodCancel cancels a task a MethodRun asked for (a
	// CancelRequest), answered with nothing: the run's reply then says
	// the task was cancelled.
	MethodCancel = 4
)

// ErrMalformed is wrapped by every error a decoder of this package
// returns.
var ErrMalformed = errors.New("peer: malformed message")

const frameVersion = 4

// Holder is a node that has a copy of an object: its peer server (where
// tasks run and holds are given back), its transfer server (where the
// bytes are pulled from), and, for a job node, the peer address of the
// cluster member it belongs to, which placement counts the copy on.
type Holder struct {
	Peer, Transfer, Member string
}

// Node is the member the holder's copy counts on: Member, or Peer.
func (h Holder) Node() string {
	if h.Member != "" {
		return h.Member
	}
	return h.Peer
}

func appendHolder(dst []byte, h Holder) []byte {
	dst = appendBytes(dst, []byte(h.Peer))
	dst = appendBytes(dst, []byte(h.Transfer))
	return appendBytes(dst, []byte(h.Member))
}

func readHolder(rd *wire.Reader) Holder {
	return Holder{Peer: string(rd.Bytes("peer")), Transfer: string(rd.Bytes("transfer")), Member: string(rd.Bytes("member"))}
}

// Object is what a node must know of an object another node holds: its
// value inline (Data), or its stored size, who holds it, and its owner:
// the node that keeps its lineage (it made it or Put it), which alone
// could make it again.
type Object struct {
	ID     wire.ObjectID
	Inline bool
	Data   []byte
	Size   int64
	From   []Holder
	Owner  Holder
}

// RunRequest asks a node to run a task the owner's node spilled to it.
// Objects describes every stored argument of Spec and every reference in
// Contained, so that the node can pull what it lacks.
type RunRequest struct {
	// Binary names the program whose function the task calls: the
	// SHA-256, in hex, of the owner's executable in the GCS function
	// table (package cluster). A node running another program runs the
	// task in a job node of that binary.
	Binary string
	// Caller and Seq order an actor's calls: the calling node's peer
	// address, and the call's number among its calls to Spec.Actor
	// (from 1). The actor's node submits a caller's calls in Seq order.
	Caller string
	Seq    uint64
	// Epoch is, for an actor's owner, which instance its creation or
	// call is for (the creation's Attempt): calls numbered for an
	// earlier instance are refused once a later one was created. 0 for
	// other callers.
	Epoch uint32
	// Member is the cluster member the caller belongs to: the caller
	// itself, or a job node's node. What the reply lends is lent to it,
	// and given back when it leaves the cluster.
	Member  string
	Spec    node.TaskSpec
	Objects []Object
}

// RunReply is a task's outcome: its encoded error (Failed), or its value
// inline (Data) or stored, Size bytes, on the node that ran it. That node
// holds a stored result, and every object of Contained it names itself as
// holder of, for the owner until the owner releases it (MethodRelease).
type RunReply struct {
	// From is the node that ran the task, holder of its stored result.
	From   Holder
	Failed []byte
	Data   []byte
	Stored bool
	Size   int64
	// Lent says the node that ran the task holds its result for the
	// owner until released: a stored result, or an actor's creation
	// (whose release ends the actor).
	Lent      bool
	Contained []Object
	// Checkpoint is the state an actor that replays saved once this call
	// ran (node.Options.Replay), for its owner to restart it from.
	Checkpoint []byte
}

// AppendBinary appends r's encoding.
func (r *RunRequest) AppendBinary(dst []byte) []byte {
	dst = append(dst, frameVersion)
	dst = appendBytes(dst, []byte(r.Binary))
	dst = appendBytes(dst, []byte(r.Caller))
	dst = binary.AppendUvarint(dst, r.Seq)
	dst = binary.AppendUvarint(dst, uint64(r.Epoch))
	dst = appendBytes(dst, []byte(r.Member))
	spec := r.Spec.AppendBinary(nil)
	dst = binary.AppendUvarint(dst, uint64(len(spec)))
	dst = append(dst, spec...)
	return appendObjects(dst, r.Objects)
}

// DecodeRunRequest decodes what RunRequest.AppendBinary wrote; the
// request aliases src.
func DecodeRunRequest(src []byte) (RunRequest, error) {
	rd := wire.NewReader(src, ErrMalformed)
	version(&rd)
	r := RunRequest{Binary: string(rd.Bytes("binary")), Caller: string(rd.Bytes("caller")), Seq: rd.Uvarint("seq"), Epoch: rd.Uint32("epoch"),
		Member: string(rd.Bytes("member"))}
	spec := rd.Bytes("spec")
	if rd.Err() == nil {
		s, err := node.DecodeTaskSpec(spec)
		if err != nil {
			return RunRequest{}, errors.Join(ErrMalformed, err)
		}
		r.Spec = s
	}
	r.Objects = readObjects(&rd)
	rd.End("run request")
	return r, rd.Err()
}

// AppendBinary appends r's encoding.
func (r *RunReply) AppendBinary(dst []byte) []byte {
	dst = append(dst, frameVersion)
	dst = appendHolder(dst, r.From)
	switch {
	case r.Failed != nil:
		dst = append(dst, 2)
		dst = appendBytes(dst, r.Failed)
	case r.Stored:
		dst = append(dst, 1)
		dst = binary.AppendUvarint(dst, uint64(r.Size))
	default:
		dst = append(dst, 0)
		dst = appendBytes(dst, r.Data)
	}
	lent := byte(0)
	if r.Lent {
		lent = 1
	}
	dst = append(dst, lent)
	dst = appendObjects(dst, r.Contained)
	return appendBytes(dst, r.Checkpoint)
}

// DecodeRunReply decodes what RunReply.AppendBinary wrote; the reply
// aliases src.
func DecodeRunReply(src []byte) (RunReply, error) {
	rd := wire.NewReader(src, ErrMalformed)
	version(&rd)
	var r RunReply
	r.From = readHolder(&rd)
	switch kind := rd.Byte("outcome"); {
	case rd.Err() != nil:
	case kind == 0:
		r.Data = rd.Bytes("value")
	case kind == 1:
		r.Stored, r.Size = true, size(&rd)
	case kind == 2:
		r.Failed = rd.Bytes("error")
		if r.Failed == nil {
			r.Failed = []byte{}
		}
	default:
		rd.Fail("outcome %d", kind)
	}
	switch lent := rd.Byte("lent"); {
	case rd.Err() != nil:
	case lent > 1:
		rd.Fail("lent %d", lent)
	default:
		r.Lent = lent == 1
	}
	r.Contained = readObjects(&rd)
	if cp := rd.Bytes("checkpoint"); len(cp) > 0 {
		r.Checkpoint = cp
	}
	rd.End("run reply")
	return r, rd.Err()
}

// CancelRequest asks a node to cancel a task it runs for the caller
// (MethodCancel), or will run: a cancel that comes before its run
// cancels the run when it comes.
type CancelRequest struct {
	// Binary is the task's RunRequest.Binary: the program whose job node
	// runs it.
	Binary string
	Task   wire.TaskID
}

// AppendBinary appends r's encoding.
func (r *CancelRequest) AppendBinary(dst []byte) []byte {
	dst = append(dst, frameVersion)
	dst = appendBytes(dst, []byte(r.Binary))
	return wire.AppendTaskID(dst, r.Task)
}

// DecodeCancelRequest decodes what CancelRequest.AppendBinary wrote.
func DecodeCancelRequest(src []byte) (CancelRequest, error) {
	rd := wire.NewReader(src, ErrMalformed)
	version(&rd)
	r := CancelRequest{Binary: string(rd.Bytes("binary"))}
	r.Task = rd.TaskID("task id")
	rd.End("cancel request")
	return r, rd.Err()
}

// AppendRelease appends a MethodRelease request: the member the objects
// were lent to, and their IDs.
func AppendRelease(dst []byte, member string, ids []wire.ObjectID) []byte {
	dst = append(dst, frameVersion)
	dst = appendBytes(dst, []byte(member))
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		dst = wire.AppendObjectID(dst, id)
	}
	return dst
}

// DecodeRelease decodes what AppendRelease wrote.
func DecodeRelease(src []byte) (member string, ids []wire.ObjectID, err error) {
	rd := wire.NewReader(src, ErrMalformed)
	version(&rd)
	member = string(rd.Bytes("member"))
	n := rd.Count("ids", wire.ObjectIDSize)
	ids = make([]wire.ObjectID, 0, n)
	for i := 0; i < n && rd.Err() == nil; i++ {
		ids = append(ids, objectID(&rd))
	}
	rd.End("release")
	return member, ids, rd.Err()
}

func version(rd *wire.Reader) {
	if v := rd.Byte("version"); rd.Err() == nil && v != frameVersion {
		rd.Fail("version %d", v)
	}
}

// maxSize bounds a stored object's size on the wire (1 TiB).
const maxSize = 1 << 40

func size(rd *wire.Reader) int64 {
	n := rd.Uvarint("size")
	if rd.Err() == nil && n > maxSize {
		rd.Fail("size %d", n)
	}
	return int64(n)
}

func objectID(rd *wire.Reader) wire.ObjectID {
	id, _ := wire.ObjectIDFromBytes(rd.Next(wire.ObjectIDSize, "object id"))
	return id
}

func appendObjects(dst []byte, objs []Object) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(objs)))
	for _, o := range objs {
		dst = wire.AppendObjectID(dst, o.ID)
		if o.Inline {
			dst = append(dst, 0)
			dst = appendBytes(dst, o.Data)
			continue
		}
		dst = append(dst, 1)
		dst = binary.AppendUvarint(dst, uint64(o.Size))
		dst = binary.AppendUvarint(dst, uint64(len(o.From)))
		for _, h := range o.From {
			dst = appendHolder(dst, h)
		}
		dst = appendHolder(dst, o.Owner)
	}
	return dst
}

func readObjects(rd *wire.Reader) []Object {
	n := rd.Count("objects", wire.ObjectIDSize+2)
	var objs []Object
	for i := 0; i < n && rd.Err() == nil; i++ {
		o := Object{ID: objectID(rd)}
		switch kind := rd.Byte("object kind"); {
		case rd.Err() != nil:
		case kind == 0:
			o.Inline, o.Data = true, rd.Bytes("object value")
		case kind == 1:
			o.Size = size(rd)
			nh := rd.Count("holders", 3)
			for j := 0; j < nh && rd.Err() == nil; j++ {
				o.From = append(o.From, readHolder(rd))
			}
			o.Owner = readHolder(rd)
		default:
			rd.Fail("object kind %d", kind)
		}
		objs = append(objs, o)
	}
	return objs
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}
