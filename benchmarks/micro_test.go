package benchmarks

import (
	"context"
	"testing"
	"time"
)

func TestMicroFig9Fig12bTiny(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := &Env{Scale: Quick}
	out, err := microTable(ctx, env, 1, 5*time.Millisecond, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Metrics) < 9 || len(out.Figures) != 1 || out.Metrics[0].Paper == nil {
		t.Fatalf("micro outcome: %+v", out.Metrics)
	}
	if err := out.Figures[0].Validate(); err != nil {
		t.Fatal(err)
	}
	out, err = fig9Run(ctx, env, []int64{1000, 1 << 20}, []int{1, 2}, 2, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := resolve(out.Metrics, Paper()); err != nil {
		t.Fatal(err)
	}
	if m := out.Metrics[0]; m.Value <= 0 || m.Ratio == nil || m.Unit != "GB/s" || len(out.Figures) != 2 {
		t.Fatalf("fig9: %+v", m)
	}
	for _, f := range out.Figures {
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	out, err = runFig12b(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := resolve(out.Metrics, Paper()); err != nil {
		t.Fatal(err)
	}
	if m := out.Metrics[0]; m.Value <= 0 || m.Value > 1000 || m.Ratio == nil {
		t.Fatalf("fig12b p50: %+v", m)
	}
	if err := out.Figures[0].Validate(); err != nil {
		t.Fatal(err)
	}
}
