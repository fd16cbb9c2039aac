package plugin_test

// Tests of stopping a real plugin process (the Federation handler built
// from this repository): Kill has a bound, and nothing is left behind.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/internal/testplugin"
	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// privatePlugin copies the test build of the plugin into the test's temp
// dir: its path identifies this test's processes.
func privatePlugin(t *testing.T) string {
	t.Helper()
	src, err := testplugin.Build()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "federation-handler")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func startPlugin(t *testing.T, path string) *plugin.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := plugin.Start(ctx, plugin.StartConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.KillNow) // should the test fail before Kill; a no-op after it
	if _, err := c.Describe(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// procState is the state letter of /proc/<pid>/stat ("" when the process
// is gone, reaped included) and its parent.
func procState(pid int) (state string, ppid int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ppid, _ = strconv.Atoi(f[1])
	return f[0], ppid
}

// processesOf lists the processes (zombies included) running exe.
func processesOf(exe string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); strings.TrimSuffix(link, " (deleted)") == exe {
			state, _ := procState(pid)
			out = append(out, fmt.Sprintf("%d (%s)", pid, state))
		}
	}
	return out
}

// zombieChildren are this process's children that exited unreaped.
func zombieChildren() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if state, ppid := procState(pid); state == "Z" && ppid == os.Getpid() {
				out = append(out, pid)
			}
		}
	}
	return out
}

// TestClient_KillIsBoundedForAStoppedPlugin: a SIGSTOPped plugin never
// answers go-plugin's shutdown request; Kill still returns within
// KillGrace plus a little, and the process is gone and reaped (not a
// zombie). A healthy plugin stops at once, and KillNow does not wait for
// the grace.
func TestClient_KillIsBoundedForAStoppedPlugin(t *testing.T) {
	path := privatePlugin(t)
	cases := []struct {
		name string
		stop bool
		kill func(*plugin.Client)
		max  time.Duration
	}{
		{"stopped plugin, Kill", true, (*plugin.Client).Kill, plugin.KillGrace + time.Second},
		{"stopped plugin, KillNow", true, (*plugin.Client).KillNow, time.Second},
		{"healthy plugin, Kill", false, (*plugin.Client).Kill, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startPlugin(t, path)
			pid := c.PID()
			if tc.stop {
				if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
				waitUntil(t, 5*time.Second, "plugin stopped by SIGSTOP", func() bool {
					st, _ := procState(pid)
					return st == "T"
				})
			}
			start := time.Now()
			done := make(chan struct{})
			go func() {
				defer close(done)
				tc.kill(c)
			}()
			select {
			case <-done:
			case <-time.After(tc.max + 5*time.Second):
				t.Fatalf("Kill did not return within %v", tc.max+5*time.Second)
			}
			if d := time.Since(start); d > tc.max {
				t.Fatalf("Kill took %v, want at most %v", d, tc.max)
			}
			select {
			case <-c.Exited():
			default:
				t.Fatal("Exited not closed after Kill")
			}
			if st, ppid := procState(pid); st != "" {
				t.Fatalf("plugin %d after Kill: state %s, parent %d", pid, st, ppid)
			}
			c.Kill() // a second Kill returns at once
			t.Logf("stopped in %v", time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestStart_CancelledLeavesNoProcess cancels starts before and during the
// handshake: Start returns at once, and the plugin that comes up after all
// is stopped in the background, leaving neither a process nor a zombie.
func TestStart_CancelledLeavesNoProcess(t *testing.T) {
	path := privatePlugin(t)
	for _, after := range []time.Duration{0, 10 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(t.Context(), after)
		begun := time.Now()
		c, err := plugin.Start(ctx, plugin.StartConfig{Path: path})
		cancel()
		if err == nil {
			c.Kill() // it was up before the deadline
		} else {
			if d := time.Since(begun); d > time.Second {
				t.Fatalf("cancelled Start returned after %v", d)
			}
			// The process is started all the same (exec is not
			// interruptible); it lives at least as long as its handshake.
			waitUntil(t, 5*time.Second, "the plugin process shows up", func() bool { return len(processesOf(path)) > 0 })
		}
		waitUntil(t, plugin.DefaultStartTimeout+plugin.KillGrace+5*time.Second, fmt.Sprintf("nothing left after a start cancelled after %v", after), func() bool {
			return len(processesOf(path)) == 0 && len(zombieChildren()) == 0
		})
		t.Logf("cancelled after %v: nothing left after %v", after, time.Since(begun).Round(time.Millisecond))
	}
}

// waitUntil polls cond until it holds, failing the test after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
}
