package host_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/host"
)

// TestSwap_FailedPluginKeepsOldServing tries plugins that fail at start:
// an executable that exits at once (no handshake), a wrong configured
// checksum, and a broken executable renamed over the configured path. Each
// time the reload fails with the reason in the status, the old process
// keeps serving and nothing of the failed reload is applied; then a good
// configuration swaps in. No zombie is left and one plugin runs at the end.
func TestSwap_FailedPluginKeepsOldServing(t *testing.T) {
	zw := watchZombies(t)
	child := childSim(t, "child", nil)
	p1, p2 := parentSim(t, "parent one"), parentSim(t, "parent two")
	variants := buildPlugins(t, t.TempDir(), "v2")
	servers, route := routeRules("child", child)
	base := "listen: 127.0.0.1:0\nrules: rules\nadmin: {listen: 127.0.0.1:0}\n"
	f := newFixture(t, fixtureOpts{
		config: base + "upstream: " + p1 + "\n",
		files:  map[string]string{"rules/servers.yaml": servers, "rules/route.yaml": route},
	})
	pid, version, _, _ := federation(t, f.status())
	sum := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	reload := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := f.srv.Reload(ctx, host.ReloadRequest{Reason: "test"})
		return err
	}
	unchanged := func(step, wantErr string, err error) {
		t.Helper()
		st := f.status()
		p, v, state, _ := federation(t, st)
		if err == nil || !strings.Contains(err.Error(), wantErr) || !strings.Contains(st.LastError, wantErr) {
			t.Fatalf("%s: reload error %v, last_error %q, want %q", step, err, st.LastError, wantErr)
		}
		if p != pid || v != version || state != "running" {
			t.Fatalf("%s: plugin now pid %d %s %s, want the old %d %s running", step, p, v, state, pid, version)
		}
		for _, pl := range st.Plugins {
			if pl.LastError == "" {
				t.Errorf("%s: plugin status without the failure", step)
			}
		}
		f.answeredBy(child, step)
		if got := f.parentName(); got != "parent one" {
			t.Fatalf("%s: the config was half applied: upstream %q", step, got)
		}
	}

	// 1. The config names another executable, which exits before the
	// handshake; the upstream change in the same file is not applied.
	script := filepath.Join(f.dir, "bin", "not-a-plugin")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho not a plugin >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.save("gateway.yaml", base+"upstream: "+p2+"\nplugins:\n  Federation: "+script+"\n")
	unchanged("executable without handshake", "plugin Federation", reload())

	// 2. The right executable with a wrong checksum.
	f.save("gateway.yaml", base+"upstream: "+p2+"\nplugins:\n  Federation: {path: "+f.plugin+", sha256: "+strings.Repeat("ab", 32)+"}\n")
	unchanged("wrong checksum", "sha256", reload())

	// 3. A broken file renamed over the configured plugin.
	f.save("gateway.yaml", base+"upstream: "+p1+"\nplugins:\n  Federation: "+f.plugin+"\n")
	good := filepath.Join(f.dir, "good-plugin")
	copyFile(t, f.plugin, good)
	broken := filepath.Join(f.dir, "bin", ".broken")
	copyFile(t, script, broken)
	f.installPlugin(broken)
	unchanged("broken executable installed", "plugin Federation", reload())
	f.installPlugin(good) // put the old one back for the next step

	// 4. A new version with its correct checksum and the new upstream:
	// everything applies.
	target := filepath.Join(f.dir, "bin", "federation-handler-v2")
	if err := os.Rename(variants["v2"], target); err != nil {
		t.Fatal(err)
	}
	f.save("gateway.yaml", base+"upstream: "+p2+"\nplugins:\n  Federation: {path: "+target+", sha256: "+sum(target)+"}\n")
	if err := reload(); err != nil {
		t.Fatal(err)
	}
	st := f.status()
	p, v, state, _ := federation(t, st)
	if p == pid || v != "v2" || state != "running" || st.LastError != "" || f.parentName() != "parent two" {
		t.Fatalf("good config: plugin %d %s %s, last_error %q, upstream %q", p, v, state, st.LastError, f.parentName())
	}
	f.answeredBy(child, "after the good swap")
	eventually(t, 15*time.Second, "the old plugin stopped", func() (bool, string) {
		n := len(processesOf(f.plugin)) + len(processesOf(target))
		return n == 1 && len(zombieChildren()) == 0, fmt.Sprintf("%d plugin processes, zombies %v", n, zombieChildren())
	})
	zw.check()
}
