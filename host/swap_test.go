package host_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/host"
)

// brokenRoute is a route file that sends every check to server c (child C)
// and has one broken rule below it. Loaded at all, it would make child C
// answer; the whole set must be refused instead.
func brokenRoute(kind int) (defect, text string) {
	cond, opts := `request.method == "POST"`, "{eduMFA: c}"
	switch kind % 5 {
	case 0:
		defect, cond = "CEL syntax error", "request.method =="
	case 1:
		defect, opts = "unknown option", "{eduMFA: c, colour: red}"
	case 2:
		defect, opts = "unknown server", "{eduMFA: nowhere}"
	case 3:
		defect, cond = "condition not bool", "request.method"
	case 4:
		return "YAML syntax error", "rules:\n  - name: route-to-c\n    event: [validate_check\n"
	}
	return defect, fmt.Sprintf(`rules:
  - name: route-to-c
    event: validate_check
    position: pre
    ordering: 1
    handler: Federation
    action: forward
    options: {eduMFA: c}
  - name: broken
    event: validate_check
    position: pre
    handler: Federation
    action: forward
    condition: %s
    options: %s
`, cond, opts)
}

// reply is one request of the load and its answer.
type reply struct {
	start, end time.Time
	status     int
	value      any
	origin     string
	body       string
	err        error
}

// epoch is the time a valid rule set may have been answering: from the
// start of the reload that installed it to the end of the reload that
// replaced it (a request leases the set it started with, so one that
// started before that end may finish on it later).
type epoch struct {
	origin   string
	from, to time.Time
}

