package host_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// lockedLog collects log lines written from the gateway's goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (g *gateway) post(path, contentType string, body []byte, header map[string]string) answer {
	g.t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url+path, bytes.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return g.do(req)
}

// TestGateway_TrustedProxyClientParamInBody: a trusted FreeRADIUS server
// sends the NAS address as `client` in a JSON (or form) body; it is the
// client IP the child is told about.
func TestGateway_TrustedProxyClientParamInBody(t *testing.T) {
	g := startGateway(t, gatewayOpts{config: "trusted_proxies: [127.0.0.1]\n", rules: map[string]string{"servers.yaml": serversYAML, "10.yaml": seedRule}})
	a := g.post("/validate/check", "application/json", []byte(`{"user": "bob", "pass": "bob-child", "client": "192.0.2.10"}`), map[string]string{"User-Agent": "FreeRADIUS"})
	if a.path("result.value") != true || a.path("detail.origin") == nil {
		t.Fatalf("json: %s", a.body)
	}
	a = g.postForm("/validate/check", url.Values{"user": {"bob"}, "pass": {"bob-child"}, "client": {"192.0.2.11"}})
	if a.path("result.value") != true {
		t.Fatalf("form: %s", a.body)
	}
	var got []string
	for _, r := range g.child.Requests() {
		if r.Path == "/validate/check" {
			got = append(got, r.ClientIP)
		}
	}
	if len(got) != 2 || got[0] != "192.0.2.10" || got[1] != "192.0.2.11" {
		t.Fatalf("the child saw client IPs %v, want [192.0.2.10 192.0.2.11]", got)
	}
}

