// Package testplugin builds the real Federation handler plugin from this
// repository for tests, once per test binary.
package testplugin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

var (
	once sync.Once
	path string
	err  error
)

// Build compiles ./cmd/federation-handler (once per process) into a
// directory of the system temp dir that belongs to this checkout, and
// returns the executable's path. Go's build cache makes it fast after the
// first time.
func Build() (string, error) {
	once.Do(func() {
		var root string
		root, err = moduleRoot()
		if err != nil {
			return
		}
		// One directory per checkout, reused by every test process: the
		// build is cached by go, and nothing piles up in the temp dir.
		sum := sha256.Sum256([]byte(root))
		dir := filepath.Join(os.TempDir(), "edumfa-federation-test-"+hex.EncodeToString(sum[:6]))
		if err = os.MkdirAll(dir, 0o755); err != nil {
			return
		}
		path = filepath.Join(dir, "federation-handler")
		// Build to a private name, then rename: test processes of other
		// packages may be running the previous binary right now.
		tmp, tmpErr := os.CreateTemp(dir, "build-*")
		if tmpErr != nil {
			err = tmpErr
			return
		}
		tmp.Close()
		if err = BuildTo(root, tmp.Name()); err != nil {
			os.Remove(tmp.Name())
			return
		}
		err = os.Rename(tmp.Name(), path)
	})
	return path, err
}

// BuildTo builds the plugin to out (for tests that need several copies,
// such as the hot swap tests).
func BuildTo(root, out string, ldflags ...string) error {
	args := []string{"build", "-o", out}
	if len(ldflags) > 0 {
		args = append(args, "-ldflags", strings.Join(ldflags, " "))
	}
	args = append(args, "./cmd/federation-handler")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build federation-handler: %v: %s", err, stderr.String())
	}
	return nil
}

// ModuleRoot is the repository root (where go.mod is).
func ModuleRoot() (string, error) { return moduleRoot() }

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(mod), nil
}
