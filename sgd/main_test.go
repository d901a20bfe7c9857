package sgd

import (
	"os"
	"testing"

	"manta/core"
)

func TestMain(m *testing.M) {
	core.WorkerMain()
	os.Exit(m.Run())
}
