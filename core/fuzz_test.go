package core

import (
	"errors"
	"testing"
	"unsafe"

	"manta/rpc/wire"
)

type fuzzValue struct {
	Name  string
	Vals  []float64
	Inner Ref[int]
	Any   any
}

// FuzzDecodeValue feeds arbitrary bytes, as another process could send
// them, to the value decoders: they must return an error, never panic.
func FuzzDecodeValue(f *testing.F) {
	for _, seed := range [][]byte{
		mustEnc(codecFor[int](), 42), mustEnc(codecFor[string](), "hi"),
		mustEnc(codecFor[[]float64](), []float64{1, 2}), mustEnc(codecFor[int8](), 7),
		mustEnc(codecFor[fuzzValue](), fuzzValue{Name: "x", Vals: []float64{3}}),
		encodeError(ErrWorkerDied, "f", wire.TaskID{Hi: 1}),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var i int
		_ = codecFor[int]().dec(b, &i)
		var i8 int8
		_ = codecFor[int8]().dec(b, &i8)
		var u uint16
		_ = codecFor[uint16]().dec(b, &u)
		var s string
		_ = codecFor[string]().dec(b, &s)
		var fs []float64
		_ = codecFor[[]float64]().dec(b, &fs)
		var f32 []float32
		_ = codecFor[[]float32]().dec(b, &f32)
		var ok bool
		_ = codecFor[bool]().dec(b, &ok)
		var v fuzzValue
		_ = codecFor[fuzzValue]().dec(b, &v)
		if err := decodeError(b); err == nil {
			t.Fatal("decodeError returned nil")
		}
	})
}

func mustEnc[T any](c *codec[T], v T) []byte {
	b, err := c.enc(nil, &v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestCodecRoundTrips(t *testing.T) {
	type celsius float64
	check := func(name string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s did not round-trip", name)
		}
	}
	var c celsius
	err := codecFor[celsius]().dec(mustEnc(codecFor[celsius](), 21.5), &c)
	check("named float", err == nil && c == 21.5)
	var i8 int8
	err = codecFor[int8]().dec(mustEnc(codecFor[int](), 300), &i8)
	check("int8 overflow is an error", err != nil)
	var m map[string][]int
	err = codecFor[map[string][]int]().dec(mustEnc(codecFor[map[string][]int](), map[string][]int{"a": {1, 2}}), &m)
	check("map via CBOR", err == nil && len(m["a"]) == 2)
	var s string
	err = codecFor[string]().dec(mustEnc(codecFor[int](), 1), &s)
	check("int as string is an error", err != nil)
}

// TestCodecLargeValues: a CBOR-coded value decodes whatever its number
// of elements (the CBOR library stops at 131,072 by default), and an
// input claiming 2³¹−1 elements it does not hold is an error, not an
// allocation of that many.
func TestCodecLargeValues(t *testing.T) {
	const n = 300_000
	big := fuzzValue{Name: "batch", Vals: make([]float64, n)}
	for i := range big.Vals {
		big.Vals[i] = float64(i)
	}
	var v fuzzValue
	if err := codecFor[fuzzValue]().dec(mustEnc(codecFor[fuzzValue](), big), &v); err != nil || len(v.Vals) != n || v.Vals[n-1] != n-1 {
		t.Fatalf("a struct with %d floats: %v, %d back", n, err, len(v.Vals))
	}
	m := make(map[int]int, n)
	for i := range n {
		m[i] = i
	}
	var back map[int]int
	if err := codecFor[map[int]int]().dec(mustEnc(codecFor[map[int]int](), m), &back); err != nil || len(back) != n {
		t.Fatalf("a map of %d pairs: %v, %d back", n, err, len(back))
	}
	claim := []byte{fmtCBOR, 0x9a, 0x7f, 0xff, 0xff, 0xff, 0x01} // an array of 2³¹−1 elements, one given
	if err := codecFor[[]int]().dec(claim, new([]int)); !errors.Is(err, ErrDecode) {
		t.Fatalf("an array claiming 2³¹−1 elements: %v, want ErrDecode", err)
	}
}

// Raw slices from alignAbove bytes on take the aligned format, whose
// elements start 64 bytes in; both forms decode, and nothing else does.
func TestRawSlicesAlignLargeValues(t *testing.T) {
	for _, n := range []int{0, 3, alignAbove/8 - 1, alignAbove / 8, alignAbove} {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i) + 0.5
		}
		enc := mustEnc(codecFor[[]float64](), xs)
		wantHeader := rawPadded
		if 8*n >= alignAbove {
			wantHeader = rawAligned
		}
		if len(enc) != wantHeader+8*n || len(enc) != rawEncodedLen[float64](n) {
			t.Fatalf("%d floats: %d bytes encoded, want a %d-byte header", n, len(enc), wantHeader)
		}
		var back []float64
		if err := codecFor[[]float64]().dec(enc, &back); err != nil || len(back) != n || (n > 0 && back[n-1] != xs[n-1]) {
			t.Fatalf("%d floats did not round-trip: %v", n, err)
		}
		var asBytes []byte
		if err := codecFor[[]byte]().dec(enc, &asBytes); err == nil {
			t.Fatalf("%d floats decoded as bytes", n)
		}
	}
	big := make([]byte, alignAbove+1)
	enc := mustEnc(codecFor[[]byte](), big)
	if enc[0] != fmtBytesAligned || len(enc) != rawAligned+len(big) {
		t.Fatalf("large bytes: format %d, %d bytes", enc[0], len(enc))
	}
}

func TestLargeStoredValuesAreCacheLineAligned(t *testing.T) {
	startCluster(t, Config{})
	r, err := Put(make([]float64, 1<<16))
	if err != nil {
		t.Fatal(err)
	}
	v, err := GetView(ctxT(t), r)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	if p := uintptr(unsafe.Pointer(&v.Data()[0])); p%64 != 0 {
		t.Fatalf("a stored []float64's elements start at %#x, not on a cache line", p)
	}
}
