package probe

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// parsePPID reads the parent's PID from the contents of /proc/PID/stat:
// "pid (comm) state ppid ...", where comm may itself hold spaces and
// parentheses, so the fields are counted from its last ')'.
func parsePPID(stat []byte) (int, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("probe: /proc stat without a command name")
	}
	fields := bytes.Fields(stat[end+1:])
	if len(fields) < 2 {
		return 0, errors.New("probe: /proc stat too short")
	}
	ppid, err := strconv.Atoi(string(fields[1]))
	if err != nil || ppid < 0 {
		return 0, fmt.Errorf("probe: /proc stat parent %q", fields[1])
	}
	return ppid, nil
}

// workersOf lists the children of the process driver that run the same
// executable as exe describes: its worker processes.
func workersOf(driver int, exe os.FileInfo) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == driver {
			continue
		}
		stat, err := os.ReadFile("/proc/" + ent.Name() + "/stat")
		if err != nil {
			continue // gone since ReadDir
		}
		if ppid, err := parsePPID(stat); err != nil || ppid != driver {
			continue
		}
		if fi, err := os.Stat("/proc/" + ent.Name() + "/exe"); err == nil && os.SameFile(fi, exe) {
			out = append(out, pid)
		}
	}
	return out, nil
}
