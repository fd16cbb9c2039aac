package main

// Real-binary tests: the plugin is built from this repository
// (internal/testplugin) and started through plugin.Start, that is through
// go-plugin with AutoMTLS, the checksum and Pdeathsig, exactly as the host
// starts it. Children are loopback HTTP servers answering with the shapes
// of the eduMFA 2.9.5 captures (testdata/README.md).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/actions/forward"
	"github.com/edumfa-federation/edumfa-federation/internal/testplugin"
	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// Bounds of the tests; each is far above what a healthy run needs.
const (
	// startTimeout bounds plugin.Start (exec, checksum, handshake).
	startTimeout = 20 * time.Second
	// callTimeout bounds one Do, body included.
	callTimeout = 10 * time.Second
	// exitTimeout bounds waiting for a killed plugin to be seen gone.
	exitTimeout = 3 * time.Second
	// orphanDeadline is how soon a plugin must be gone after its host was
	// SIGKILLed; orphanPoll is how long the test looks (a bit longer, so a
	// slow exit is reported with its duration rather than as "not gone").
	orphanDeadline = 2 * time.Second
	orphanPoll     = 3 * time.Second
	// helperHostLifetime bounds the helper host process should the test
	// that started it die without killing it.
	helperHostLifetime = 60 * time.Second
)

// Environment of the helper host (TestMain re-execs the test binary).
const (
	helperHostEnv   = "FH_TEST_HOST"
	helperPluginEnv = "FH_TEST_PLUGIN"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperHostEnv) == "1" {
		os.Exit(runHelperHost(os.Getenv(helperPluginEnv)))
	}
	os.Exit(m.Run())
}

// runHelperHost is a minimal host: it starts the plugin as the gateway does,
// checks it serves, prints its PID on stdout and blocks until stdin closes
// (or helperHostLifetime passes), then stops it. The test SIGKILLs it.
func runHelperHost(path string) int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := plugin.Start(ctx, plugin.StartConfig{Path: path, Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper host:", err)
		return 2
	}
	defer c.Kill()
	if err := c.Health(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "helper host:", err)
		return 2
	}
	fmt.Printf("%d\n", c.PID())
	stdinClosed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-stdinClosed:
	case <-time.After(helperHostLifetime):
	}
	return 0
}

