package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Kind says what a message is and so which fields it carries.
type Kind uint8

// Message kinds. Node→worker: Execute, CreateActor, GetReply, WaitReply,
// Shutdown, CreateReply, LookupReply. Worker→node: Done, Submit, Get,
// Wait, Put, Blocked, Unblocked, AddRef, DelRef, ActorReady, Create,
// LookupActor, KillActor, Checkpoint. Both ways: Cancel.
const (
	KindExecute Kind = iota + 1
	KindCreateActor
	KindGetReply
	KindWaitReply
	KindShutdown
	KindDone
	KindSubmit
	KindGet
	KindWait
	KindPut
	KindBlocked
	KindUnblocked
	KindAddRef
	KindDelRef
	KindActorReady
	KindCreate
	KindCreateReply
	KindCancel
	KindLookupActor
	KindLookupReply
	KindKillActor
	// KindCheckpoint carries an actor's saved state, taken once the call
	// Task returned and sent before that call's Done.
	KindCheckpoint
	// KindDevices gives a worker process the GPUs (Devices) of the lease
	// or actor its next Execute or CreateActor is for: sent only when they
	// differ from what it has.
	KindDevices
	kindEnd
)

var kindNames = [...]string{"", "Execute", "CreateActor", "GetReply", "WaitReply", "Shutdown",
	"Done", "Submit", "Get", "Wait", "Put", "Blocked", "Unblocked", "AddRef", "DelRef", "ActorReady",
	"Create", "CreateReply", "Cancel", "LookupActor", "LookupReply", "KillActor", "Checkpoint", "Devices"}

