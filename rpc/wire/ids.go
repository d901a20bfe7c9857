package wire

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
)

// TaskID names a task (and an actor: an actor's ID is its creation task's
// ID). It is 128 bits so IDs derived by hashing never collide in practice.
type TaskID struct{ Hi, Lo uint64 }

// IsZero reports whether t is the zero ID, which names no task.
func (t TaskID) IsZero() bool { return t.Hi == 0 && t.Lo == 0 }

// Child returns the ID of the index-th task (counting from 1) that task t
// submits. It is a pure function of its inputs: a task run again that
// submits the same calls in the same order re-creates the same IDs, and
// with them its results' object IDs. Indexes from 1<<63 up are PutID's.
func (t TaskID) Child(index uint64) TaskID {
	hi := mix64(t.Hi ^ mix64(index+0x9e3779b97f4a7c15))
	lo := mix64(t.Lo ^ mix64(hi+index))
	if hi == 0 && lo == 0 {
		lo = 1
	}
	return TaskID{Hi: hi, Lo: lo}
}

// mix64 is the splitmix64 finaliser: a cheap bijective scrambler.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// CompareTaskIDs orders task IDs by Hi, then Lo (for slices.SortFunc).
func CompareTaskIDs(a, b TaskID) int {
	return cmp.Or(cmp.Compare(a.Hi, b.Hi), cmp.Compare(a.Lo, b.Lo))
}

// String is the ID in 32 hex digits, high half first.
func (t TaskID) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], t.Hi)
	binary.BigEndian.PutUint64(b[8:], t.Lo)
	return hex.EncodeToString(b[:])
}

// ObjectID names an immutable value: the Index-th value made by task Task.
// Return values use indexes from 1. Values that are not a task's result use
// PutIndexBase upwards, so the two never meet: Put's (see PutID), and the
// large arguments of a call, stored under the call's task ID before it is
// submitted (PutIndexBase+i for argument i).
type ObjectID struct {
	Task  TaskID
	Index uint32
}

// PutIndexBase is the first index of objects that are not a task's result.
const PutIndexBase = 1 << 31

// PutID is the ID of the k-th value (counting from 1) that task t makes
// with Put. Puts count apart from submissions, so adding a Put to a task
// leaves its children's IDs as they were.
func PutID(t TaskID, k uint64) ObjectID {
	return ObjectID{Task: t.Child(1<<63 | k), Index: PutIndexBase}
}

// ReturnID is the ID of task t's single return value.
func ReturnID(t TaskID) ObjectID { return ObjectID{Task: t, Index: 1} }

// IsZero reports whether o is the zero ID, which names no object.
func (o ObjectID) IsZero() bool { return o.Task.IsZero() && o.Index == 0 }

// String is the task ID's 32 hex digits followed by the index's 8.
func (o ObjectID) String() string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], o.Index)
	return o.Task.String() + hex.EncodeToString(b[:])
}

// ObjectIDSize is the encoded size of an ObjectID.
const ObjectIDSize = 20

// AppendObjectID appends o in its fixed 20-byte form.
func AppendObjectID(dst []byte, o ObjectID) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, o.Task.Hi)
	dst = binary.LittleEndian.AppendUint64(dst, o.Task.Lo)
	return binary.LittleEndian.AppendUint32(dst, o.Index)
}

// ObjectIDFromBytes decodes the fixed 20-byte form; ok is false if b is not
// exactly that long.
func ObjectIDFromBytes(b []byte) (o ObjectID, ok bool) {
	if len(b) != ObjectIDSize {
		return o, false
	}
	o.Task.Hi = binary.LittleEndian.Uint64(b)
	o.Task.Lo = binary.LittleEndian.Uint64(b[8:])
	o.Index = binary.LittleEndian.Uint32(b[16:])
	return o, true
}
