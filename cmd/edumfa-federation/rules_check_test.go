package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/internal/testplugin"
	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// TestRulesCheck_ExitCodes: `rules check` exits 0 with a summary for a good
// set and 1 with every problem as file:line for a bad one (the same
// message a reload reports).
func TestRulesCheck_ExitCodes(t *testing.T) {
	plugin, err := testplugin.Build()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gateway.yaml")
	mustWrite(t, cfg, []byte("listen: 127.0.0.1:0\nrules: rules\nplugins:\n  Federation: "+plugin+"\n"), 0o644)
	rulesDir := filepath.Join(dir, "rules")
	mustWrite(t, filepath.Join(rulesDir, "servers.yaml"), []byte("servers:\n  child: {url: http://127.0.0.1:1}\n"), 0o644)
	route := "rules:\n  - name: to-child\n    event: validate_check\n    handler: Federation\n    action: forward\n    options: {eduMFA: child}\n"
	mustWrite(t, filepath.Join(rulesDir, "route.yaml"), []byte(route), 0o644)

	var out, errOut bytes.Buffer
	if code := run([]string{"rules", "check", rulesDir, "--config", cfg}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "ok: 1 rule") {
		t.Fatalf("good set: exit %d, %q %q", code, out.String(), errOut.String())
	}

	bad := strings.Replace(route, "    handler:", "    condition: request.method ==\n    handler:", 1)
	mustWrite(t, filepath.Join(rulesDir, "route.yaml"), []byte(bad), 0o644)
	out.Reset()
	errOut.Reset()
	code := run([]string{"rules", "check", rulesDir, "--config", cfg}, &out, &errOut)
	want := filepath.Join(rulesDir, "route.yaml") + `:4: rule "to-child": `
	if code != 1 || !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "1 problem(s); the rule set was not loaded") {
		t.Fatalf("bad set: exit %d, %q %q", code, out.String(), errOut.String())
	}
}

// TestRulesCheck_PluginHangsAtDescribe: a plugin that hangs when asked for
// its schema (testdata/hangplugin stops itself) makes `rules check` exit 1
// with a message naming the plugin, within describeTimeout plus Kill's
// bound, and leaves no process behind (it is SIGKILLed and reaped).
func TestRulesCheck_PluginHangsAtDescribe(t *testing.T) {
	root, err := testplugin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hang := filepath.Join(dir, "hangplugin")
	build := exec.Command("go", "build", "-o", hang, "./cmd/edumfa-federation/testdata/hangplugin")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build hangplugin: %v: %s", err, out)
	}
	cfg := filepath.Join(dir, "gateway.yaml")
	mustWrite(t, cfg, []byte("listen: 127.0.0.1:0\nrules: rules\nplugins:\n  Federation: "+hang+"\n"), 0o644)
	mustWrite(t, filepath.Join(dir, "rules", "empty.yaml"), []byte("rules: []\n"), 0o644)

	// Zombies of other tests' processes (this test binary may be their
	// subreaper) are not this test's business: only new ones count.
	self := os.Getpid()
	zombiesBefore := map[int]bool{}
	for _, e := range mustReadDir(t, "/proc") {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if p, ok := readProc(pid); ok && p.ppid == self && p.state == 'Z' && !zombiesBefore[pid] {
				zombiesBefore[pid] = true
			}
		}
	}
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run([]string{"rules", "check", filepath.Join(dir, "rules"), "--config", cfg}, &out, &errOut)
	took := time.Since(start)
	want := "rules check: plugin Federation (" + hang + ") did not answer Describe within 5s"
	if code != 1 || !strings.Contains(errOut.String(), want) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out.String(), errOut.String(), want)
	}
	if limit := describeTimeout + plugin.KillGrace + 5*time.Second; took > limit {
		t.Fatalf("took %v, want at most %v", took, limit)
	}
	for _, e := range mustReadDir(t, "/proc") {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe == hang {
			t.Errorf("the hung plugin %d still runs", pid)
		}
		if p, ok := readProc(pid); ok && p.ppid == self && p.state == 'Z' && !zombiesBefore[pid] {
			t.Errorf("zombie child %d", pid)
		}
	}
	t.Logf("exit 1 after %v: %s", took.Round(time.Millisecond), strings.TrimSpace(errOut.String()))
}

func mustReadDir(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}
