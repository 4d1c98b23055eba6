// Package testtools finds the external tools tests run (promtool, amtool, ...), installing them
// with the project's scripts/tools.sh when they are missing, so `go test` works on a clean
// machine as `make test` does. It serves tests only.
package testtools

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var mu sync.Mutex

// Path returns the path of tool, installing it first if needed; it fails the test with the
// installer's words when the tool cannot be had.
func Path(tb testing.TB, tool string) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatalf("testtools: %v", err)
	}
	out, err := exec.Command(filepath.Join(root, "scripts", "tools.sh"), "path", tool).Output()
	if err != nil {
		var stderr string
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		tb.Fatalf("testtools: couldn't get %s: %v\n%s", tool, err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// moduleRoot is the folder holding go.mod, found from the working directory (a package's folder
// under go test).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
