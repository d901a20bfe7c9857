package benchmarks

import (
	"os"
	"testing"

	"manta/core"
)

func TestMain(m *testing.M) {
	core.WorkerMain()
	code := m.Run()
	if mantaBuild.dir != "" {
		os.RemoveAll(mantaBuild.dir)
	}
	os.Exit(code)
}
