package host_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/host"
	"github.com/edumfa-federation/edumfa-federation/simulator"
)

// parentName is the simulator that answered a request the gateway proxied.
func (f *fixture) parentName() string {
	f.t.Helper()
	resp, err := f.client.Get(f.url + "/system/")
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get(simulator.HeaderSimulator)
}

// TestWatch_ConfigChange_AppliedExceptListeners changes the config file
// under a running gateway (noticed by the watcher): the new upstream and
// admin token apply at once; the changed listen address is
// reported in the status as needing a restart and not applied (the gateway
// keeps answering where it listens), and the report stays through later
// reloads until the file matches the running listeners again.
func TestWatch_ConfigChange_AppliedExceptListeners(t *testing.T) {
	p1, p2 := parentSim(t, "parent one"), parentSim(t, "parent two")
	cfg := func(listen, upstream, token, adminListen string) string {
		return fmt.Sprintf("listen: %s\nrules: rules\nupstream: %s\ndeadline: 10s\nadmin: {listen: %q, token: %s}\n", listen, upstream, adminListen, token)
	}
	f := newFixture(t, fixtureOpts{
		config: cfg("127.0.0.1:0", p1, "first-token", "127.0.0.1:0"),
		files:  map[string]string{"rules/empty.yaml": "rules: []\n"},
		watch:  true,
	})
	f.token = "first-token"
	if got := f.parentName(); got != "parent one" {
		t.Fatalf("upstream: %q", got)
	}
	gatewayURL := f.url

	// listen, upstream and token change at once.
	f.save("gateway.yaml", cfg("127.0.0.1:1", p2, "second-token", "127.0.0.1:0")+"plugins:\n  Federation: "+f.plugin+"\n")
	f.token = "second-token"
	eventually(t, watchTimeout, "config reloaded", func() (bool, string) {
		resp, err := f.adminCall(http.MethodGet, "/admin/status", f.token)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return false, resp.Status
		}
		st := f.status()
		return st.NeedsRestart == "listen", fmt.Sprintf("needs_restart %q, last_error %q", st.NeedsRestart, st.LastError)
	})
	if f.url != gatewayURL || f.parentName() != "parent two" {
		t.Fatalf("after the reload: upstream %q at %s", f.parentName(), f.url)
	}
	if resp, err := f.adminCall(http.MethodGet, "/admin/status", "first-token"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("old token: %v %v", resp.Status, err)
	}

	// Another reload (a rule change) keeps reporting the listen change.
	f.save("rules/empty.yaml", "rules: []\n# changed\n")
	code, body := f.adminReload("")
	if code != 200 || !body.Result.RulesChanged || !slices.Equal(body.Result.NeedsRestart, []string{"listen"}) {
		t.Fatalf("second reload: %d %+v", code, body)
	}
	if st := f.status(); st.NeedsRestart != "listen" {
		t.Fatalf("needs_restart after a later reload: %q", st.NeedsRestart)
	}

	// The admin listener's address needs a restart too; back to the
	// running listen address clears that part.
	f.save("gateway.yaml", cfg("127.0.0.1:0", p2, "second-token", "127.0.0.1:9")+"plugins:\n  Federation: "+f.plugin+"\n")
	code, body = f.adminReload("")
	if code != 200 || !slices.Equal(body.Result.NeedsRestart, []string{"admin.listen"}) {
		t.Fatalf("admin.listen change: %d %+v", code, body)
	}
	if st := f.status(); st.NeedsRestart != "admin.listen" {
		t.Fatalf("needs_restart: %q", st.NeedsRestart)
	}
	f.save("gateway.yaml", cfg("127.0.0.1:0", p2, "second-token", "127.0.0.1:0")+"plugins:\n  Federation: "+f.plugin+"\n")
	code, body = f.adminReload("")
	if code != 200 || len(body.Result.NeedsRestart) != 0 || f.status().NeedsRestart != "" {
		t.Fatalf("listeners as running: %d %+v", code, body)
	}

	// A config that does not parse keeps the running one.
	f.save("gateway.yaml", "listen: 127.0.0.1:0\nrules: rules\nupstream: not a url\n")
	code, body = f.adminReload("")
	if code != 422 || !strings.Contains(body.Error, "upstream") || f.parentName() != "parent two" {
		t.Fatalf("bad config: %d %q, upstream %q", code, body.Error, f.parentName())
	}
}

// TestAdmin_TokenRequiredBeyondLoopback: an admin listener beyond loopback
// needs a token, and every call without the exact bearer token gets 401
// (the comparison is constant time by construction: both sides are
// hashed and compared with crypto/subtle, which a test cannot time).
func TestAdmin_TokenRequiredBeyondLoopback(t *testing.T) {
	_, err := host.ParseConfig([]byte("listen: 127.0.0.1:0\nrules: rules\nadmin: {listen: \"0.0.0.0:0\"}\n"), "gateway.yaml")
	if err == nil || !strings.Contains(err.Error(), "admin.token: required") {
		t.Fatalf("admin on 0.0.0.0 without a token: %v", err)
	}
	const token = "s3cret-admin-token"
	f := newFixture(t, fixtureOpts{
		config: "listen: 127.0.0.1:0\nrules: rules\nadmin: {listen: \"0.0.0.0:0\", token: " + token + "}\n",
		files:  map[string]string{"rules/empty.yaml": "rules: []\n"},
	})
	before := f.srv.Status().Reloads
	for _, auth := range []string{
		"",
		"Bearer",
		"Bearer ",
		"Bearer wrong",
		"Bearer " + token[:len(token)-1] + "X", // same length
		"Bearer " + token + "x",                // longer
		"Bearer " + token[:4],                  // a prefix
		"Basic " + token,
		token,
	} {
		for _, call := range []struct{ method, path string }{{http.MethodGet, "/admin/status"}, {http.MethodPost, "/admin/reload"}} {
			req, _ := http.NewRequest(call.method, f.admin+call.path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := f.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with %q: %s", call.method, call.path, auth, resp.Status)
			}
		}
	}
	if n := f.srv.Status().Reloads; n != before {
		t.Fatalf("an unauthorized reload ran (%d reloads)", n-before)
	}
	for _, auth := range []string{"Bearer " + token, "bearer " + token} {
		req, _ := http.NewRequest(http.MethodGet, f.admin+"/admin/status", nil)
		req.Header.Set("Authorization", auth)
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%q: %s", auth, resp.Status)
		}
	}
}