// String names the kind, as in logs.
func (k Kind) String() string {
	if k > 0 && k < kindEnd {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Status is the outcome carried by Done, ActorReady and each Result.
type Status uint8

// Outcomes: StatusOK carries a value, StatusError an encoded error.
// StatusExists answers a Create for an object the node has already (a task
// run again puts the same value under the same ID): nothing to write.
const (
	StatusOK Status = iota
	StatusError
	StatusExists
)

// SubmitKind says what a Submit asks for.
type SubmitKind uint8

// What a Submit asks for: a task, an actor's creation, or a method call.
const (
	SubmitTask SubmitKind = iota
	SubmitActor
	SubmitActorCall
)

// Slot locates a value in the node's shared-memory object store: the
// offset and size of its data in the store's segment.
type Slot struct{ Offset, Size uint64 }

// Arg is one argument of a task: an inline encoded value, a reference to
// an object the node resolves before the task runs (worker→node only), or
// a value in the object store (node→worker only).
type Arg struct {
	IsRef  bool
	Ref    ObjectID
	Stored bool // the value is in the object store at Slot, not in Data
	Slot   Slot
	Data   []byte
}

// Result is one value in a GetReply, or one of several return values in a
// Done: inline in Data, or, when Stored, in the object store at Slot
// (pinned for the worker until it releases its hold on the object). IDs
// are the references the value contains (Done only).
type Result struct {
	Status Status
	Stored bool
	Slot   Slot
	Data   []byte
	IDs    []ObjectID
}

// Msg is every message, flattened: the kind decides which fields are on the
// wire (see fieldsOf); the others are left as they were. Decoding into a
// reused Msg keeps its slices' capacity, so steady-state decoding does not
// allocate.
type Msg struct {
	Kind           Kind
	Task           TaskID     // Execute, CreateActor, Done, Submit, ActorReady, Cancel, LookupReply (the actor), Checkpoint (the call)
	Actor          TaskID     // Execute (method calls), Submit (method calls), KillActor
	Parent         TaskID     // Submit: the task it was submitted from, if known
	Attempt        uint32     // Execute, CreateActor
	Worker         uint32     // Execute, CreateActor, Blocked, Unblocked: the scheduler's worker (lease slot)
	Deadline       int64      // Execute, CreateActor, Submit: unix nanoseconds, 0 for none
	Status         Status     // Done, ActorReady, LookupReply
	Submit         SubmitKind // Submit
	Returns        uint32     // Submit: how many separate return values (0: one, the usual)
	Name           []byte     // function, actor type or method name; LookupActor: the actor's name
	Opts           []byte     // Submit: the call's options, encoded by the caller (empty: none)
	ReqID          uint64     // Get, Wait and their replies
	K              uint32     // Wait: how many must be ready
	TimeoutNanos   int64      // Get, Wait: <= 0 means no timeout
	MaxConcurrency uint32     // CreateActor
	// CheckpointEvery: CreateActor, the calls between the actor's saved
	// states (0: only when a call asks).
	CheckpointEvery uint32
	Object          ObjectID   // Put, Create
	Stored          bool       // Done, Put: the value was written to the store slot the node granted
	Slot            Slot       // Create (Size wanted), CreateReply (where to write)
	Data            []byte     // Done, Put, ActorReady: a value or an encoded error; CreateReply, LookupReply: an encoded error; CreateActor, Checkpoint: an actor's saved state
	Args            []Arg      // Execute, CreateActor, Submit
	IDs             []ObjectID // Get, Wait, AddRef, DelRef; refs contained in Done, Submit, Put
	Results         []Result   // GetReply; Done: the values of a task with several returns
	Ready           []uint32   // WaitReply: indexes into the Wait's IDs
	Devices         []uint32   // Devices: the GPUs' indexes on the node
}

type fieldSet uint32

const (
	fTask fieldSet = 1 << iota
	fActor
	fAttempt
	fStatus
	fSubmit
	fName
	fReqID
	fK
	fTimeout
	fMaxConcurrency
	fObject
	fData
	fArgs
	fIDs
	fResults
	fReady
	fStored
	fSlot
	fParent
	fWorker
	fDeadline
	fReturns
	fOpts
	fCheckpointEvery
	fDevices
)

var fieldsOf = [kindEnd]fieldSet{
	KindExecute:     fTask | fActor | fAttempt | fWorker | fDeadline | fName | fArgs,
	KindCreateActor: fTask | fAttempt | fWorker | fName | fMaxConcurrency | fCheckpointEvery | fData | fArgs,
	KindGetReply:    fReqID | fResults,
	KindWaitReply:   fReqID | fReady,
	KindShutdown:    0,
	KindDone:        fTask | fStatus | fStored | fData | fIDs | fResults,
	KindSubmit:      fTask | fActor | fParent | fDeadline | fSubmit | fReturns | fName | fOpts | fArgs | fIDs,
	KindGet:         fReqID | fTimeout | fIDs,
	KindWait:        fReqID | fK | fTimeout | fIDs,
	KindPut:         fObject | fStored | fData | fIDs,
	KindBlocked:     fWorker,
	KindUnblocked:   fWorker,
	KindAddRef:      fIDs,
	KindDelRef:      fIDs,
	KindActorReady:  fTask | fStatus | fData,
	KindCreate:      fReqID | fObject | fSlot,
	KindCreateReply: fReqID | fStatus | fSlot | fData,
	KindCancel:      fTask,
	KindLookupActor: fReqID | fName,
	KindLookupReply: fReqID | fStatus | fTask | fName | fData,
	KindKillActor:   fActor,
	KindCheckpoint:  fTask | fData,
	KindDevices:     fDevices,
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("wire: malformed message")

// Append encodes m onto dst and returns the extended buffer. It panics on a
// kind it does not know: that is a bug in the caller, not bad input.
func Append(dst []byte, m *Msg) []byte {
	if m.Kind == 0 || m.Kind >= kindEnd {
		panic(fmt.Sprintf("BUG: wire.Append of %v", m.Kind))
	}
	f := fieldsOf[m.Kind]
	dst = append(dst, byte(m.Kind))
	if f&fTask != 0 {
		dst = AppendTaskID(dst, m.Task)
	}
	if f&fActor != 0 {
		dst = AppendTaskID(dst, m.Actor)
	}
	if f&fParent != 0 {
		dst = AppendTaskID(dst, m.Parent)
	}
	if f&fAttempt != 0 {
		dst = binary.AppendUvarint(dst, uint64(m.Attempt))
	}
	if f&fWorker != 0 {
		dst = binary.AppendUvarint(dst, uint64(m.Worker))
	}
	if f&fDeadline != 0 {
		dst = binary.AppendVarint(dst, m.Deadline)
	}
	if f&fStatus != 0 {
		dst = append(dst, byte(m.Status))
	}
	if f&fSubmit != 0 {
		dst = append(dst, byte(m.Submit))
	}
	if f&fReturns != 0 {
		dst = binary.AppendUvarint(dst, uint64(m.Returns))
	}
	if f&fName != 0 {
		dst = appendBytes(dst, m.Name)
	}
	if f&fOpts != 0 {
		dst = appendBytes(dst, m.Opts)
	}
	if f&fReqID != 0 {
		dst = binary.AppendUvarint(dst, m.ReqID)
	}
	if f&fK != 0 {
		dst = binary.AppendUvarint(dst, uint64(m.K))
	}
	if f&fTimeout != 0 {
		dst = binary.AppendVarint(dst, m.TimeoutNanos)
	}
	if f&fMaxConcurrency != 0 {
		dst = binary.AppendUvarint(dst, uint64(m.MaxConcurrency))
	}
	if f&fCheckpointEvery != 0 {
		dst = binary.AppendUvarint(dst, uint64(m.CheckpointEvery))
	}
	if f&fObject != 0 {
		dst = AppendObjectID(dst, m.Object)
	}
	if f&fStored != 0 {
		dst = appendBool(dst, m.Stored)
	}
	if f&fSlot != 0 {
		dst = appendSlot(dst, m.Slot)
	}
	if f&fData != 0 {
		dst = appendBytes(dst, m.Data)
	}
	if f&fArgs != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(m.Args)))
		for i := range m.Args {
			a := &m.Args[i]
			switch {
			case a.IsRef:
				dst = append(dst, argRef)
				dst = AppendObjectID(dst, a.Ref)
			case a.Stored:
				dst = append(dst, argStored)
				dst = appendSlot(dst, a.Slot)
			default:
				dst = append(dst, argInline)
				dst = appendBytes(dst, a.Data)
			}
		}
	}
	if f&fIDs != 0 {
		dst = appendIDs(dst, m.IDs)
	}
	if f&fResults != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(m.Results)))
		for i := range m.Results {
			r := &m.Results[i]
			dst = append(dst, byte(r.Status))
			dst = appendBool(dst, r.Stored)
			if r.Stored {
				dst = appendSlot(dst, r.Slot)
			} else {
				dst = appendBytes(dst, r.Data)
			}
			dst = appendIDs(dst, r.IDs)
		}
	}
	if f&fReady != 0 {
		dst = appendUint32s(dst, m.Ready)
	}
	if f&fDevices != 0 {
		dst = appendUint32s(dst, m.Devices)
	}
	return dst
}

