package host_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/host"
	"github.com/edumfa-federation/edumfa-federation/internal/testplugin"
	"github.com/edumfa-federation/edumfa-federation/simulator"
)

// gateway is a running gateway with a simulated parent and child on
// loopback and the real handler plugin.
type gateway struct {
	t      testing.TB
	url    string
	srv    *host.Server
	parent *simulator.Server
	child  *simulator.Server
	// childURL is the child's base URL as servers.yaml names it.
	childURL  string
	parentURL string
	dir       string
}

type gatewayOpts struct {
	rules     map[string]string // file name -> content; "CHILD" in it becomes the child URL
	config    string            // extra config lines
	noParent  bool
	childDown bool
	// parent and child, when set, replace the simulators.
	parent, child http.Handler
	// logs, when set, also receives the gateway's log lines.
	logs io.Writer
	// quiet sends the log lines nowhere but logs (for benchmarks).
	quiet bool
}

func startGateway(t testing.TB, o gatewayOpts) *gateway {
	t.Helper()
	pluginPath, err := testplugin.Build()
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{t: t, dir: t.TempDir()}
	g.parent = simulator.New(simulator.ParentConfig())
	g.child = simulator.New(simulator.ChildConfig())
	var parentHandler http.Handler = g.parent
	if o.parent != nil {
		parentHandler = o.parent
	}
	parentSrv := httptest.NewServer(parentHandler)
	t.Cleanup(parentSrv.Close)
	g.parentURL = parentSrv.URL
	if o.childDown {
		// A loopback port nobody listens on: connection refused.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		g.childURL = "http://" + ln.Addr().String()
		ln.Close()
	} else {
		var childHandler http.Handler = g.child
		if o.child != nil {
			childHandler = o.child
		}
		childSrv := httptest.NewServer(childHandler)
		t.Cleanup(childSrv.Close)
		g.childURL = childSrv.URL
	}
	rulesDir := filepath.Join(g.dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range o.rules {
		text = strings.ReplaceAll(text, "CHILD", g.childURL)
		if err := os.WriteFile(filepath.Join(rulesDir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := "listen: 127.0.0.1:0\nrules: rules\n" + o.config
	if !o.noParent {
		cfg += "upstream: " + g.parentURL + "\n"
	}
	cfgPath := filepath.Join(g.dir, "gateway.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var logOut io.Writer = &testLogWriter{t: t}
	if o.quiet {
		logOut = io.Discard
	}
	if o.logs != nil {
		logOut = io.MultiWriter(logOut, o.logs)
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	g.srv = serveGateway(t, host.Options{ConfigPath: cfgPath, DefaultHandler: pluginPath, Logger: logger, DisableWatch: true})
	g.url = "http://" + g.srv.Addr()
	return g
}

// serveGateway starts a gateway and serves it until the test ends; the
// cleanup waits (bounded) for it to stop, plugins included.
func serveGateway(t testing.TB, opts host.Options) *host.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	srv, err := host.New(ctx, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Error("gateway did not stop within 40s")
		}
	})
	return srv
}

// testLogWriter sends the gateway's log lines to the test log.
type testLogWriter struct{ t testing.TB }

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type answer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (g *gateway) do(req *http.Request) answer {
	g.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		g.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &a.json)
	return a
}

func (g *gateway) postForm(path string, form url.Values) answer {
	g.t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return g.do(req)
}

// path reads a dotted JSON path; missing -> nil.
func (a answer) path(p string) any {
	var cur any = a.json
	for _, k := range strings.Split(p, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

const serversYAML = `servers:
  child:
    url: CHILD
    timeout: 2s
`

const seedRule = `rules:
  - name: federate-on-reject
    event: validate_check
    condition: g.origin == "" && response.json.?result.?value.orValue(true) == false
    handler: Federation
    action: forward
    options: {eduMFA: child, realm: childrealm, forward_client_ip: true}
`

const unknownUserRule = `rules:
  - name: federate-unknown-user
    event: validate_check
    ordering: 20
    condition: g.origin == "" && response.json.?result.?error.?code.orValue(0) == 904
    handler: Federation
    action: forward
    options: {eduMFA: child, realm: childrealm, forward_client_ip: true}
`

const preRealmRule = `rules:
  - name: route-childrealm
    event: validate_check
    position: pre
    condition: request.all_data.?realm.orValue("") == "childrealm"
    handler: Federation
    action: forward
    options: {eduMFA: child}
`

func TestGateway_SeedScenario_TokenOnlyOnChild(t *testing.T) {
	g := startGateway(t, gatewayOpts{rules: map[string]string{"servers.yaml": serversYAML, "10.yaml": seedRule}})
	origin := g.childURL + "/validate/check"

	// dave exists on the parent without a token (value false there) and has
	// his HOTP token on the child: counter 0 is 006951.
	a := g.postForm("/validate/check", url.Values{"user": {"dave"}, "pass": {"daveotp006951"}})
	if a.status != 200 || a.path("result.value") != true || a.path("detail.origin") != origin || a.path("detail.serial") != "CHHOTP-DAVE" {
		t.Fatalf("dave: %d %s", a.status, a.body)
	}
	// bob with the child's PIN: the parent says false, the child true.
	a = g.postForm("/validate/check", url.Values{"user": {"bob"}, "pass": {"bob-child"}})
	if a.path("result.value") != true || a.path("detail.origin") != origin {
		t.Fatalf("bob child pin: %s", a.body)
	}
	// A wrong PIN stays false, with the child's origin.
	a = g.postForm("/validate/check", url.Values{"user": {"bob"}, "pass": {"wrong"}})
	if a.status != 200 || a.path("result.value") != false || a.path("detail.origin") != origin || a.path("detail.message") != "wrong otp pin" {
		t.Fatalf("bob wrong: %d %s", a.status, a.body)
	}
	// The parent's own accept is not forwarded and has no origin.
	a = g.postForm("/validate/check", url.Values{"user": {"bob"}, "pass": {"bob-parent"}})
	if a.path("result.value") != true || a.path("detail.origin") != nil || a.path("detail.serial") != "PASP-BOB" {
		t.Fatalf("bob parent pin: %s", a.body)
	}
	// The child saw the client's address as `client` and the realm option.
	var seen int
	for _, r := range g.child.Requests() {
		if r.Path == "/validate/check" {
			seen++
			if !strings.Contains(string(r.Body), "realm=childrealm") || !strings.Contains(string(r.Body), "client=127.0.0.1") {
				t.Errorf("child got body %q", r.Body)
			}
		}
	}
	if seen != 3 {
		t.Fatalf("child saw %d checks, want 3", seen)
	}
}

func TestGateway_UnknownUserFederatedOn904(t *testing.T) {
	g := startGateway(t, gatewayOpts{rules: map[string]string{"servers.yaml": serversYAML, "20.yaml": unknownUserRule}})
	// carol exists only on the child: the parent answers ERR904.
	a := g.postForm("/validate/check", url.Values{"user": {"carol"}, "pass": {"carol-child"}})
	if a.status != 200 || a.path("result.value") != true || a.path("detail.origin") != g.childURL+"/validate/check" {
		t.Fatalf("carol: %d %s", a.status, a.body)
	}
	// Unknown everywhere: the child's own ERR904 envelope reaches the
	// client intact, with origin added to the null detail.
	a = g.postForm("/validate/check", url.Values{"user": {"nobody"}, "pass": {"x"}})
	if a.status != 400 || a.path("result.error.code") != float64(904) || a.path("detail.origin") != g.childURL+"/validate/check" {
		t.Fatalf("nobody: %d %s", a.status, a.body)
	}
	if msg, _ := a.path("result.error.message").(string); msg != "ERR904: User <nobody@childrealm> does not exist." {
		t.Fatalf("child error message lost: %q", msg)
	}
}

func TestGateway_PreRuleAnswersWithoutParent(t *testing.T) {
	g := startGateway(t, gatewayOpts{rules: map[string]string{"servers.yaml": serversYAML, "30.yaml": preRealmRule, "10.yaml": seedRule}})
	a := g.postForm("/validate/check", url.Values{"user": {"bob"}, "realm": {"childrealm"}, "pass": {"bob-child"}})
	if a.path("result.value") != true || a.path("detail.origin") != g.childURL+"/validate/check" {
		t.Fatalf("pre: %s", a.body)
	}
	for _, r := range g.parent.Requests() {
		if r.Path == "/validate/check" {
			t.Fatalf("the parent was called: %+v", r)
		}
	}
}

func TestGateway_ChildDown(t *testing.T) {
	rulesPost := seedRule
	rulesPre := strings.ReplaceAll(preRealmRule, "route-childrealm", "pre-down")
	g := startGateway(t, gatewayOpts{childDown: true, rules: map[string]string{"servers.yaml": serversYAML, "10.yaml": rulesPost, "30.yaml": rulesPre}})

	start := time.Now()
	// post rule, on_error keep (default): the parent's own answer.
	a := g.postForm("/validate/check", url.Values{"user": {"bob"}, "pass": {"wrong"}})
	if a.status != 200 || a.path("result.value") != false || a.path("detail.origin") != nil || a.path("detail.message") != "wrong otp pin" {
		t.Fatalf("post keep: %d %s", a.status, a.body)
	}
	// pre rule, on_error error (default): an envelope naming the child.
	a = g.postForm("/validate/check", url.Values{"user": {"bob"}, "realm": {"childrealm"}, "pass": {"x"}})
	if a.status != http.StatusBadGateway || a.path("result.status") != false || a.path("result.error.code") != float64(-502) {
		t.Fatalf("pre error: %d %s", a.status, a.body)
	}
	if msg, _ := a.path("result.error.message").(string); !strings.Contains(msg, `"child"`) || !strings.Contains(msg, "unreachable") {
		t.Fatalf("message does not name the child and cause: %q", msg)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("took %v, more than the child's 2s timeout allows", d)
	}
}

func TestGateway_ProxiesUnmatchedAndNonEventRequests(t *testing.T) {
	g := startGateway(t, gatewayOpts{rules: map[string]string{"servers.yaml": serversYAML, "10.yaml": seedRule}})
	// An event request no rule forwards: the parent's answer byte for byte.
	direct := func(path string, form url.Values, auth string) answer {
		req, _ := http.NewRequest(http.MethodPost, g.parentURL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return g.do(req)
	}
	a := g.postForm("/validate/check", url.Values{"user": {"alice"}, "pass": {"alice-parent"}})
	b := direct("/validate/check", url.Values{"user": {"alice"}, "pass": {"alice-parent"}}, "")
	if a.status != b.status || a.path("detail.serial") != "PASP-ALICE" || a.path("detail.origin") != nil {
		t.Fatalf("unmatched: %d %s", a.status, a.body)
	}
	// /auth then /system/ (no event): proxied with the Authorization and
	// the simulator's cookie.
	login := g.postForm("/auth", url.Values{"username": {simulator.AdminName}, "password": {simulator.AdminPassword}})
	token, _ := login.path("result.value.token").(string)
	if token == "" {
		t.Fatalf("auth through the gateway: %d %s", login.status, login.body)
	}
	req, _ := http.NewRequest(http.MethodGet, g.url+"/system/", nil)
	req.Header.Set("Authorization", token)
	sys := g.do(req)
	if sys.status != 200 || sys.path("result.status") != true || sys.header.Get("Set-Cookie") == "" {
		t.Fatalf("/system/: %d %v %s", sys.status, sys.header, sys.body)
	}
	// A redirect is relayed, not followed.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(g.url + "/system")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect {
		t.Fatalf("/system: status %d, want the parent's 308", resp.StatusCode)
	}
	// Unknown route: the parent's HTML 404 passes through.
	resp, err = http.Get(g.url + "/no/such/route")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("unknown route: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestGateway_NoUpstream(t *testing.T) {
	g := startGateway(t, gatewayOpts{noParent: true, rules: map[string]string{"servers.yaml": serversYAML, "20.yaml": `rules:
  - name: everything-to-child
    event: validate_check
    handler: Federation
    action: forward
    options: {eduMFA: child}
`}})
	a := g.postForm("/validate/check", url.Values{"user": {"bob"}, "pass": {"bob-child"}})
	if a.path("result.value") != true || a.path("detail.origin") != g.childURL+"/validate/check" {
		t.Fatalf("post rule on the no-upstream envelope: %s", a.body)
	}
	resp, err := http.Get(g.url + "/system/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), `"code": 601`) {
		t.Fatalf("no upstream: %d %s", resp.StatusCode, b)
	}
}
