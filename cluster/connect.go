package cluster

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// ReadToken returns the cluster token: $MANTA_GCS_TOKEN in hex if set
// (it is never taken from a command line), else the hex in file (the
// head writes StateDir()/TokenFile).
func ReadToken(file string) ([]byte, error) {
	if env := os.Getenv(server.EnvToken); env != "" {
		if token, err := hex.DecodeString(env); err == nil && len(token) > 0 {
			return token, nil
		}
		return nil, fmt.Errorf("cluster: %s is not a token in hex", server.EnvToken)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cluster: no cluster token: set %s or copy the head's token file to %s (%w)", server.EnvToken, file, err)
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
