package core

import (
	"bytes"
	"testing"
)

var testEcho = Register1("test.echo", func(b []byte) ([]byte, error) {
	out := bytes.Clone(b)
	for i := range out {
		out[i] ^= 0xff
	}
	return out, nil
})

// Values much larger than a ring travel in fragments both ways.
func TestValuesLargerThanTheRing(t *testing.T) {
	startCluster(t, Config{RingBytes: 64 << 10})
	in := make([]byte, 5<<20+3)
	for i := range in {
		in[i] = byte(i * 7)
	}
	p, err := Put(in)
	if err != nil {
		t.Fatal(err)
	}
	refs := []Ref[[]byte]{testEcho.Remote(in), testEcho.Remote(p)}
	outs, err := GetAll(ctxT(t), refs)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range outs {
		if len(out) != len(in) {
			t.Fatalf("got %d bytes, want %d", len(out), len(in))
		}
		for i := range out {
			if out[i] != in[i]^0xff {
				t.Fatalf("byte %d = %x, want %x", i, out[i], in[i]^0xff)
			}
		}
	}
}