// TestSwap_UnderLoad_NoFailedRequests swaps the rules 24 times (12 valid
// sets alternating between children A and B, each defining only the
// server it uses, and 12 invalid ones that would route to child C) and
// replaces the plugin executable 3 times (plus one forced swap), through
// Server.Reload and POST /admin/reload, while 3 clients send a steady
// stream of checks. Every request must succeed and be answered by a set
// that was valid at the time; at the end exactly one plugin process runs.
func TestSwap_UnderLoad_NoFailedRequests(t *testing.T) {
	zw := watchZombies(t)
	childA := childSim(t, "child A", nil)
	childB := childSim(t, "child B", nil)
	childC := childSim(t, "child C", nil)
	parent := parentSim(t, "parent")
	variants := buildPlugins(t, t.TempDir(), "v1", "v2", "v3", "v4")
	servers, route := routeRules("a", childA)
	f := newFixture(t, fixtureOpts{
		plugin: variants["v1"],
		config: "listen: 127.0.0.1:0\nrules: rules\nupstream: " + parent + "\nadmin: {listen: 127.0.0.1:0}\n",
		files:  map[string]string{"rules/servers.yaml": servers, "rules/route.yaml": route},
	})
	originOf := map[string]string{"a": childA + "/validate/check", "b": childB + "/validate/check"}
	forbidden := childC + "/validate/check"

	// The load: 3 clients, bounded.
	const clients, maxRequests = 3, 40000
	var (
		mu      sync.Mutex
		replies []reply
		sent    atomic.Int64
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent.Add(1) <= maxRequests {
				select {
				case <-stop:
					return
				default:
				}
				r := reply{start: time.Now()}
				a, err := f.check(bobOnChild)
				r.end, r.err = time.Now(), err
				if err == nil {
					r.status, r.value, r.body = a.status, a.path("result.value"), string(a.body)
					r.origin, _ = a.path("detail.origin").(string)
				}
				mu.Lock()
				replies = append(replies, r)
				mu.Unlock()
			}
		}()
	}
	answered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(replies)
	}
	// waitTraffic makes every swap happen under load: n more answers first.
	waitTraffic := func(n int) {
		t.Helper()
		target := answered() + n
		eventually(t, 20*time.Second, "load answers", func() (bool, string) {
			got := answered()
			return got >= target, fmt.Sprintf("%d answers, want %d", got, target)
		})
	}

	epochs := []epoch{{origin: originOf["a"]}}
	version := f.status().Rules.Version
	pid, _, _, _ := federation(t, f.status())
	pluginVersion := "v1"

	// reload runs one reload through Server.Reload or the admin API and
	// returns what it reported.
	reload := func(viaAdmin, forcePlugins bool) (rulesChanged bool, swapped []string, errText string) {
		t.Helper()
		if viaAdmin {
			q := ""
			if forcePlugins {
				q = "?plugins=1"
			}
			code, body := f.adminReload(q)
			if body.OK != (code == 200) {
				t.Fatalf("admin reload: HTTP %d but ok=%v", code, body.OK)
			}
			return body.Result.RulesChanged, body.Result.PluginsSwapped, body.Error
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := f.srv.Reload(ctx, host.ReloadRequest{Plugins: forcePlugins, Reason: "test"})
		if err != nil {
			errText = err.Error()
		}
		return res.RulesChanged, res.PluginsSwapped, errText
	}
	fileLine := regexp.MustCompile(`/rules/route\.yaml:(\d+): `)

	swaps, invalid, pluginSwaps := 0, 0, 0
	for i := 1; i <= 24; i++ {
		waitTraffic(8)
		viaAdmin := i%2 == 0
		valid := i%2 == 1
		var newPlugin string
		switch i {
		case 12: // a plugin upgrade while the rule files are broken
			newPlugin = "v3"
		case 17: // a plugin upgrade and a rule change in one reload
			newPlugin = "v4"
		}
		if i == 6 {
			// A plugin upgrade alone, found by its changed checksum.
			f.installPlugin(variants["v2"])
			_, swapped, errText := reload(true, false)
			if errText != "" || !slices.Equal(swapped, []string{"Federation"}) {
				t.Fatalf("plugin v2: swapped %v, error %q", swapped, errText)
			}
			pluginVersion = "v2"
			pluginSwaps++
			waitTraffic(8)
		}
		if newPlugin != "" {
			f.installPlugin(variants[newPlugin])
		}
		var wantOrigin, defect string
		if valid {
			id := []string{"a", "b"}[(swaps+1)%2]
			servers, route := routeRules(id, map[string]string{"a": childA, "b": childB}[id])
			f.write("rules/servers.yaml", servers)
			f.write("rules/route.yaml", route)
			wantOrigin = originOf[id]
		} else {
			var text string
			defect, text = brokenRoute(invalid)
			cServers, _ := routeRules("c", childC)
			f.write("rules/servers.yaml", cServers)
			f.write("rules/route.yaml", text)
		}
		start := time.Now()
		changed, swapped, errText := reload(viaAdmin, false)
		end := time.Now()
		if newPlugin != "" {
			if !slices.Equal(swapped, []string{"Federation"}) {
				t.Fatalf("swap %d: plugin %s not swapped (%v): %s", i, newPlugin, swapped, errText)
			}
			pluginVersion = newPlugin
			pluginSwaps++
		}
		st := f.status()
		if valid {
			if errText != "" || !changed {
				t.Fatalf("swap %d (valid): changed %v, error %q", i, changed, errText)
			}
			if want := f.rulesHash(); st.Rules.Version != want || st.LastError != "" {
				t.Fatalf("swap %d: status version %.12s, want %.12s; last_error %q", i, st.Rules.Version, want, st.LastError)
			}
			epochs[len(epochs)-1].to = end
			epochs = append(epochs, epoch{origin: wantOrigin, from: start})
			version = st.Rules.Version
			swaps++
		} else {
			if errText == "" || changed {
				t.Fatalf("swap %d (%s): accepted", i, defect)
			}
			if !fileLine.MatchString(errText) {
				t.Fatalf("swap %d (%s): error without route.yaml:line: %q", i, defect, errText)
			}
			if st.Rules.Version != version || st.LastError != errText {
				t.Fatalf("swap %d (%s): status version %.12s (want the old %.12s), last_error %q, want %q", i, defect, st.Rules.Version, version, st.LastError, errText)
			}
			invalid++
		}
		p, v, state, _ := federation(t, st)
		if v != pluginVersion || state != "running" {
			t.Fatalf("swap %d: plugin %s %s, want %s running", i, v, state, pluginVersion)
		}
		if newPlugin != "" && p == pid {
			t.Fatalf("swap %d: plugin pid %d unchanged after the upgrade", i, p)
		}
		pid = p
		if i == 21 {
			// Forced blue/green swap of the same executable.
			waitTraffic(8)
			_, swapped, errText := reload(true, true)
			if errText != "" || !slices.Equal(swapped, []string{"Federation"}) {
				t.Fatalf("forced swap: swapped %v, error %q", swapped, errText)
			}
			if p, _, _, _ := federation(t, f.status()); p == pid {
				t.Fatalf("forced swap: pid %d unchanged", p)
			} else {
				pid = p
			}
			pluginSwaps++
		}
	}
	waitTraffic(8)
	close(stop)
	wg.Wait()
	epochs[len(epochs)-1].to = time.Now().Add(time.Hour)

	mu.Lock()
	defer mu.Unlock()
	perEpoch := make([]int, len(epochs))
	var failed []string
	for _, r := range replies {
		if r.err != nil || r.status != 200 || r.value != true || r.origin == forbidden {
			failed = append(failed, fmt.Sprintf("%s: err %v, HTTP %d, %s", r.start.Format("15:04:05.000"), r.err, r.status, r.body))
			continue
		}
		ok := false
		for i, e := range epochs {
			if e.origin == r.origin && !e.from.After(r.end) && !e.to.Before(r.start) {
				ok = true
				perEpoch[i]++
			}
		}
		if !ok {
			failed = append(failed, fmt.Sprintf("%s-%s: answered by %s, which no valid set in force then routes to",
				r.start.Format("15:04:05.000"), r.end.Format("15:04:05.000"), r.origin))
		}
	}
	for i, e := range failed {
		if i == 10 {
			t.Errorf("... %d more", len(failed)-10)
			break
		}
		t.Error(e)
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d requests failed", len(failed), len(replies))
	}
	for i, n := range perEpoch {
		if n == 0 {
			t.Errorf("valid set %d (%s) answered no request", i, epochs[i].origin)
		}
	}
	t.Logf("%d requests, 0 failed; %d valid and %d invalid rule swaps, %d plugin swaps", len(replies), swaps, invalid, pluginSwaps)
	if swaps < 10 || invalid < 10 || pluginSwaps < 4 {
		t.Fatalf("swaps: %d valid, %d invalid, %d plugin", swaps, invalid, pluginSwaps)
	}
	onePluginLeft(t, f, 15*time.Second)
	zw.check()
}
