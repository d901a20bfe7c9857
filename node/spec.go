package node

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"

	"manta/rpc/wire"
)

// ErrMalformedSpec is wrapped by every error DecodeTaskSpec returns.
var ErrMalformedSpec = errors.New("node: malformed task specification")

// specVersion prefixes an encoded TaskSpec.
const specVersion = 2

// AppendBinary appends s in a compact binary form, the one a GCS task
// table stores (see DecodeTaskSpec): references as IDs, inline arguments
// as bytes. Watched, a driver's own concern, does not travel.
func (s *TaskSpec) AppendBinary(dst []byte) []byte {
	dst = append(dst, specVersion, byte(s.Kind))
	dst = wire.AppendTaskID(dst, s.ID)
	dst = wire.AppendTaskID(dst, s.Actor)
	dst = wire.AppendTaskID(dst, s.Parent)
	dst = binary.AppendVarint(dst, s.Deadline)
	dst = binary.AppendUvarint(dst, uint64(s.Attempt))
	dst = binary.AppendUvarint(dst, uint64(s.Returns))
	dst = appendBytes(dst, s.Name)
	dst = binary.AppendUvarint(dst, uint64(len(s.Args)))
	for _, a := range s.Args {
		if a.IsRef {
			dst = append(dst, 1)
			dst = wire.AppendObjectID(dst, a.Ref)
		} else {
			dst = append(dst, 0)
			dst = appendBytes(dst, a.Data)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.Contained)))
	for _, id := range s.Contained {
		dst = wire.AppendObjectID(dst, id)
	}
	dst = appendBytes(dst, s.Checkpoint)
	if s.Options == nil {
		return append(dst, 0)
	}
	o := s.Options
	dst = append(dst, 1)
	names := make([]string, 0, len(o.Resources))
	for name := range o.Resources {
		names = append(names, name)
	}
	slices.Sort(names)
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, name := range names {
		dst = appendBytes(dst, []byte(name))
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(o.Resources[name]))
	}
	dst = appendBytes(dst, []byte(o.Key))
	dst = binary.AppendVarint(dst, int64(o.MaxRetries))
	dst = binary.AppendVarint(dst, int64(o.MaxRestarts))
	dst = binary.AppendVarint(dst, int64(o.MaxTaskRetries))
	dst = binary.AppendVarint(dst, int64(o.MaxConcurrency))
	dst = binary.AppendVarint(dst, int64(o.CheckpointEvery))
	dst = appendBytes(dst, []byte(o.Name))
	return append(dst, flags(o.Detached, o.Unknown, o.Replay))
}

// DecodeTaskSpec decodes what AppendBinary wrote. The spec aliases src.
func DecodeTaskSpec(src []byte) (TaskSpec, error) {
	r := wire.NewReader(src, ErrMalformedSpec)
	var s TaskSpec
	if v := r.Byte("version"); r.Err() == nil && v != specVersion {
		r.Fail("version %d", v)
	}
	s.Kind = wire.SubmitKind(r.Byte("kind"))
	if r.Err() == nil && s.Kind > wire.SubmitActorCall {
		r.Fail("kind %d", s.Kind)
	}
	s.ID, s.Actor, s.Parent = r.TaskID("task id"), r.TaskID("task id"), r.TaskID("task id")
	s.Deadline = r.Varint("deadline")
	s.Attempt = r.Uint32("attempt")
	s.Returns = int(r.Uint32("returns"))
	s.Name = r.Bytes("name")
	nargs := r.Count("args", 2)
	for i := 0; i < nargs && r.Err() == nil; i++ {
		switch flag := r.Byte("arg flag"); flag {
		case 0:
			s.Args = append(s.Args, wire.Arg{Data: r.Bytes("arg")})
		case 1:
			s.Args = append(s.Args, wire.Arg{IsRef: true, Ref: readObjectID(&r)})
		default:
			r.Fail("arg flag %d", flag)
		}
	}
	ncont := r.Count("contained", wire.ObjectIDSize)
	for i := 0; i < ncont && r.Err() == nil; i++ {
		s.Contained = append(s.Contained, readObjectID(&r))
	}
	if cp := r.Bytes("checkpoint"); len(cp) > 0 {
		s.Checkpoint = cp
	}
	switch has := r.Byte("options flag"); {
	case r.Err() != nil:
	case has == 1:
		s.Options = readOptions(&r)
	case has != 0:
		r.Fail("options flag %d", has)
	}
	r.End("task specification")
	if err := r.Err(); err != nil {
		return TaskSpec{}, err
	}
	return s, nil
}

func readOptions(r *wire.Reader) *Options {
	o := &Options{}
	nres := r.Count("resources", 9)
	for i := 0; i < nres && r.Err() == nil; i++ {
		name := string(r.Bytes("resource name"))
		q := math.Float64frombits(r.Fixed64("resource quantity"))
		if !(q >= 0) || math.IsInf(q, 0) {
			r.Fail("resource %q quantity %v", name, q)
		}
		if o.Resources == nil {
			o.Resources = map[string]float64{}
		}
		if _, dup := o.Resources[name]; dup {
			r.Fail("resource %q twice", name)
		}
		o.Resources[name] = q
	}
	o.Key = string(r.Bytes("key"))
	o.MaxRetries = int(r.Varint("max retries"))
	o.MaxRestarts = int(r.Varint("max restarts"))
	o.MaxTaskRetries = int(r.Varint("max task retries"))
	o.MaxConcurrency = int(r.Varint("max concurrency"))
	o.CheckpointEvery = int(r.Varint("checkpoint every"))
	o.Name = string(r.Bytes("actor name"))
	switch f := r.Byte("option flags"); {
	case f&^7 != 0:
		r.Fail("option flags %#x", f)
	default:
		o.Detached, o.Unknown, o.Replay = f&1 != 0, f&2 != 0, f&4 != 0
	}
	return o
}

func flags(bits ...bool) byte {
	var f byte
	for i, b := range bits {
		if b {
			f |= 1 << i
		}
	}
	return f
}

func readObjectID(r *wire.Reader) wire.ObjectID {
	id, _ := wire.ObjectIDFromBytes(r.Next(wire.ObjectIDSize, "object id"))
	return id
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}
