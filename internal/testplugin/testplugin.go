// Package testplugin builds the real Federation handler plugin from this
// repository for tests, once per test binary.
package testplugin

import (
	"bytes"
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

// Build compiles ./cmd/federation-handler into a temporary directory (once
// per process) and returns the executable's path. Go's build cache makes
// it fast after the first time.
func Build() (string, error) {
	once.Do(func() {
		var root string
		root, err = moduleRoot()
		if err != nil {
			return
		}
		dir, mkErr := os.MkdirTemp("", "federation-handler-test-")
		if mkErr != nil {
			err = mkErr
			return
		}
		path = filepath.Join(dir, "federation-handler")
		err = BuildTo(root, path)
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
