package host_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// watchTimeout bounds how long the watcher may take to apply one change
// (debounce 250 ms plus a reload).
const watchTimeout = 10 * time.Second

// configMapWrite updates a ConfigMap volume in dir exactly as kubelet's
// AtomicWriter does: the files go to a new timestamped directory
// ..<timestamp>, a symlink ..data_tmp to it is renamed over ..data, the
// visible names are symlinks ..data/<name> (created on the first write)
// and the previous timestamped directory is removed. No event in dir
// names a visible file.
func configMapWrite(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ts, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(ts, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "..data")
	old, _ := os.Readlink(data)
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, data); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}

// awaitRules waits until the gateway runs the rules now on disk.
func (f *fixture) awaitRules(what string) {
	f.t.Helper()
	want := f.rulesHash()
	eventually(f.t, watchTimeout, what, func() (bool, string) {
		st := f.status()
		return st.Rules.Version == want, fmt.Sprintf("version %.12s, want %.12s; last_error %q", st.Rules.Version, want, st.LastError)
	})
}

// answeredBy checks that a check of bob's is answered by the child whose
// URL is given ("" for the parent's own answer).
func (f *fixture) answeredBy(child, what string) {
	f.t.Helper()
	a := f.mustCheck(bobOnChild)
	origin, _ := a.path("detail.origin").(string)
	want := ""
	if child != "" {
		want = child + "/validate/check"
	}
	if origin != want || a.status != 200 {
		f.t.Fatalf("%s: HTTP %d, origin %q, want %q: %s", what, a.status, origin, want, a.body)
	}
}

// TestWatch_ConfigMapSwaps_EverySwapReloads mounts the rules as a
// Kubernetes ConfigMap volume and updates it 5 times under a steady stream
// of checks: the watcher (no Reload call) must apply every update, not
// only the first, each set must answer and no request may fail.
func TestWatch_ConfigMapSwaps_EverySwapReloads(t *testing.T) {
	watchZombies(t)
	children := []string{childSim(t, "child A", nil), childSim(t, "child B", nil)}
	set := func(i int) map[string]string {
		id := []string{"a", "b"}[i%2]
		servers, route := routeRules(id, children[i%2])
		// Every update differs, also from the one two before.
		return map[string]string{"servers.yaml": servers, "route.yaml": fmt.Sprintf("# update %d\n%s", i, route)}
	}
	mount := "mnt/rules"
	f := newFixture(t, fixtureOpts{
		rules: mount,
		watch: true,
		// The config lives elsewhere: only the mount's own watch can see
		// the swaps.
		layout: func(dir string) { configMapWrite(t, filepath.Join(dir, mount), set(0)) },
	})
	f.answeredBy(children[0], "initial set")
	start := f.status()
	versions := map[string]bool{start.Rules.Version: true}

	// A client checks all along (bounded): no request may fail while the
	// watcher swaps the sets.
	var (
		stop     = make(chan struct{})
		loadDone = make(chan []string)
	)
	go func() {
		var failed []string
		for n := 0; n < 5000; n++ {
			select {
			case <-stop:
				loadDone <- failed
				return
			default:
			}
			a, err := f.check(bobOnChild)
			origin, _ := a.path("detail.origin").(string)
			if err != nil || a.status != 200 || a.path("result.value") != true ||
				(origin != children[0]+"/validate/check" && origin != children[1]+"/validate/check") {
				failed = append(failed, fmt.Sprintf("%v HTTP %d %s", err, a.status, a.body))
			}
		}
		<-stop
		loadDone <- failed
	}()
	for i := 1; i <= 5; i++ {
		configMapWrite(t, f.rulesDir, set(i))
		f.awaitRules(fmt.Sprintf("ConfigMap update %d", i))
		f.answeredBy(children[i%2], fmt.Sprintf("set of update %d", i))
		versions[f.status().Rules.Version] = true
	}
	close(stop)
	if failed := <-loadDone; len(failed) > 0 {
		t.Fatalf("%d requests failed during the swaps, first: %s", len(failed), failed[0])
	}
	st := f.status()
	// Each update is five events; the debounce makes them one reload (two
	// if the machine stalled mid-update for longer than the debounce).
	if n := st.Reloads - start.Reloads; len(versions) != 6 || n < 5 || n > 10 || st.LastError != "" {
		t.Fatalf("%d distinct versions, %d reloads for 5 updates, last_error %q", len(versions), n, st.LastError)
	}
	t.Logf("5 ConfigMap updates, %d reloads", st.Reloads-start.Reloads)
	for _, file := range st.Rules.Files {
		if !strings.HasPrefix(file, f.rulesDir+"/") || strings.Contains(file, "..") {
			t.Errorf("status names %s, not the visible file", file)
		}
	}
}

