package cluster

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"manta/gcs/client"
	"manta/gcs/server"
)

// Files in StateDir: the cluster token and the address of the head
// started on this machine.
const (
	TokenFile       = "gcs-token"
	HeadAddressFile = "head-address"
)

// StateDir is where the manta processes of this machine keep what they
// share: $MANTA_DIR, or a directory of this user's in the temp dir.
func StateDir() string {
	if dir := os.Getenv("MANTA_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("manta-%d", os.Getuid()))
}

// EnsureStateDir makes StateDir, mode 0700, if it is missing, and
// returns it. It refuses a directory that is not this user's or that
// group or others may write: the default is a predictable name in the
// temp dir, and whoever made it could replace the token and pid files
// there.
func EnsureStateDir() (string, error) {
	dir := StateDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cluster: state directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("cluster: state directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return "", fmt.Errorf("cluster: state directory %s is not a directory; set MANTA_DIR to a directory of your own", dir)
	case !ok || int(st.Uid) != os.Getuid():
		return "", fmt.Errorf("cluster: state directory %s is not owned by you (uid %d); remove it or set MANTA_DIR to a directory of your own", dir, os.Getuid())
	case fi.Mode().Perm()&0o022 != 0:
		return "", fmt.Errorf("cluster: state directory %s has mode %v, writable by others; chmod 700 %s, or set MANTA_DIR to a directory of your own", dir, fi.Mode().Perm(), dir)
	}
	return dir, nil
}

// ReadToken returns the cluster token: $MANTA_GCS_TOKEN in hex if set
// (it is never taken from a command line), else the hex in file (the
// head writes StateDir()/TokenFile, mode 0600). The file must be this
// user's and neither readable nor writable by others: a token others
// could read lets them run code on the cluster, one they could write
// joins this machine to their cluster.
func ReadToken(file string) ([]byte, error) {
	if env := os.Getenv(server.EnvToken); env != "" {
		if token, err := hex.DecodeString(env); err == nil && len(token) > 0 {
			return token, nil
		}
		return nil, fmt.Errorf("cluster: %s is not a token in hex", server.EnvToken)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("cluster: no cluster token: set %s or copy the head's token file to %s (%w)", server.EnvToken, file, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cluster: token file: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
		return nil, fmt.Errorf("cluster: token file %s is not owned by you (uid %d)", file, os.Getuid())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("cluster: token file %s has mode %v, open to others; chmod 600 %s", file, fi.Mode().Perm(), file)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("cluster: token file: %w", err)
	}
	token, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(token) == 0 {
		return nil, fmt.Errorf("cluster: %s does not hold a token in hex", file)
	}
	return token, nil
}

// Dial connects to the GCS of the head whose monitor is at address, or
// fails within timeout saying why (nothing there, a wrong token).
func Dial(ctx context.Context, address string, token []byte, timeout time.Duration) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	api, err := client.Dial(ctx, client.Config{Monitor: address, Token: token, Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("cannot reach the head at %s within %v: %w", address, timeout, err)
	}
	return api, nil
}