func appendUint32s(dst []byte, xs []uint32) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(xs)))
	for _, x := range xs {
		dst = binary.AppendUvarint(dst, uint64(x))
	}
	return dst
}

func appendIDs(dst []byte, ids []ObjectID) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		dst = AppendObjectID(dst, id)
	}
	return dst
}

// AppendTaskID appends t in its fixed 16-byte form (Reader.TaskID reads
// it).
func AppendTaskID(dst []byte, t TaskID) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, t.Hi)
	return binary.LittleEndian.AppendUint64(dst, t.Lo)
}

// Argument encodings.
const (
	argInline byte = iota
	argRef
	argStored
)

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendSlot(dst []byte, s Slot) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(dst, s.Offset), s.Size)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// CloneArgs copies args, whose inline bytes may alias a decode buffer, into
// memory of their own: one allocation for all their bytes.
func CloneArgs(args []Arg) []Arg {
	size := 0
	for _, a := range args {
		size += len(a.Data)
	}
	buf := make([]byte, 0, size)
	out := make([]Arg, len(args))
	for i, a := range args {
		out[i] = a
		if !a.IsRef {
			start := len(buf)
			buf = append(buf, a.Data...)
			out[i].Data = buf[start:len(buf):len(buf)]
		}
	}
	return out
}
