package peers

import (
	"errors"
	"testing"
)

// What mpirun prints: the driver's line after whatever MPI says.
const mpiOutput = `--------------------------------------------------------------------------
WARNING: a warning from OpenMPI
--------------------------------------------------------------------------

MANTA-MPI-RESULT {"library": "Open MPI v4.1.4, package: Debian OpenMPI", "ranks": 2, "rows": [{"bytes": 1048576, "seconds": [0.0011, 0.0012]}, {"bytes": 104857600, "seconds": [0.049]}]}
`

func TestParseMPIOutput(t *testing.T) {
	r, err := parseMPIOutput([]byte(mpiOutput))
	if err != nil {
		t.Fatal(err)
	}
	if r.Ranks != 2 || r.Library != "Open MPI v4.1.4, package: Debian OpenMPI" || len(r.Rows) != 2 {
		t.Fatalf("%+v", r)
	}
	if r.Rows[1].Bytes != 100<<20 || r.Rows[1].Seconds[0] != 0.049 || len(r.Rows[0].Seconds) != 2 {
		t.Fatalf("rows %+v", r.Rows)
	}
}

// A run cut short, or with rows that cannot be times, says so.
func TestParseMPIOutputWithoutResults(t *testing.T) {
	for _, out := range []string{
		"", "mpirun was unable to launch the specified application\n", "MANTA-MPI-RESULT {not json\n",
		`MANTA-MPI-RESULT {"ranks": 2, "rows": []}` + "\n",
		`MANTA-MPI-RESULT {"ranks": 2, "rows": [{"bytes": 10, "seconds": []}]}` + "\n",
		`MANTA-MPI-RESULT {"ranks": 2, "rows": [{"bytes": 10, "seconds": [-1]}]}` + "\n",
		`MANTA-MPI-RESULT {"ranks": 0, "rows": [{"bytes": 10, "seconds": [1]}]}` + "\n",
	} {
		if _, err := parseMPIOutput([]byte(out)); !errors.Is(err, ErrNoMPIResult) {
			t.Errorf("%q: %v", out, err)
		}
	}
}

func FuzzParseMPIOutput(f *testing.F) {
	f.Add([]byte(mpiOutput))
	f.Add([]byte("MANTA-MPI-RESULT {\"ranks\": 1, \"rows\": [{\"bytes\": 1, \"seconds\": [1e-9]}]}\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		r, err := parseMPIOutput(out)
		if err != nil {
			if !errors.Is(err, ErrNoMPIResult) {
				t.Fatalf("an error that is not ErrNoMPIResult: %v", err)
			}
			return
		}
		if r.Ranks <= 0 || len(r.Rows) == 0 {
			t.Fatalf("accepted %+v", r)
		}
		for _, row := range r.Rows {
			if row.Bytes <= 0 || len(row.Seconds) == 0 {
				t.Fatalf("accepted row %+v", row)
			}
			for _, s := range row.Seconds {
				if !(s > 0) {
					t.Fatalf("accepted time %v", s)
				}
			}
		}
	})
}
