package host_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/internal/testplugin"
)

// TestSupervise_RestartChecksTheExecutableAgainstTheRules: the executable at
// the plugin path may have been replaced since the crashed plugin started
// (here without the watcher seeing it). A restart must not serve a plugin
// whose schema does not fit the rules in force: it fails, is reported, the
// post rule keeps the parent's answer meanwhile, and once a fitting
// executable is back the next restart attempt serves again.
func TestSupervise_RestartChecksTheExecutableAgainstTheRules(t *testing.T) {
	zw := watchZombies(t)
	root, err := testplugin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	child := childSim(t, "child", nil)
	parent := parentSim(t, "parent")
	servers, _ := routeRules("child", child)
	rule := `rules:
  - name: federate-on-reject
    event: validate_check
    condition: g.origin == "" && response.json.?result.?value.orValue(true) == false
    handler: Federation
    action: forward
    options: {eduMFA: child, realm: childrealm}
`
	f := newFixture(t, fixtureOpts{
		config: "listen: 127.0.0.1:0\nrules: rules\nupstream: " + parent + "\nadmin: {listen: 127.0.0.1:0}\n",
		files:  map[string]string{"rules/servers.yaml": servers, "rules/rules.yaml": rule},
	})
	good := filepath.Join(f.dir, "bin", "good")
	copyFile(t, f.plugin, good)
	narrow := filepath.Join(f.dir, "bin", "narrow")
	build := exec.Command("go", "build", "-o", narrow, "./host/testdata/narrowplugin")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build narrowplugin: %v\n%s", err, out)
	}
	f.installPlugin(narrow) // the watcher is off: nothing notices yet

	pid, _, _, _ := federation(t, f.status())
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "restart refused", func() (bool, string) {
		st := f.status()
		for _, p := range st.Plugins {
			if p.Handler == "Federation" {
				return p.State == "restarting" && strings.Contains(p.LastError, "realm"), fmt.Sprintf("state %s error %q", p.State, p.LastError)
			}
		}
		return false, "no plugin"
	})
	a := f.mustCheck(bobOnChild)
	if a.status != 200 || a.path("result.value") != false || a.path("detail.origin") != nil {
		t.Fatalf("while no fitting plugin runs: HTTP %d %s", a.status, a.body)
	}

	f.installPlugin(good)
	eventually(t, 20*time.Second, "restarted with the fitting executable", func() (bool, string) {
		p, v, state, _ := federation(t, f.status())
		return state == "running" && p != pid && v != "narrow", fmt.Sprintf("pid %d version %s state %s", p, v, state)
	})
	a = f.mustCheck(bobOnChild)
	if a.path("result.value") != true || a.path("detail.origin") != child+"/validate/check" {
		t.Fatalf("after the restart: %s", a.body)
	}
	onePluginLeft(t, f, 10*time.Second)
	zw.check()
}
