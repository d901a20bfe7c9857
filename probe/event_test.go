package probe

import (
	"bytes"
	"testing"
)

func TestParseEventRoundTrip(t *testing.T) {
	for _, e := range []Event{
		{Time: 1, TGID: 10, TID: 11, Kind: KindStage, Aux: 3},
		{Time: 1 << 62, Wait: 1234, TGID: 10, TID: 12, Kind: KindRunQueue},
		{Time: 5, Wait: 99, TGID: 10, TID: 12, Kind: KindOffCPU, Aux: 1},
	} {
		b := AppendEvent(nil, e)
		if len(b) != EventSize {
			t.Fatalf("%+v: %d bytes, want %d", e, len(b), EventSize)
		}
		got, err := ParseEvent(b)
		if err != nil || got != e {
			t.Errorf("ParseEvent(AppendEvent(%+v)) = %+v, %v", e, got, err)
		}
	}
}

func TestParseEventRefusesWhatTheBPFSideNeverWrites(t *testing.T) {
	for name, b := range map[string][]byte{
		"short":             make([]byte, EventSize-1),
		"long":              make([]byte, EventSize+1),
		"kind 0":            AppendEvent(nil, Event{}),
		"kind 4":            AppendEvent(nil, Event{Kind: 4}),
		"stage too high":    AppendEvent(nil, Event{Kind: KindStage, Aux: MaxStages}),
		"run queue flagged": AppendEvent(nil, Event{Kind: KindRunQueue, Aux: 1}),
		"off-cpu flag 2":    AppendEvent(nil, Event{Kind: KindOffCPU, Aux: 2}),
	} {
		if e, err := ParseEvent(b); err == nil {
			t.Errorf("%s: ParseEvent accepted %+v", name, e)
		}
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add(AppendEvent(nil, Event{Time: 7, TGID: 1, TID: 2, Kind: KindStage, Aux: 8}))
	f.Add(AppendEvent(nil, Event{Time: 7, Wait: 3, TGID: 1, TID: 2, Kind: KindOffCPU, Aux: 1}))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEvent(b)
		if err != nil {
			return
		}
		if again := AppendEvent(nil, e); !bytes.Equal(again, b) {
			t.Fatalf("ParseEvent(%x) = %+v, which encodes as %x", b, e, again)
		}
		if e.Blocked() && e.Kind != KindOffCPU {
			t.Fatalf("%+v: blocked but not off CPU", e)
		}
	})
}

func TestParsePPID(t *testing.T) {
	for stat, want := range map[string]int{
		"4242 (manta) S 4200 4242 4200 0 -1 4194560": 4200,
		"4243 (a) (b) c) R 1 4243 4243 0 -1":         1,
		"4244 (with space) S 0 0 0 0 -1":             0,
		"77 ()) S 76 0 0\n":                          76,
	} {
		if got, err := parsePPID([]byte(stat)); err != nil || got != want {
			t.Errorf("parsePPID(%q) = %d, %v; want %d", stat, got, err, want)
		}
	}
	for _, stat := range []string{"", "12 manta S 3", "12 (manta) S", "12 (manta) S x", "12 (manta) S -4"} {
		if got, err := parsePPID([]byte(stat)); err == nil {
			t.Errorf("parsePPID(%q) = %d, want an error", stat, got)
		}
	}
}

func FuzzParsePPID(f *testing.F) {
	f.Add([]byte("4242 (manta) S 4200 4242 4200 0 -1"))
	f.Add([]byte("1 ((()) R 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ppid, err := parsePPID(b)
		if err == nil && ppid < 0 {
			t.Fatalf("parsePPID(%q) = %d", b, ppid)
		}
	})
}
