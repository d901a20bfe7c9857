package netns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Net is a bridge and the namespaces on it.
type Net struct {
	// HostIP is the bridge's address, in the test's own namespace.
	HostIP string
	// IPs are the namespaces' addresses, by index.
	IPs   []string
	names []string
}

// New makes n namespaces on a fresh bridge and subnet, or skips t.
func New(t testing.TB, n int) *Net {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespaces need the ip command (iproute2)")
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(b[:2])
	subnet := fmt.Sprintf("10.%d.%d", 200+int(b[2])%50, b[0])
	if out, err := exec.Command("ip", "-4", "-o", "addr").Output(); err != nil || strings.Contains(string(out), " "+subnet+".") {
		t.Skipf("no free subnet for namespaces (%s.0/24 is in use, or ip failed: %v)", subnet, err)
	}
	nw := &Net{HostIP: subnet + ".1"}
	bridge := "mb" + id
	t.Cleanup(func() {
		for _, name := range nw.names {
			exec.Command("ip", "netns", "del", name).Run()
		}
		exec.Command("ip", "link", "del", bridge).Run()
	})
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("link", "add", bridge, "type", "bridge")
	run("addr", "add", nw.HostIP+"/24", "dev", bridge)
	run("link", "set", bridge, "up")
	for i := range n {
		name := fmt.Sprintf("mn%s-%d", id, i)
		outer, inner := fmt.Sprintf("mv%s%d", id, i), fmt.Sprintf("mp%s%d", id, i)
		ip := fmt.Sprintf("%s.%d", subnet, i+2)
		run("netns", "add", name)
		nw.names = append(nw.names, name)
		run("link", "add", outer, "type", "veth", "peer", "name", inner)
		run("link", "set", inner, "netns", name)
		run("link", "set", outer, "master", bridge)
		run("link", "set", outer, "up")
		run("-n", name, "addr", "add", ip+"/24", "dev", inner)
		run("-n", name, "link", "set", inner, "up")
		run("-n", name, "link", "set", "lo", "up")
		nw.IPs = append(nw.IPs, ip)
	}
	return nw
}

// Command returns a command that runs name with args inside namespace i.
func (nw *Net) Command(i int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", nw.names[i], name}, args...)...)
}
