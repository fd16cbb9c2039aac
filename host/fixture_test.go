package host_test

// The fixture of the reload, swap and supervision tests: a gateway started
// from files in a temp dir (config, rules, its own copy of the real plugin),
// so that the files can be changed under it, with unsigned simulators as
// parent and children on loopback.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/host"
	"github.com/edumfa-federation/edumfa-federation/internal/testplugin"
	"github.com/edumfa-federation/edumfa-federation/rules"
	"github.com/edumfa-federation/edumfa-federation/simulator"
)

// versionFlag sets the plugin's reported version at link time.
const versionFlag = "-X github.com/edumfa-federation/edumfa-federation/actions/forward.Version="

type fixture struct {
	t        *testing.T
	dir      string
	cfgPath  string
	rulesDir string // the rules path as configured, made absolute
	plugin   string // the configured plugin executable (a private copy)
	srv      *host.Server
	url      string
	admin    string // admin API base URL; "" without one
	token    string // bearer token for admin calls; "" for none
	logs     *logBuffer
	client   *http.Client
}

type fixtureOpts struct {
	// config is the whole config file except `plugins:`; PLUGIN in it
	// becomes the plugin path. Default: listen, rules: rules, admin on
	// loopback.
	config string
	// files are written below dir before the gateway starts (rules files
	// are e.g. "rules/10.yaml").
	files map[string]string
	// layout runs before the gateway starts, for layouts files cannot
	// describe (symlinks).
	layout func(dir string)
	// rules is the rules path relative to dir (default "rules").
	rules string
	// watch turns the file watcher on.
	watch bool
	// plugin, if set, is installed as the plugin instead of the shared
	// test build.
	plugin string
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), logs: &logBuffer{t: t}}
	f.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(f.client.CloseIdleConnections)
	if o.rules == "" {
		o.rules = "rules"
	}
	f.rulesDir = filepath.Join(f.dir, o.rules)
	if err := os.MkdirAll(filepath.Join(f.dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.plugin = filepath.Join(f.dir, "bin", "federation-handler")
	src := o.plugin
	if src == "" {
		var err error
		if src, err = testplugin.Build(); err != nil {
			t.Fatal(err)
		}
	}
	// A private copy: the shared build's directory is renamed into by other
	// test processes, and its path would not tell our processes apart.
	copyFile(t, src, f.plugin)
	for name, text := range o.files {
		f.write(name, text)
	}
	if o.layout != nil {
		o.layout(f.dir)
	}
	cfg := o.config
	if cfg == "" {
		cfg = "listen: 127.0.0.1:0\nrules: " + o.rules + "\nadmin: {listen: 127.0.0.1:0}\n"
	}
	cfg += "plugins:\n  Federation: " + f.plugin + "\n"
	f.cfgPath = filepath.Join(f.dir, "gateway.yaml")
	f.write("gateway.yaml", cfg)

	logger := slog.New(&filterHandler{h: slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelInfo})})
	srv := serveGateway(t, host.Options{ConfigPath: f.cfgPath, Logger: logger, DisableWatch: !o.watch})
	f.srv = srv
	f.url = "http://" + srv.Addr()
	if a := srv.AdminAddr(); a != "" {
		// A wildcard listener is reached over loopback.
		_, port, _ := net.SplitHostPort(a)
		f.admin = "http://" + net.JoinHostPort("127.0.0.1", port)
	}
	return f
}

// write writes a file below the fixture's dir in place.
func (f *fixture) write(name, text string) {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// save writes a file the way most editors and config tools do: a temp file
// in the same directory renamed over the old one.
func (f *fixture) save(name, text string) {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		f.t.Fatal(err)
	}
}

// installPlugin replaces the configured plugin executable with src by
// rename (src is moved; it must be on the same file system).
func (f *fixture) installPlugin(src string) {
	f.t.Helper()
	if err := os.Rename(src, f.plugin); err != nil {
		f.t.Fatal(err)
	}
}

