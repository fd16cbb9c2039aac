package main

// Tests of the real `edumfa-federation serve` binary, built here with go
// build, with the real plugin: signals (SIGTERM, SIGINT, SIGHUP, SIGKILL)
// and what is left of the plugin process afterwards.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/internal/testplugin"
	"github.com/edumfa-federation/edumfa-federation/simulator"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// serveBinary builds cmd/edumfa-federation once per test process.
func serveBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := testplugin.ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		if binDir, buildErr = os.MkdirTemp("", "edumfa-federation-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "edumfa-federation")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/edumfa-federation")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// gate holds the next request to a child until released.
type gate struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.armed.CompareAndSwap(true, false) {
			g.entered <- struct{}{}
			select {
			case <-g.release:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// served is a running `serve` process.
type served struct {
	t        *testing.T
	cmd      *exec.Cmd
	dir      string
	plugin   string
	url      string
	admin    string
	childURL string
	gate     *gate
	eof      chan struct{} // stderr closed
	waited   bool
	exitErr  error
}

func startServe(t *testing.T) *served {
	t.Helper()
	bin := serveBinary(t)
	shared, err := testplugin.Build()
	if err != nil {
		t.Fatal(err)
	}
	s := &served{t: t, dir: t.TempDir(), gate: &gate{entered: make(chan struct{}, 1), release: make(chan struct{})}}
	// A private copy of the plugin: its path identifies our processes.
	s.plugin = filepath.Join(s.dir, "bin", "federation-handler")
	mustWrite(t, s.plugin, mustRead(t, shared), 0o755)

	childCfg := simulator.ChildConfig()
	childCfg.Unsigned = true
	child := httptest.NewServer(s.gate.wrap(simulator.New(childCfg)))
	t.Cleanup(child.Close)
	s.childURL = child.URL
	parentCfg := simulator.ParentConfig()
	parentCfg.Unsigned = true
	parent := httptest.NewServer(simulator.New(parentCfg))
	t.Cleanup(parent.Close)

	mustWrite(t, filepath.Join(s.dir, "rules", "rules.yaml"), []byte(`servers:
  child: {url: `+child.URL+`, timeout: 20s}
rules:
  - name: route-childrealm
    event: validate_check
    position: pre
    condition: request.all_data.?realm.orValue("") == "childrealm"
    handler: Federation
    action: forward
    options: {eduMFA: child}
`), 0o644)
	cfg := filepath.Join(s.dir, "gateway.yaml")
	mustWrite(t, cfg, []byte("listen: 127.0.0.1:0\nrules: rules\nupstream: "+parent.URL+
		"\nadmin: {listen: 127.0.0.1:0}\nplugins:\n  Federation: "+s.plugin+"\n"), 0o644)

	s.cmd = exec.Command(bin, "serve", "--config", cfg)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.eof = make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		defer close(s.eof)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			t.Log(line)
			if strings.Contains(line, `msg="gateway listening"`) {
				ready <- line
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		if !s.waited {
			_ = s.cmd.Process.Kill()
			s.wait(10 * time.Second)
		}
	})
	select {
	case line := <-ready:
		s.url = "http://" + logField(t, line, "addr")
		s.admin = "http://" + logField(t, line, "admin")
	case <-s.eof:
		s.wait(5 * time.Second)
		t.Fatalf("serve exited at start: %v", s.exitErr)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start within 60s")
	}
	return s
}

func logField(t *testing.T, line, key string) string {
	t.Helper()
	m := regexp.MustCompile(`\b` + key + `=(\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no %s= in %q", key, line)
	}
	return m[1]
}

// wait reaps the process (after its stderr is drained) within timeout.
func (s *served) wait(timeout time.Duration) {
	s.t.Helper()
	done := make(chan error, 1)
	go func() {
		<-s.eof
		done <- s.cmd.Wait()
	}()
	select {
	case s.exitErr = <-done:
		s.waited = true
	case <-time.After(timeout):
		_ = s.cmd.Process.Kill()
		s.exitErr = <-done
		s.waited = true
		s.t.Fatalf("serve did not exit within %v", timeout)
	}
}

type status struct {
	Reloads    int        `json:"reloads"`
	LastReload *time.Time `json:"last_reload"`
	Plugins    []struct {
		PID   int    `json:"pid"`
		State string `json:"state"`
	} `json:"plugins"`
}

func (s *served) status() status {
	s.t.Helper()
	resp, err := http.Get(s.admin + "/admin/status")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		s.t.Fatal(err)
	}
	return st
}

// pluginPID is the plugin's pid per the status, checked to be a child of
// the serve process running our plugin copy.
func (s *served) pluginPID() int {
	s.t.Helper()
	st := s.status()
	if len(st.Plugins) != 1 || st.Plugins[0].State != "running" {
		s.t.Fatalf("plugins: %+v", st.Plugins)
	}
	pid := st.Plugins[0].PID
	p, ok := readProc(pid)
	if !ok || p.ppid != s.cmd.Process.Pid {
		s.t.Fatalf("plugin %d: %+v, want a child of %d", pid, p, s.cmd.Process.Pid)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe != s.plugin {
		s.t.Fatalf("plugin %d runs %s", pid, exe)
	}
	return pid
}

type proc struct {
	ppid  int
	state byte
}

func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	s := string(b)
	rest := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ppid, _ := strconv.Atoi(rest[1])
	return proc{ppid: ppid, state: rest[0][0]}, true
}

// TestServe_SIGKILL_NoPluginLeft kills the gateway with SIGKILL, which it
// cannot handle: its plugin must be dead within 2 s (the kernel's parent
// death signal, and the plugin's own watch of its parent), and no zombie
// may be left.
//
// Who reaps the orphaned plugin: normally PID 1, but this VM's PID 1
// (process_api) does not reap, so an orphan that died stays a zombie of PID
// 1 for good. This test therefore makes itself a child subreaper first: the
// orphan is reparented to the test, which reaps it. Should that prctl fail,
// a zombie whose parent is PID 1 counts as gone (dead, holding nothing,
// nobody left to reap it); a live process, or a zombie of any other parent,
// never does.
func TestServe_SIGKILL_NoPluginLeft(t *testing.T) {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	subreaper := errno == 0
	if !subreaper {
		t.Logf("PR_SET_CHILD_SUBREAPER: %v; an orphan zombie of PID 1 counts as gone", errno)
	}
	s := startServe(t)
	pid := s.pluginPID()
	killed := time.Now()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	s.wait(10 * time.Second)
	self := os.Getpid()
	var (
		p  proc
		ok bool
	)
	// The plugin is gone, or a zombie: of this test (the subreaper), or of
	// a PID 1 that does not reap when the test could not be a subreaper.
	waitUntil(t, 2*time.Second, fmt.Sprintf("plugin %d gone after the host was killed", pid), func() bool {
		p, ok = readProc(pid)
		return !ok || (p.state == 'Z' && (p.ppid == self || (!subreaper && p.ppid == 1)))
	})
	{
		if ok && p.state == 'Z' && p.ppid == self {
			var ws syscall.WaitStatus
			if got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err != nil || got != pid {
				t.Fatalf("reaping the orphaned plugin %d: %d %v", pid, got, err)
			}
			t.Logf("plugin %d dead %v after the host's SIGKILL (signal %v, exit %d); reaped here", pid, time.Since(killed).Round(time.Millisecond), ws.Signal(), ws.ExitStatus())
			if _, ok := readProc(pid); ok {
				t.Fatalf("plugin %d still in the process table after it was reaped", pid)
			}
			return
		}
		t.Logf("plugin %d gone %v after the host's SIGKILL (in the table: %v, state %c, ppid %d)", pid, time.Since(killed).Round(time.Millisecond), ok, p.state, p.ppid)
	}
}

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER of prctl(2).
const prSetChildSubreaper = 36

// TestServe_SIGTERMAndSIGINT_DrainAndStopPlugin stops the gateway with a
// request in flight: it stops listening at once, the request still gets
// its answer, the process exits 0 and its plugin is stopped and reaped.
func TestServe_SIGTERMAndSIGINT_DrainAndStopPlugin(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startServe(t)
			pid := s.pluginPID()
			s.gate.armed.Store(true)
			type result struct {
				status int
				body   map[string]any
				err    error
			}
			answer := make(chan result, 1)
			go func() {
				resp, err := http.PostForm(s.url+"/validate/check", url.Values{"user": {"bob"}, "realm": {"childrealm"}, "pass": {"bob-child"}})
				if err != nil {
					answer <- result{err: err}
					return
				}
				defer resp.Body.Close()
				var body map[string]any
				err = json.NewDecoder(resp.Body).Decode(&body)
				answer <- result{status: resp.StatusCode, body: body, err: err}
			}()
			select {
			case <-s.gate.entered:
			case <-time.After(20 * time.Second):
				t.Fatal("the request did not reach the child")
			}
			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// The listener closes while the request is still running.
			addr := strings.TrimPrefix(s.url, "http://")
			waitUntil(t, 10*time.Second, "the listener closes after the signal", func() bool {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					return true
				}
				c.Close()
				return false
			})
			close(s.gate.release)
			r := <-answer
			detail, _ := r.body["detail"].(map[string]any)
			res, _ := r.body["result"].(map[string]any)
			if r.err != nil || r.status != 200 || res["value"] != true || detail["origin"] != s.childURL+"/validate/check" {
				t.Fatalf("request in flight: %v HTTP %d %v", r.err, r.status, r.body)
			}
			s.wait(30 * time.Second)
			if s.exitErr != nil {
				t.Fatalf("exit after %v: %v", sig, s.exitErr)
			}
			// The host stopped and reaped its plugin before it exited: not
			// even a zombie may be left.
			if p, ok := readProc(pid); ok {
				t.Fatalf("plugin %d left after %v: state %c, ppid %d", pid, sig, p.state, p.ppid)
			}
		})
	}
}

// TestServe_SIGHUP_Reloads: SIGHUP makes the running gateway reload
// (counted in the status; no file changed, so only the signal can have
// caused it), and it keeps running.
func TestServe_SIGHUP_Reloads(t *testing.T) {
	s := startServe(t)
	before := s.status()
	for i := 1; i <= 2; i++ {
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, fmt.Sprintf("SIGHUP %d counted as reload %d", i, before.Reloads+i), func() bool {
			st := s.status()
			return st.Reloads == before.Reloads+i && st.LastReload != nil
		})
	}
	s.pluginPID() // still serving, same plugin setup
}

func mustWrite(t *testing.T, p string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, mode); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitUntil polls cond until it holds, failing the test after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
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
