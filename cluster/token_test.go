package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"manta/gcs/server"
)

// ReadToken refuses a token file others may read.
func TestReadTokenRefusesOpenFile(t *testing.T) {
	t.Setenv(server.EnvToken, "")
	file := filepath.Join(t.TempDir(), TokenFile)
	if err := os.WriteFile(file, []byte("0a0b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if token, err := ReadToken(file); err != nil || string(token) != "\x0a\x0b" {
		t.Fatalf("ReadToken of a 0600 file: %x, %v", token, err)
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadToken(file); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("ReadToken of a 0644 file: %v", err)
	}
}

// EnsureStateDir makes a missing directory 0700 and refuses one others
// may write.
func TestEnsureStateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	t.Setenv("MANTA_DIR", dir)
	got, err := EnsureStateDir()
	if err != nil || got != dir {
		t.Fatalf("EnsureStateDir = %q, %v", got, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("made %v, %v", fi.Mode(), err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureStateDir(); err == nil || !strings.Contains(err.Error(), "MANTA_DIR") {
		t.Fatalf("EnsureStateDir of a 0777 directory: %v", err)
	}
}
