package store

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultCapacity returns the capacity a Config with Capacity 0 gets:
// the smaller of a quarter of physical memory and 80% of the space free
// in /dev/shm (the tmpfs that bounds shared memory on most systems),
// rounded down to Align. Pages of the segment are only committed when
// written, so a large capacity costs nothing until used.
func DefaultCapacity() (int64, error) {
	ram, err := memTotal()
	if err != nil {
		return 0, fmt.Errorf("store: cannot size the store: %w", err)
	}
	c := ram / 4
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err == nil {
		if free := int64(st.Bavail) * st.Bsize * 8 / 10; free < c {
			c = free
		}
	}
	c &^= Align - 1
	if c < minCapacity {
		return 0, fmt.Errorf("store: cannot size the store: only %d bytes of memory available", c)
	}
	return c, nil
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/meminfo: bad MemTotal %q", rest)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/meminfo: no MemTotal")
}