// pluginPath builds the plugin once per test process.
func pluginPath(t testing.TB) string {
	t.Helper()
	p, err := testplugin.Build()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuffer collects the plugin's relayed log lines; go-plugin writes them
// from its own goroutines, also after a test ended.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startPlugin starts the real plugin, configures servers (if any) and
// kills it when the test ends; its log is shown when the test failed.
func startPlugin(t testing.TB, servers ...plugin.Server) *plugin.Client {
	t.Helper()
	path := pluginPath(t)
	logs := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := plugin.Start(ctx, plugin.StartConfig{
		Path:   path,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Kill()
		if t.Failed() {
			t.Logf("plugin log:\n%s", logs.String())
		}
	})
	if len(servers) > 0 {
		if err := c.Configure(ctx, servers); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// childServer is the server "child" with the given node URLs.
func childServer(urls ...string) plugin.Server {
	return plugin.Server{Identifier: "child", URLs: urls, TLSVerify: true, Timeout: 2 * time.Second}
}

// Values of the calls' g, distinct from each other so a test can tell
// which one reached the child.
const (
	testClientIP   = "198.51.100.7"
	testRemoteAddr = "10.0.0.9"
	testRequestID  = "req-7f3a"
)

// newCall is a call of the forward action to server "child", as the host
// makes it for a validate_check rule.
func newCall(method, path, query string, header http.Header, body string, opts map[string]any) *plugin.Call {
	o := map[string]any{forward.OptionServer: "child"}
	for k, v := range opts {
		o[k] = v
	}
	if header == nil {
		header = http.Header{}
	}
	return &plugin.Call{
		Event: "validate_check", Rule: "federate-to-child", Action: forward.ActionName, Options: o,
		Request: plugin.Request{
			Method: method, Path: path, RawQuery: query, Header: header, Body: []byte(body),
			RemoteAddr: testRemoteAddr,
		},
		G: plugin.Context{ClientIP: testClientIP, RequestID: testRequestID, Event: "validate_check"},
	}
}

// answer is a reply read to its end.
type answer struct {
	answered bool
	status   int
	header   http.Header
	body     []byte
	outcome  plugin.Outcome
}

// do runs call in the plugin and reads the streamed answer to its trailer.
func do(t testing.TB, c *plugin.Client, call *plugin.Call) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	r, err := c.Do(ctx, call)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	a := answer{answered: r.Answered, status: r.Status, header: r.Header}
	if r.Answered {
		a.body, err = io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
	} else if r.Body != nil {
		t.Error("a reply without an answer has a body")
	}
	var ok bool
	if a.outcome, ok = r.Outcome(); !ok {
		t.Fatal("no trailer after the body's EOF")
	}
	return a
}

func TestPlugin_DescribeReportsFederationAndForwardSchema(t *testing.T) {
	t.Parallel()
	c := startPlugin(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Identifier != "Federation" || d.ContractVersion != plugin.ContractVersion || d.Version != forward.Version {
		t.Errorf("identifier %q, contract %d, version %q", d.Identifier, d.ContractVersion, d.Version)
	}
	a, ok := d.Action("forward")
	if !ok {
		t.Fatalf("no forward action in %+v", d)
	}
	want := []struct {
		name     string
		typ      plugin.OptionType
		required bool
	}{
		{"eduMFA", plugin.OptionServer, true},
		{"realm", plugin.OptionString, false},
		{"resolver", plugin.OptionString, false},
		{"forward_client_ip", plugin.OptionBool, false},
		{"forward_authorization_token", plugin.OptionBool, false},
	}
	if len(a.Options) != len(want) {
		t.Errorf("forward has %d options, want %d: %+v", len(a.Options), len(want), a.Options)
	}
	for _, w := range want {
		o, ok := a.Option(w.name)
		if !ok || o.Type != w.typ || o.Required != w.required || o.Description == "" {
			t.Errorf("option %s = %+v (found %v), want type %s required %v", w.name, o, ok, w.typ, w.required)
		}
	}
	// Every field, descriptions included, survives the process boundary.
	if !reflect.DeepEqual(d, forward.Description()) {
		t.Errorf("Describe over gRPC differs from forward.Description():\n got %+v\nwant %+v", d, forward.Description())
	}
}

func TestPlugin_StartRefusesSHA256Mismatch(t *testing.T) {
	t.Parallel()
	path := pluginPath(t)
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	good := hex.EncodeToString(sum[:])
	// The same binary, a checksum that differs in one hex digit.
	flipped := []byte(good)
	if flipped[0] == '0' {
		flipped[0] = '1'
	} else {
		flipped[0] = '0'
	}

	t.Run("matching checksum starts", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		c, err := plugin.Start(ctx, plugin.StartConfig{Path: path, SHA256: good, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Kill()
		if err := c.Health(ctx); err != nil {
			t.Error(err)
		}
	})
	t.Run("one changed digit refuses", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		c, err := plugin.Start(ctx, plugin.StartConfig{Path: path, SHA256: string(flipped), Logger: slog.New(slog.DiscardHandler)})
		if err == nil {
			c.Kill()
			t.Fatal("a plugin with the wrong sha256 started")
		}
		if !strings.Contains(err.Error(), "sha256") {
			t.Errorf("error %q does not mention sha256", err)
		}
	})
}

// Run by hand (no host, so no or the wrong magic cookie), the binary says
// what it is and exits non-zero without serving.
func TestPlugin_RunByHandExitsWithMessage(t *testing.T) {
	t.Parallel()
	path := pluginPath(t)
	for _, tt := range []struct {
		name string
		env  []string
	}{
		{"no cookie", nil},
		{"wrong cookie", []string{plugin.Handshake.MagicCookieKey + "=not-the-cookie"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, path)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, tt.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
				t.Fatalf("exit: %v (stderr %q)", err, stderr.String())
			}
			if ctx.Err() != nil {
				t.Fatal("killed by the test's timeout, did not exit on its own")
			}
			if !strings.Contains(stderr.String(), "This binary is a plugin") {
				t.Errorf("stderr %q", stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q: a handshake line was printed", stdout.String())
			}
		})
	}
}

// A plugin that dies mid-request (crash, OOM kill) fails the call with
// ErrPluginUnavailable, whether the answer's head had arrived or not, and
// the client notices the exit.
func TestPlugin_KilledMidRequestFailsWithErrPluginUnavailable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		// streaming: the child sends a head and a first body piece (a
		// content-encoded body streams through), then hangs.
		streaming bool
	}{
		{"before the answer's head", false},
		{"while the body streams", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			arrived := make(chan struct{}, 1)
			release := make(chan struct{})
			ch := startChild(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if tt.streaming {
					w.Header().Set("Content-Encoding", "gzip")
					w.WriteHeader(http.StatusOK)
					w.Write([]byte("part1"))
					w.(http.Flusher).Flush()
				}
				arrived <- struct{}{}
				select {
				case <-r.Context().Done():
				case <-release:
				}
			})
			t.Cleanup(func() { close(release) }) // runs before the child's Close
			c := startPlugin(t, childServer(ch.URL))
			pid := c.PID()

			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			type result struct {
				r   *plugin.Reply
				err error
			}
			done := make(chan result, 1)
			go func() {
				r, err := c.Do(ctx, newCall("POST", "/validate/check", "", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "user=bob&pass=123456", nil))
				done <- result{r, err}
			}()
			var reply *plugin.Reply
			if tt.streaming {
				res := waitFor(t, done, "Do")
				if res.err != nil || !res.r.Answered {
					t.Fatalf("Do = %+v, %v; want the streaming head", res.r, res.err)
				}
				reply = res.r
				defer reply.Body.Close()
				first := make([]byte, len("part1"))
				if _, err := io.ReadFull(reply.Body, first); err != nil || string(first) != "part1" {
					t.Fatalf("first body piece %q, %v", first, err)
				}
			}
			waitFor(t, arrived, "the request at the child")

			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			var err error
			if tt.streaming {
				readErr := make(chan error, 1)
				go func() {
					_, err := io.ReadAll(reply.Body)
					readErr <- err
				}()
				err = waitFor(t, readErr, "the body read")
				if _, ok := reply.Outcome(); ok {
					t.Error("a broken stream reports a complete outcome")
				}
			} else {
				res := waitFor(t, done, "Do")
				err = res.err
			}
			if !errors.Is(err, plugin.ErrPluginUnavailable) {
				t.Errorf("error %v, want one wrapping ErrPluginUnavailable", err)
			}
			waitFor(t, c.Exited(), "Exited")

			if _, err := c.Do(ctx, newCall("GET", "/validate/check", "", nil, "", nil)); !errors.Is(err, plugin.ErrPluginUnavailable) {
				t.Errorf("Do after the crash: %v", err)
			}
			if err := c.Health(ctx); !errors.Is(err, plugin.ErrPluginUnavailable) {
				t.Errorf("Health after the crash: %v", err)
			}
		})
	}
}

