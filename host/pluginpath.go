package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// handlerBuildTimeout bounds `go build` of the plugin in a source checkout.
const handlerBuildTimeout = 5 * time.Minute

// modulePath is this project's Go module; a directory whose go.mod names
// it is a source checkout the plugin can be built from.
const modulePath = "github.com/edumfa-federation/edumfa-federation"

// FindHandlerExecutable returns the Federation handler plugin to run when
// the config names none: `federation-handler` beside the host binary, else
// (in a source checkout, as with `go run`) one freshly built from
// ./cmd/federation-handler into the user cache directory, so that a stale
// bin/ is never picked up by accident.
func FindHandlerExecutable(ctx context.Context, self string) (string, error) {
	beside := filepath.Join(filepath.Dir(self), DefaultHandlerExecutable)
	if fi, err := os.Stat(beside); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return beside, nil
	}
	root, ok := sourceCheckout()
	if !ok {
		return "", fmt.Errorf("no %s beside %s: build it with `go build -o bin/ ./cmd/...`", DefaultHandlerExecutable, self)
	}
	return buildHandler(ctx, root)
}

// sourceCheckout finds the module root above the working directory.
func sourceCheckout() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			return dir, strings.TrimSpace(strings.TrimPrefix(first, "module")) == modulePath
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// buildHandler builds the plugin into the cache; go's build cache makes a
// repeated build fast, so it is rebuilt every time and never stale.
func buildHandler(ctx context.Context, root string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "edumfa-federation", DefaultHandlerExecutable)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("the handler plugin is not built and no go command is on PATH: run `go build -o bin/ ./cmd/...`")
	}
	ctx, cancel := context.WithTimeout(ctx, handlerBuildTimeout)
	defer cancel()
	// Build to a new name, then rename: a running plugin's file is never
	// overwritten in place (ETXTBSY, and the watcher would see a swap).
	tmp := out + ".new"
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", tmp, "./cmd/federation-handler")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the handler plugin: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	return out, nil
}
