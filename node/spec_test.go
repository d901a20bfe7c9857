package node

import (
	"errors"
	"reflect"
	"testing"

	"manta/rpc/wire"
)

func sampleSpecs() []TaskSpec {
	parent := wire.TaskID{Hi: 7, Lo: 9}
	return []TaskSpec{
		{ID: wire.TaskID{Lo: 1}, Kind: wire.SubmitTask, Name: []byte("f")},
		{ID: parent.Child(3), Kind: wire.SubmitTask, Name: []byte("train"), Parent: parent, Deadline: 1234567, Returns: 2,
			Args:      []wire.Arg{{Data: []byte("inline")}, {IsRef: true, Ref: wire.ReturnID(parent)}},
			Contained: []wire.ObjectID{{Task: parent, Index: wire.PutIndexBase}},
			Options:   &Options{Resources: map[string]float64{"CPU": 2, "GPU": 0.5}, Key: "fn:train", MaxRetries: -1}},
		{ID: wire.TaskID{Lo: 2}, Kind: wire.SubmitActor, Name: []byte("Counter"), Attempt: 3, Checkpoint: []byte("state"),
			Options: &Options{MaxRestarts: 3, MaxConcurrency: 4, Name: "svc", Detached: true, Unknown: true, Replay: true, CheckpointEvery: 100}},
		{ID: wire.TaskID{Lo: 3}, Kind: wire.SubmitActorCall, Name: []byte("Counter.Add"), Actor: wire.TaskID{Lo: 2}},
	}
}

func TestTaskSpecRoundTrip(t *testing.T) {
	for _, s := range sampleSpecs() {
		b := s.AppendBinary(nil)
		got, err := DecodeTaskSpec(b)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if !reflect.DeepEqual(normalize(got), normalize(s)) {
			t.Errorf("%s: round trip gave %+v, want %+v", s.Name, got, s)
		}
		for cut := range len(b) {
			if _, err := DecodeTaskSpec(b[:cut]); !errors.Is(err, ErrMalformedSpec) {
				t.Fatalf("%s cut at %d of %d: %v, want ErrMalformedSpec", s.Name, cut, len(b), err)
			}
		}
	}
}

// normalize makes empty and nil slices compare equal.
func normalize(s TaskSpec) TaskSpec {
	if len(s.Args) == 0 {
		s.Args = nil
	}
	if len(s.Contained) == 0 {
		s.Contained = nil
	}
	if len(s.Name) == 0 {
		s.Name = nil
	}
	for i := range s.Args {
		if len(s.Args[i].Data) == 0 {
			s.Args[i].Data = nil
		}
	}
	return s
}

// FuzzDecodeTaskSpec: any bytes decode to a spec or ErrMalformedSpec, and
// what decodes encodes back to bytes that decode to the same spec.
func FuzzDecodeTaskSpec(f *testing.F) {
	for _, s := range sampleSpecs() {
		f.Add(s.AppendBinary(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeTaskSpec(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedSpec) {
				t.Fatalf("error %v does not wrap ErrMalformedSpec", err)
			}
			return
		}
		again, err := DecodeTaskSpec(s.AppendBinary(nil))
		if err != nil {
			t.Fatalf("re-encoded spec does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(s)) {
			t.Fatalf("round trip changed the spec:\n%+v\n%+v", s, again)
		}
	})
}
