package host_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// gate holds the next request to a child until released (or until the
// connection goes away), so that a test can act while the plugin is in
// the middle of forwarding it.
type gate struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 1), release: make(chan struct{})} }

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.armed.CompareAndSwap(true, false) {
			g.entered <- struct{}{}
			select {
			case <-g.release:
			case <-r.Context().Done():
				return // the plugin that sent it is gone
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (g *gate) awaitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the request did not reach the child")
	}
}

const superviseRules = `rules:
  - name: federate-on-reject
    event: validate_check
    condition: g.origin == "" && response.json.?result.?value.orValue(true) == false
    handler: Federation
    action: forward
    options: {eduMFA: child}
  - name: route-childrealm
    event: validate_check
    position: pre
    condition: request.all_data.?realm.orValue("") == "childrealm"
    handler: Federation
    action: forward
    options: {eduMFA: child}
`

// inFlight sends a check in the background and returns its answer later.
func (f *fixture) inFlight(form url.Values) func() answer {
	type result struct {
		a   answer
		err error
	}
	ch := make(chan result, 1)
	go func() {
		a, err := f.check(form)
		ch <- result{a, err}
	}()
	return func() answer {
		f.t.Helper()
		select {
		case r := <-ch:
			if r.err != nil {
				f.t.Fatal(r.err)
			}
			return r.a
		case <-time.After(30 * time.Second):
			f.t.Fatal("no answer within 30s")
			return answer{}
		}
	}
}

// awaitRestart waits for a new plugin process after crash number crashes
// and checks that the old one is gone and was reaped.
func (f *fixture) awaitRestart(oldPID int, crashes int64) {
	f.t.Helper()
	eventually(f.t, 20*time.Second, "plugin restarted", func() (bool, string) {
		pid, _, state, n := federation(f.t, f.status())
		return pid != oldPID && pid != 0 && state == "running" && n == crashes, fmt.Sprintf("pid %d state %s crashes %d", pid, state, n)
	})
	eventually(f.t, 5*time.Second, "old plugin reaped", func() (bool, string) {
		p, ok := readProc(oldPID)
		return !ok, fmt.Sprintf("pid %d state %c", oldPID, p.state)
	})
}

// TestSupervise_PluginKilledMidRequest SIGKILLs the plugin while it is
// forwarding a request (the child holds it): a post rule's request gets the
// parent's own answer, a pre rule's an eduMFA error envelope saying the
// plugin failed; each time the plugin is restarted and the next request is
// forwarded again.
func TestSupervise_PluginKilledMidRequest(t *testing.T) {
	zw := watchZombies(t)
	g := newGate()
	child := childSim(t, "child", g.wrap)
	parent := parentSim(t, "parent")
	servers, _ := routeRules("child", child)
	f := newFixture(t, fixtureOpts{
		config: "listen: 127.0.0.1:0\nrules: rules\nupstream: " + parent + "\nadmin: {listen: 127.0.0.1:0}\n",
		files:  map[string]string{"rules/servers.yaml": servers, "rules/rules.yaml": superviseRules},
	})
	kill := func() int {
		t.Helper()
		pid, _, _, _ := federation(t, f.status())
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		return pid
	}

	// Post rule: the parent said false, the rule forwards, the plugin dies.
	g.armed.Store(true)
	wait := f.inFlight(bobOnChild)
	g.awaitEntered(t)
	pid := kill()
	a := wait()
	if a.status != 200 || a.path("result.value") != false || a.path("detail.origin") != nil ||
		a.path("detail.message") != "wrong otp pin" || a.header.Get("X-eduMFA-Simulator") != "parent" {
		t.Fatalf("post rule, plugin killed: HTTP %d %v %s", a.status, a.header, a.body)
	}
	f.awaitRestart(pid, 1)
	a = f.mustCheck(bobOnChild)
	if a.path("result.value") != true || a.path("detail.origin") != child+"/validate/check" {
		t.Fatalf("post rule after the restart: %s", a.body)
	}

	// Pre rule: there is no parent answer to keep.
	preForm := url.Values{"user": {"bob"}, "realm": {"childrealm"}, "pass": {"bob-child"}}
	g.armed.Store(true)
	wait = f.inFlight(preForm)
	g.awaitEntered(t)
	pid = kill()
	a = wait()
	msg, _ := a.path("result.error.message").(string)
	if a.status != http.StatusBadGateway || a.path("result.status") != false || a.path("result.error.code") != float64(-502) {
		t.Fatalf("pre rule, plugin killed: HTTP %d %s", a.status, a.body)
	}
	for _, want := range []string{`rule "route-childrealm"`, "handler plugin Federation", "crashed", `child eduMFA "child"`, "not retried"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
	f.awaitRestart(pid, 2)
	a = f.mustCheck(preForm)
	if a.path("result.value") != true || a.path("detail.origin") != child+"/validate/check" {
		t.Fatalf("pre rule after the restart: %s", a.body)
	}
	close(g.release)
	onePluginLeft(t, f, 10*time.Second)
	zw.check()
}

// TestSupervise_HungPluginReplaced stops the plugin process (SIGSTOP: it
// keeps its connections but answers nothing). The request in flight ends
// at its deadline with the parent's answer, the failed call makes the
// supervisor check the plugin's health at once, and the hung process is
// killed (go-plugin's graceful Kill would wait for it forever) and
// replaced.
func TestSupervise_HungPluginReplaced(t *testing.T) {
	zw := watchZombies(t)
	child := childSim(t, "child", nil)
	parent := parentSim(t, "parent")
	servers, _ := routeRules("child", child)
	f := newFixture(t, fixtureOpts{
		config: "listen: 127.0.0.1:0\nrules: rules\nupstream: " + parent + "\ndeadline: 1500ms\nadmin: {listen: 127.0.0.1:0}\n",
		files:  map[string]string{"rules/servers.yaml": servers, "rules/rules.yaml": superviseRules},
	})
	pid, _, _, _ := federation(t, f.status())
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // if the test fails before it is replaced
	start := time.Now()
	a := f.mustCheck(bobOnChild)
	if a.status != 200 || a.path("result.value") != false || a.path("detail.origin") != nil {
		t.Fatalf("request to the hung plugin: HTTP %d %s", a.status, a.body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("answer after %v, the deadline is 1.5s", d)
	}
	f.awaitRestart(pid, 1)
	a = f.mustCheck(bobOnChild)
	if a.path("result.value") != true || a.path("detail.origin") != child+"/validate/check" {
		t.Fatalf("after the replacement: %s", a.body)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Fatalf("the hung plugin %d still exists", pid)
	}
	onePluginLeft(t, f, 10*time.Second)
	zw.check()
}
