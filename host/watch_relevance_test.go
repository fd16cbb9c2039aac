package host_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/simulator"
)

// settled waits until the watcher has begun a check after the last write:
// every event so far has been acted on or ignored.
func (f *fixture) settled() {
	f.t.Helper()
	lastWrite := time.Now()
	eventually(f.t, watchTimeout, "the watcher looked at the writes", func() (bool, string) {
		return f.srv.WatchCheckedAfter(lastWrite), "no check since the last write"
	})
}

// churn writes name (below the fixture's dir) n times, 40 ms apart: a
// steady stream of events, longer than the debounce's 2 s cap for n = 50.
func (f *fixture) churn(name string, n int) {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	pace := time.NewTicker(40 * time.Millisecond)
	defer pace.Stop()
	for i := range n {
		fh, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			f.t.Fatal(err)
		}
		fmt.Fprintf(fh, "line %d\n", i)
		fh.Close()
		<-pace.C
	}
}

// TestWatch_UnrelatedFileWrites_NoReload writes a log file beside
// gateway.yaml 50 times and a non-rule file in the rules directory: no
// reload runs (no reload, no failure, no log line), and neither does a
// rescan that finds nothing new. An explicit reload always runs and says
// that nothing changed.
func TestWatch_UnrelatedFileWrites_NoReload(t *testing.T) {
	f := newFixture(t, fixtureOpts{files: map[string]string{"rules/empty.yaml": "rules: []\n"}, watch: true})
	before := f.status()
	f.churn("gateway.log", 50)
	f.churn("rules/NOTES.txt", 5)
	f.settled()
	if f.srv.CheckForChanges(t.Context()) {
		t.Fatal("a rescan with nothing changed reloaded")
	}
	st := f.status()
	if st.Reloads != before.Reloads || st.Failures != before.Failures || st.LastReload != nil {
		t.Fatalf("unrelated writes: reloads %d -> %d, failures %d, last_reload %v", before.Reloads, st.Reloads, st.Failures, st.LastReload)
	}
	if lines := f.logs.lines("reload"); len(lines) != 0 {
		t.Fatalf("log lines about reloads: %q", lines)
	}

	code, body := f.adminReload("")
	if code != 200 || body.Result.RulesChanged || body.Result.ConfigChanged {
		t.Fatalf("explicit reload: %d %+v", code, body)
	}
	if st := f.status(); st.Reloads != before.Reloads+1 {
		t.Fatalf("explicit reload not counted: %d", st.Reloads)
	}
	if lines := f.logs.lines("reload: nothing changed", "reason=admin"); len(lines) != 1 {
		t.Fatalf("log of the explicit reload: %q", lines)
	}
}

// TestWatch_BrokenRuleFile_ReportedOnce: a bad save is one failed reload
// and one ERROR line, however many unrelated events follow (a log file
// beside the config, a non-rule file among the rules, the bad file saved
// again unchanged, rescans); the old set keeps answering. The fix reloads
// once and says the error is cleared.
func TestWatch_BrokenRuleFile_ReportedOnce(t *testing.T) {
	child := childSim(t, "child", nil)
	servers, route := routeRules("child", child)
	f := newFixture(t, fixtureOpts{files: map[string]string{"rules/servers.yaml": servers, "rules/route.yaml": route}, watch: true})
	f.answeredBy(child, "initial set")
	before := f.status()
	errorsBefore := len(f.logs.lines("level=ERROR"))

	bad := strings.Replace(route, "    handler: Federation\n", "    condition: request.method ==\n    handler: Federation\n", 1)
	f.save("rules/route.yaml", bad)
	eventually(t, watchTimeout, "bad change reported", func() (bool, string) {
		st := f.status()
		return st.Failures == before.Failures+1, fmt.Sprintf("failures %d", st.Failures)
	})
	f.churn("gateway.log", 25)
	f.save("rules/route.yaml", bad)
	f.churn("rules/README.md", 10)
	f.settled()
	for range 2 {
		if f.srv.CheckForChanges(t.Context()) {
			t.Fatal("a rescan retried the unchanged bad file")
		}
	}
	st := f.status()
	if st.Failures != before.Failures+1 || st.Reloads != before.Reloads || !strings.Contains(st.LastError, "route.yaml") {
		t.Fatalf("after the churn: failures %d (want %d), reloads %d (want %d), last_error %q", st.Failures, before.Failures+1, st.Reloads, before.Reloads, st.LastError)
	}
	errs := f.logs.lines("level=ERROR")[errorsBefore:]
	if len(errs) != 1 || !strings.Contains(errs[0], "reload failed") {
		t.Fatalf("ERROR lines for one bad save: %q", errs)
	}
	f.answeredBy(child, "old set while the bad file is on disk")

	f.save("rules/route.yaml", route+"# fixed\n")
	f.awaitRules("fix")
	if st := f.status(); st.LastError != "" || st.Reloads != before.Reloads+1 || st.Failures != before.Failures+1 {
		t.Fatalf("after the fix: %+v", st)
	}
	if lines := f.logs.lines("reloaded; the last error is cleared", "rules_changed=true"); len(lines) != 1 {
		t.Fatalf("log of the fix: %q", lines)
	}
}

// TestWatch_ChildCAFileRewritten_PushedToPlugin: a TLS child whose
// certificate the configured ca_file does not sign fails (502 from the pre
// rule); rewriting the CA file (in a directory of its own, the rule files
// untouched) makes the watcher configure the plugin again, and the same
// request works.
func TestWatch_ChildCAFileRewritten_PushedToPlugin(t *testing.T) {
	oldCA, childCA := newTestCA(t, "old CA"), newTestCA(t, "child CA")
	cfg := simulator.ChildConfig()
	cfg.Name, cfg.Unsigned = "tls child", true
	child := httptest.NewUnstartedServer(simulator.New(cfg))
	child.TLS = &tls.Config{Certificates: []tls.Certificate{childCA.keyPair(t, 42, false)}}
	child.StartTLS()
	t.Cleanup(child.Close)
	_, route := routeRules("child", child.URL)
	servers := fmt.Sprintf("servers:\n  child:\n    url: %s\n    ca_file: ../pki/child-ca.pem\n    timeout: 5s\n", child.URL)
	f := newFixture(t, fixtureOpts{
		files: map[string]string{"pki/child-ca.pem": string(oldCA.pem), "rules/servers.yaml": servers, "rules/route.yaml": route},
		watch: true,
	})
	if a := f.mustCheck(bobOnChild); a.status != http.StatusBadGateway {
		t.Fatalf("child with a certificate of another CA: HTTP %d %s", a.status, a.body)
	}
	before := f.status()

	f.save("pki/child-ca.pem", string(childCA.pem))
	eventually(t, watchTimeout, "new CA in the plugin", func() (bool, string) {
		a, err := f.check(bobOnChild)
		return err == nil && a.status == 200, fmt.Sprintf("%v HTTP %d %s", err, a.status, a.body)
	})
	f.answeredBy(child.URL, "with the new CA")
	st := f.status()
	if st.Rules.Version != before.Rules.Version || st.Reloads != before.Reloads+1 || st.LastError != "" {
		t.Fatalf("after the CA change: version %.12s (was %.12s), reloads %d -> %d, last_error %q", st.Rules.Version, before.Rules.Version, before.Reloads, st.Reloads, st.LastError)
	}
	if lines := f.logs.lines("msg=reloaded", "server_files_changed=true", "rules_changed=false"); len(lines) != 1 {
		t.Fatalf("log of the CA change: %q", lines)
	}
}