// TestGateway_UntrustedClientParamNeverArrives: from an untrusted peer the
// `client` parameter is removed from query, form and JSON, on event paths
// and on the other paths where eduMFA reads it (/ttype/..., GET /auth).
func TestGateway_UntrustedClientParamNeverArrives(t *testing.T) {
	g := startGateway(t, gatewayOpts{rules: map[string]string{"servers.yaml": serversYAML, "10.yaml": seedRule}})
	g.postForm("/validate/check?client=6.6.6.1", url.Values{"user": {"bob"}, "pass": {"bob-parent"}, "client": {"6.6.6.2"}})
	g.post("/validate/check", "application/json", []byte(`{"user": "bob", "client": "6.6.6.3", "pass": "bob-parent"}`), nil)
	g.postForm("/ttype/push?client=6.6.6.4", url.Values{"serial": {"X"}, "client": {"6.6.6.5"}})
	req, _ := http.NewRequest(http.MethodGet, g.url+"/auth?client=6.6.6.6", nil)
	g.do(req)
	seen := 0
	for _, r := range g.parent.Requests() {
		seen++
		if strings.Contains(r.RawQuery, "6.6.6.") || bytes.Contains(r.Body, []byte("6.6.6.")) {
			t.Errorf("%s %s reached the parent with a spoofed client: query %q body %q", r.Method, r.Path, r.RawQuery, r.Body)
		}
		if r.Path == "/validate/check" && !bytes.Contains(r.Body, []byte("pass")) {
			t.Errorf("the rest of the body was lost: %q", r.Body)
		}
	}
	if seen != 4 {
		t.Fatalf("the parent saw %d requests, want 4", seen)
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// TestGateway_RefusesJSONBodiesPythonWouldDecodeDifferently: Python's
// json.loads reads a BOM or UTF-16 body; the gateway cannot vouch for such
// a body's parameters, so it refuses it instead of passing a `client` or
// `realm` it did not see.
func TestGateway_RefusesJSONBodiesPythonWouldDecodeDifferently(t *testing.T) {
	g := startGateway(t, gatewayOpts{rules: map[string]string{"servers.yaml": serversYAML, "10.yaml": seedRule}})
	for name, body := range map[string][]byte{
		"utf-8 bom": append([]byte{0xEF, 0xBB, 0xBF}, `{"user": "bob", "pass": "x", "client": "6.6.6.6"}`...),
		"utf-16le":  utf16le(`{"user": "bob", "pass": "x", "client": "6.6.6.6"}`),
	} {
		a := g.post("/validate/check", "application/json", body, nil)
		if a.status != 400 || a.path("result.error.code") != float64(905) {
			t.Errorf("%s: %d %s", name, a.status, a.body)
		}
	}
	// Off the event paths too, where eduMFA reads `client` (/ttype/...).
	a := g.post("/ttype/push", "application/json", append([]byte{0xEF, 0xBB, 0xBF}, `{"serial": "X", "client": "6.6.6.6"}`...), nil)
	if a.status != 400 || a.path("result.error.code") != float64(905) {
		t.Errorf("/ttype/push with a BOM: %d %s", a.status, a.body)
	}
	if n := len(g.parent.Requests()); n != 0 {
		t.Fatalf("the parent saw %d requests", n)
	}
}

// TestGateway_TrustedProxyClientOffTheEventPaths: on /ttype/* a trusted
// proxy's `client` in the body names the client too (X-Forwarded-For to the
// parent says so), and the body reaches the parent unchanged.
func TestGateway_TrustedProxyClientOffTheEventPaths(t *testing.T) {
	g := startGateway(t, gatewayOpts{config: "trusted_proxies: [127.0.0.1]\n", rules: map[string]string{"servers.yaml": serversYAML}})
	g.postForm("/ttype/push", url.Values{"serial": {"X"}, "client": {"192.0.2.55"}})
	reqs := g.parent.Requests()
	if len(reqs) != 1 || reqs[0].Header.Get("X-Forwarded-For") != "192.0.2.55" || !bytes.Contains(reqs[0].Body, []byte("client=192.0.2.55")) {
		t.Fatalf("parent saw %+v", reqs)
	}
}

// TestGateway_ProxiedQueryKeptAsSent: net/http's reverse proxy drops query
// pairs with a `;`; Werkzeug reads them, so the parent must get the query
// as the client sent it.
func TestGateway_ProxiedQueryKeptAsSent(t *testing.T) {
	g := startGateway(t, gatewayOpts{rules: map[string]string{"servers.yaml": serversYAML}})
	resp, err := http.Get(g.url + "/static/x?a=b;c&d=e%3B")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reqs := g.parent.Requests()
	if len(reqs) != 1 || reqs[0].RawQuery != "a=b;c&d=e%3B" {
		t.Fatalf("parent saw %+v", reqs)
	}
}

// rawStatusServer answers every request with the given raw status line.
func rawStatusServer(statusLine string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		body := `{"result": {"status": true, "value": false}}`
		fmt.Fprintf(buf, "%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", statusLine, len(body), body)
		buf.Flush()
	})
}

