package wire

import "testing"

func BenchmarkAppendDecodeExecute(b *testing.B) {
	m := Msg{Kind: KindExecute, Task: TaskID{Hi: 1, Lo: 2}, Name: []byte("microbenchmark.noop"),
		Args: []Arg{{Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}}}}
	var buf []byte
	var got Msg
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], &m)
		if err := Decode(buf, &got); err != nil {
			b.Fatal(err)
		}
	}
}
