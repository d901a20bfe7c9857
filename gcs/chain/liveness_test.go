package chain

import (
	"testing"
	"time"
)

func TestLiveness(t *testing.T) {
	l := NewLiveness(time.Second)
	if _, ok := l.Deadline(); ok {
		t.Fatal("a deadline with no node")
	}
	t0 := time.Unix(100, 0)
	l.Beat("a", t0)
	l.Beat("b", t0)
	l.Beat("a", t0.Add(900*time.Millisecond))
	if d, ok := l.Deadline(); !ok || !d.Equal(t0.Add(time.Second)) {
		t.Fatalf("deadline %v %v, want b's, at %v", d, ok, t0.Add(time.Second))
	}
	if dead := l.Expire(t0.Add(1500 * time.Millisecond)); len(dead) != 1 || dead[0] != "b" {
		t.Fatalf("dead %v, want [b]", dead)
	}
	if dead := l.Expire(t0.Add(1600 * time.Millisecond)); len(dead) != 0 {
		t.Fatalf("b declared dead twice: %v", dead)
	}
	if d, ok := l.Deadline(); !ok || !d.Equal(t0.Add(1900*time.Millisecond)) {
		t.Fatalf("deadline %v %v, want a's", d, ok)
	}
	if !l.Beat("b", t0.Add(2*time.Second)) {
		t.Fatal("b's return not reported")
	}
}