// waitFor receives from ch within exitTimeout or fails the test.
func waitFor[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(exitTimeout):
		t.Fatalf("%s: nothing within %s", what, exitTimeout)
		panic("unreachable")
	}
}

func TestPlugin_KillLeavesNoProcess(t *testing.T) {
	t.Parallel()
	c := startPlugin(t)
	pid := c.PID()
	if pid <= 0 {
		t.Fatalf("PID %d", pid)
	}
	if st, err := procState(pid); err != nil || st.state == 'Z' || st.ppid != os.Getpid() {
		t.Fatalf("plugin %d before Kill: %+v, %v; want a live child of the test", pid, st, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.Kill()
	t.Logf("Kill took %s", time.Since(start))
	// ESRCH: no process and no zombie either; go-plugin reaped it (it is
	// our child, so a zombie here would be the SDK's fault, not PID 1's).
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		st, _ := procState(pid)
		t.Errorf("after Kill: kill(%d, 0) = %v, state %+v; want ESRCH", pid, err, st)
	}
	select {
	case <-c.Exited():
	default:
		t.Error("Exited not closed after Kill returned")
	}
	waitFor(t, goDone(c.Kill), "a second Kill")
	if _, err := c.Do(ctx, newCall("GET", "/validate/check", "", nil, "", nil)); !errors.Is(err, plugin.ErrPluginUnavailable) {
		t.Errorf("Do after Kill: %v", err)
	}
}

// goDone runs f in a goroutine and returns a channel closed when it returns.
func goDone(f func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	return done
}

// A host that dies hard (SIGKILL, OOM) takes its plugin with it: Pdeathsig
// kills it at once, the plugin's parent watch within 250 ms otherwise.
func TestPlugin_HostKilledLeavesNoPluginProcess(t *testing.T) {
	t.Parallel()
	path := pluginPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout+exitTimeout)
	defer cancel()
	host := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	host.Env = append(os.Environ(), helperHostEnv+"=1", helperPluginEnv+"="+path)
	var hostErr syncBuffer
	host.Stderr = &hostErr
	stdin, err := host.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	host.WaitDelay = exitTimeout
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	wait := func() { once.Do(func() { host.Wait() }) }
	t.Cleanup(func() {
		host.Process.Kill()
		wait()
	})

	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
	}()
	var pidLine string
	select {
	case pidLine = <-line:
	case <-time.After(startTimeout):
		t.Fatalf("the helper host printed no PID (stderr %q)", hostErr.String())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(pidLine))
	if err != nil {
		t.Fatalf("helper host said %q (stderr %q)", pidLine, hostErr.String())
	}
	// Should the plugin survive (the failure this test looks for), stop it,
	// but only if that PID still runs our plugin binary.
	t.Cleanup(func() {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == path {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if st, err := procState(pid); err != nil || st.state == 'Z' || st.ppid != host.Process.Pid {
		t.Fatalf("plugin %d: %+v, %v; want a live child of the helper host %d", pid, st, err, host.Process.Pid)
	}

	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	wait()

	// The orphaned plugin is reparented to PID 1, and this machine's PID 1
	// may not reap orphans (the design notes saw zombies that stayed) or
	// reaps them only later (seen here): a plugin that died after its host
	// can be a zombie (state Z) for a while or for good. A zombie runs no
	// code and holds no socket or file, so it counts as gone.
	how := "reaped"
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(orphanPoll)
	for {
		st, err := procState(pid)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err == nil && st.state == 'Z' {
			how = "a zombie, not reaped yet"
			break
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("plugin %d still running %s after its host was SIGKILLed: %+v, %v", pid, orphanPoll, st, err)
		}
	}
	gone := time.Since(killed)
	t.Logf("plugin gone (%s) %s after the host's SIGKILL", how, gone)
	if gone > orphanDeadline {
		t.Errorf("plugin took %s to go, want under %s", gone, orphanDeadline)
	}
}

// procStat is what the tests read from /proc/<pid>/stat.
type procStat struct {
	state byte
	ppid  int
}

func (s procStat) String() string { return fmt.Sprintf("state %c, parent %d", s.state, s.ppid) }

// procState reads the state and parent of pid; os.ErrNotExist once the
// process is gone and reaped.
func procState(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	return procStat{state: f[0][0], ppid: ppid}, nil
}