// rulesHash is the version the rules on disk would load as.
func (f *fixture) rulesHash() string {
	f.t.Helper()
	h, err := rules.HashPath(f.rulesDir)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// status is GET /admin/status.
func (f *fixture) status() adminStatus {
	f.t.Helper()
	var st adminStatus
	resp, err := f.adminCall(http.MethodGet, "/admin/status", f.token)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		f.t.Fatalf("status: %d %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		f.t.Fatal(err)
	}
	return st
}

// adminReload is POST /admin/reload; it returns the HTTP status and the
// decoded body.
func (f *fixture) adminReload(query string) (int, adminReloadBody) {
	f.t.Helper()
	var body adminReloadBody
	resp, err := f.adminCall(http.MethodPost, "/admin/reload"+query, f.token)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, body
}

// adminCall calls the admin API with token ("" sends no Authorization).
func (f *fixture) adminCall(method, path, token string) (*http.Response, error) {
	req, err := http.NewRequest(method, f.admin+path, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return f.client.Do(req)
}

// adminStatus is the JSON of GET /admin/status, decoded into the host's own
// type.
type adminStatus = host.StatusReport

type adminReloadBody struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error"`
	Result struct {
		RulesChanged       bool     `json:"rules_changed"`
		ConfigChanged      bool     `json:"config_changed"`
		ServerFilesChanged bool     `json:"server_files_changed"`
		PluginsSwapped     []string `json:"plugins_swapped"`
		TLSReloaded        []string `json:"tls_reloaded"`
		NeedsRestart       []string `json:"needs_restart"`
	} `json:"result"`
}

// federation is the plugin's entry in the status.
func federation(t *testing.T, st adminStatus) (pid int, version, state string, crashes int64) {
	t.Helper()
	for _, p := range st.Plugins {
		if p.Handler == "Federation" {
			return p.PID, p.Version, p.State, p.Crashes
		}
	}
	t.Fatalf("no Federation plugin in status: %+v", st.Plugins)
	return 0, "", "", 0
}

// check is POST /validate/check with form values; err is a transport error.
func (f *fixture) check(form url.Values) (answer, error) {
	req, err := http.NewRequest(http.MethodPost, f.url+"/validate/check", strings.NewReader(form.Encode()))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &a.json)
	return a, nil
}

// mustCheck is check that fails the test on a transport error.
func (f *fixture) mustCheck(form url.Values) answer {
	f.t.Helper()
	a, err := f.check(form)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// startSim serves a simulator (unsigned: key generation is slow) on
// loopback, optionally behind wrap, and returns its base URL.
func startSim(t *testing.T, cfg simulator.Config, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	cfg.Unsigned = true
	var h http.Handler = simulator.New(cfg)
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func childSim(t *testing.T, name string, wrap func(http.Handler) http.Handler) string {
	cfg := simulator.ChildConfig()
	cfg.Name = name
	return startSim(t, cfg, wrap)
}

func parentSim(t *testing.T, name string) string {
	cfg := simulator.ParentConfig()
	cfg.Name = name
	return startSim(t, cfg, nil)
}

// buildPlugins builds one plugin per version into dir, in parallel; the
// result maps version to path.
func buildPlugins(t *testing.T, dir string, versions ...string) map[string]string {
	t.Helper()
	root, err := testplugin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	errs := make([]error, len(versions))
	var wg sync.WaitGroup
	for i, v := range versions {
		p := filepath.Join(dir, "federation-handler-"+v)
		out[v] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = testplugin.BuildTo(root, p, versionFlag+v)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".copy"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond every 20 ms until it holds or timeout passes; the
// failure names what was awaited and cond's last report.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not within %v; last: %s", what, timeout, last)
		}
	}
}

// logBuffer keeps the gateway's log lines for assertions and passes them
// to the test log.
type logBuffer struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// lines returns the log lines containing every one of subs.
func (l *logBuffer) lines(subs ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.buf.String(), "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

// filterHandler drops the per-request log lines of the gateway and the
// plugin (thousands under load).
type filterHandler struct{ h slog.Handler }

func (f *filterHandler) Enabled(ctx context.Context, l slog.Level) bool { return f.h.Enabled(ctx, l) }
func (f *filterHandler) Handle(ctx context.Context, r slog.Record) error {
	if (r.Message == "request" || r.Message == "forwarded") && r.Level < slog.LevelWarn {
		return nil
	}
	return f.h.Handle(ctx, r)
}
func (f *filterHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return &filterHandler{h: f.h.WithAttrs(a)}
}
func (f *filterHandler) WithGroup(name string) slog.Handler {
	return &filterHandler{h: f.h.WithGroup(name)}
}

// routeRules is a rule set of one pre rule forwarding every
// validate_check to server id at url: which child answers tells which set
// did.
func routeRules(id, childURL string) (servers, route string) {
	servers = fmt.Sprintf("servers:\n  %s:\n    url: %s\n    timeout: 5s\n", id, childURL)
	route = fmt.Sprintf(`rules:
  - name: route-to-%s
    event: validate_check
    position: pre
    handler: Federation
    action: forward
    options: {eduMFA: %s}
`, id, id)
	return servers, route
}

var bobOnChild = url.Values{"user": {"bob"}, "pass": {"bob-child"}}