// TestGateway_InvalidUpstreamStatus: a parent or child answering "000" (Go's
// client accepts it, its server cannot write it) gets a 502 envelope, not a
// panic and an empty reply.
func TestGateway_InvalidUpstreamStatus(t *testing.T) {
	t.Run("parent", func(t *testing.T) {
		g := startGateway(t, gatewayOpts{parent: rawStatusServer("HTTP/1.1 000 Zero"), rules: map[string]string{"servers.yaml": serversYAML}})
		a := g.postForm("/validate/check", url.Values{"user": {"bob"}, "pass": {"x"}})
		if a.status != 502 || a.path("result.error.code") != float64(-502) {
			t.Fatalf("event path: %d %s", a.status, a.body)
		}
		resp, err := http.Get(g.url + "/system/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 502 {
			t.Fatalf("proxied path: %d", resp.StatusCode)
		}
	})
	t.Run("parent 999", func(t *testing.T) {
		g := startGateway(t, gatewayOpts{parent: rawStatusServer("HTTP/1.1 999 Nine"), rules: map[string]string{"servers.yaml": serversYAML}})
		if a := g.postForm("/validate/check", url.Values{"user": {"bob"}, "pass": {"x"}}); a.status != 502 {
			t.Fatalf("event path: %d %s", a.status, a.body)
		}
	})
	t.Run("child", func(t *testing.T) {
		g := startGateway(t, gatewayOpts{child: rawStatusServer("HTTP/1.1 042 Odd"), rules: map[string]string{"servers.yaml": serversYAML, "30.yaml": preRealmRule}})
		a := g.postForm("/validate/check", url.Values{"user": {"bob"}, "pass": {"x"}, "realm": {"childrealm"}})
		if a.status != 502 || a.path("result.error.code") != float64(-502) {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if msg, _ := a.path("result.error.message").(string); !strings.Contains(msg, "invalid HTTP status 42") {
			t.Fatalf("message %q", msg)
		}
	})
}

// TestGateway_SlowBodyEndsAtTheDeadline: a client that stops sending its
// body mid-way is answered within the deadline, not held open.
func TestGateway_SlowBodyEndsAtTheDeadline(t *testing.T) {
	g := startGateway(t, gatewayOpts{config: "deadline: 1s\n", rules: map[string]string{"servers.yaml": serversYAML, "10.yaml": seedRule}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /validate/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nuser=bob")
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, _ := conn.Read(buf)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("answered after %v", d)
	}
	if !bytes.Contains(buf[:n], []byte("408")) && !bytes.Contains(buf[:n], []byte("400")) {
		t.Fatalf("answer %q", buf[:n])
	}
	if len(g.parent.Requests()) != 0 {
		t.Fatal("a half request reached the parent")
	}

	// A path that is proxied as a stream: the client, not the parent, is
	// named as the one that failed.
	conn2, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	fmt.Fprintf(conn2, "POST /static/upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nabc")
	_ = conn2.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _ = conn2.Read(buf)
	if !bytes.Contains(buf[:n], []byte(" 408 ")) || !bytes.Contains(buf[:n], []byte("did not arrive in time")) {
		t.Fatalf("proxied slow body: %q", buf[:n])
	}
}

// TestGateway_OTPInPathNeverLogged: GET /token/getserial/<otp> carries an
// OTP value in the path; neither the request log line nor the forward's
// log shows it (the origin in the answer is the client's own business).
func TestGateway_OTPInPathNeverLogged(t *testing.T) {
	logs := &lockedLog{}
	g := startGateway(t, gatewayOpts{logs: logs, rules: map[string]string{"servers.yaml": serversYAML, "40.yaml": `rules:
  - name: getserial-to-child
    event: token_getserial
    position: pre
    handler: Federation
    action: forward
    options: {eduMFA: child, forward_authorization_token: true}
`}})
	req, _ := http.NewRequest(http.MethodGet, g.url+"/token/getserial/SECRET755224?realm=childrealm", nil)
	g.do(req)
	for _, p := range []string{"/token/getserial/SECRET123456/", "/token//getserial/SECRET1", "/TOKEN/getserial/SECRET2"} {
		req, _ = http.NewRequest(http.MethodGet, g.url+p, nil)
		g.do(req)
	}
	// The plugin's own lines are relayed asynchronously: wait for its
	// line about the first forward before looking.
	eventually(t, 5*time.Second, "the plugin logs its forward", func() (bool, string) {
		return strings.Contains(logs.String(), "msg=forwarded"), logs.String()
	})
	if strings.Contains(logs.String(), "SECRET") {
		t.Fatalf("an OTP reached the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "/token/getserial/<otp>") {
		t.Fatalf("no request line for getserial:\n%s", logs.String())
	}
}

// TestGateway_LowercaseMethodIsNoEvent: Werkzeug matches methods
// case-sensitively, so `get` raises no event; no rule fires for it.
func TestGateway_LowercaseMethodIsNoEvent(t *testing.T) {
	g := startGateway(t, gatewayOpts{rules: map[string]string{"servers.yaml": serversYAML, "30.yaml": strings.ReplaceAll(preRealmRule, `request.all_data.?realm.orValue("") == "childrealm"`, "true")}})
	req, _ := http.NewRequest("get", g.url+"/validate/check?user=bob&pass=bob-child", nil)
	g.do(req)
	if n := len(g.child.Requests()); n != 0 {
		t.Fatalf("a rule forwarded a lowercase-method request (%d at the child)", n)
	}
}