// TestWatch_EditorSavesDeletesAndPluginRename changes the rules the ways
// editors and operators do, and replaces the plugin executable, with only
// the watcher to notice: rename-over saves, a vim-style backup save, a
// file deleted and recreated, the whole rules directory deleted (the last
// good set stays) and recreated, a bad change (reported with file:line in
// the status and the log while the old set answers) and its fix, and a
// new plugin renamed over the old one.
func TestWatch_EditorSavesDeletesAndPluginRename(t *testing.T) {
	zw := watchZombies(t)
	childA, childB := childSim(t, "child A", nil), childSim(t, "child B", nil)
	parent := parentSim(t, "parent")
	variants := buildPlugins(t, t.TempDir(), "v2")
	sA, rA := routeRules("a", childA)
	sB, rB := routeRules("b", childB)
	both := strings.Replace(sA, "servers:\n", "", 1)
	servers := sB + both // a and b
	f := newFixture(t, fixtureOpts{
		config: "listen: 127.0.0.1:0\nrules: rules\nupstream: " + parent + "\nadmin: {listen: 127.0.0.1:0}\n",
		files:  map[string]string{"rules/servers.yaml": servers, "rules/route.yaml": rA},
		watch:  true,
	})
	f.answeredBy(childA, "initial set")
	routeFile := filepath.Join(f.rulesDir, "route.yaml")

	f.save("rules/route.yaml", rB)
	f.awaitRules("rename-over save")
	f.answeredBy(childB, "after rename-over save")

	// vim: rename the file to a backup, write a new one, remove the backup.
	if err := os.Rename(routeFile, routeFile+"~"); err != nil {
		t.Fatal(err)
	}
	f.write("rules/route.yaml", rA)
	if err := os.Remove(routeFile + "~"); err != nil {
		t.Fatal(err)
	}
	f.awaitRules("vim-style save")
	f.answeredBy(childA, "after vim-style save")

	if err := os.Remove(routeFile); err != nil {
		t.Fatal(err)
	}
	f.awaitRules("file deleted")
	f.answeredBy("", "without route.yaml") // no rule: the parent's answer
	f.write("rules/route.yaml", rB)
	f.awaitRules("file recreated")
	f.answeredBy(childB, "after the file was recreated")

	// The whole directory goes: the reload fails, the last good set stays.
	before := f.status()
	if err := os.RemoveAll(f.rulesDir); err != nil {
		t.Fatal(err)
	}
	eventually(t, watchTimeout, "failed reload reported", func() (bool, string) {
		st := f.status()
		return st.Failures > before.Failures && strings.Contains(st.LastError, f.rulesDir), st.LastError
	})
	if st := f.status(); st.Rules.Version != before.Rules.Version {
		t.Fatalf("rules directory removed: version changed to %.12s", st.Rules.Version)
	}
	f.answeredBy(childB, "rules directory removed")
	f.write("rules/servers.yaml", servers)
	f.write("rules/route.yaml", rA)
	f.awaitRules("directory recreated")
	f.answeredBy(childA, "after the directory was recreated")
	// The new directory is watched again: a change inside it is seen.
	f.save("rules/route.yaml", rB)
	f.awaitRules("change in the recreated directory")
	f.answeredBy(childB, "change in the recreated directory")

	// A bad change: a CEL syntax error.
	bad := strings.Replace(rA, "    handler: Federation\n", "    condition: request.method ==\n    handler: Federation\n", 1)
	line := 1 + slices.IndexFunc(strings.Split(bad, "\n"), func(l string) bool { return strings.Contains(l, "condition:") })
	before = f.status()
	f.save("rules/route.yaml", bad)
	fileLine := fmt.Sprintf("%s:%d: ", routeFile, line)
	eventually(t, watchTimeout, "bad change reported", func() (bool, string) {
		st := f.status()
		return st.Failures > before.Failures && strings.Contains(st.LastError, fileLine), st.LastError
	})
	if st := f.status(); st.Rules.Version != before.Rules.Version {
		t.Fatalf("bad change: version changed")
	}
	f.answeredBy(childB, "while the bad change is on disk")
	if lines := f.logs.lines("reload failed", fileLine); len(lines) == 0 {
		t.Fatalf("no log line names %s", fileLine)
	}
	f.save("rules/route.yaml", rA)
	f.awaitRules("bad change fixed")
	if st := f.status(); st.LastError != "" {
		t.Fatalf("last_error after the fix: %q", st.LastError)
	}
	f.answeredBy(childA, "after the fix")

	// A new plugin, renamed over the old one.
	oldPID, _, _, _ := federation(t, f.status())
	f.installPlugin(variants["v2"])
	eventually(t, watchTimeout, "plugin v2 running", func() (bool, string) {
		pid, v, state, _ := federation(t, f.status())
		return v == "v2" && state == "running" && pid != oldPID, fmt.Sprintf("pid %d %s %s", pid, v, state)
	})
	f.answeredBy(childA, "after the plugin swap")
	onePluginLeft(t, f, 15*time.Second)
	zw.check()
}

// TestReload_BadRuleKeepsOldSet drives a bad change through the admin API:
// the reload answers 422 with file:line, the status shows it and the old
// set keeps answering. (`rules check` on the same set: the
// cmd/edumfa-federation tests.)
func TestReload_BadRuleKeepsOldSet(t *testing.T) {
	child := childSim(t, "child", nil)
	servers, route := routeRules("child", child)
	f := newFixture(t, fixtureOpts{files: map[string]string{"rules/servers.yaml": servers, "rules/route.yaml": route}})
	f.answeredBy(child, "initial set")
	version := f.status().Rules.Version

	// An unknown server on line 7 (the options line).
	f.write("rules/route.yaml", strings.Replace(route, "{eduMFA: child}", "{eduMFA: chlid}", 1))
	code, body := f.adminReload("")
	want := regexp.MustCompile(regexp.QuoteMeta(filepath.Join(f.rulesDir, "route.yaml")) + `:7: rule "route-to-child": .*unknown server "chlid"`)
	if code != 422 || body.OK || !want.MatchString(body.Error) {
		t.Fatalf("reload: HTTP %d ok=%v error %q", code, body.OK, body.Error)
	}
	st := f.status()
	if st.Rules.Version != version || !want.MatchString(st.LastError) || st.Failures != 1 {
		t.Fatalf("status: version %.12s (want %.12s), failures %d, last_error %q", st.Rules.Version, version, st.Failures, st.LastError)
	}
	f.answeredBy(child, "old set after the bad change")
}
