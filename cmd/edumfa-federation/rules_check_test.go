package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/internal/testplugin"
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
