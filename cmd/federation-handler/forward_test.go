package main

// The forward action's behaviours, proved through the real plugin process:
// every request crosses host -> gRPC -> plugin -> HTTP -> loopback child,
// and every answer comes back the same way, streamed.

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/edumfa-federation/edumfa-federation/actions/forward"
	"github.com/edumfa-federation/edumfa-federation/plugin"
)

const (
	ctForm = "application/x-www-form-urlencoded"
	ctJSON = "application/json"
)

// Each method arrives with its path, raw query, Content-Type, body bytes
// and framing (a Content-Length, never chunked); eduMFA's own handler would
// turn JSON into a form and PUT into nothing.
func TestPlugin_MethodsArriveWithTheirEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, query, ct, body string
	}{
		{"GET with query", "GET", "/validate/check", "user=bob&pass=p%2541%2Bb%26c+%C3%BC", "", ""},
		{"POST form", "POST", "/validate/check", "", ctForm, "user=bob&pass=bob-child"},
		{"POST JSON", "POST", "/validate/check", "", ctJSON, `{"user": "bob", "pass": "bob-child"}`},
		{"POST form with a query", "POST", "/validate/check", "nonce=%41", ctForm, "user=bob&pass=x"},
		{"PUT form", "PUT", "/user/", "", ctForm, "user=bob&email=b%40example.org&resolver=deflocal"},
		{"PUT JSON", "PUT", "/token/description/HOTP1", "", ctJSON, `{"description": "Bob's \u00fc token"}`},
		{"DELETE with an escaped path", "DELETE", "/token/HOTP%2F1", "", "", ""},
	}
	ch := startChild(t, nil)
	c := startPlugin(t, childServer(ch.URL))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch.reset()
			hd := http.Header{"User-Agent": {"peer-capture/1.0"}, "Accept": {ctJSON}}
			if tt.ct != "" {
				hd.Set("Content-Type", tt.ct)
			}
			a := do(t, c, newCall(tt.method, tt.path, tt.query, hd, tt.body, nil))
			got := ch.only(t)
			wantURI := tt.path
			if tt.query != "" {
				wantURI += "?" + tt.query
			}
			if got.method != tt.method || got.uri != wantURI || string(got.body) != tt.body {
				t.Errorf("child saw %s %s %q\nwant       %s %s %q", got.method, got.uri, got.body, tt.method, wantURI, tt.body)
			}
			if got.header.Get("Content-Type") != tt.ct {
				t.Errorf("Content-Type %q, want %q", got.header.Get("Content-Type"), tt.ct)
			}
			if got.contentLength != int64(len(tt.body)) || len(got.transferEncoding) != 0 {
				t.Errorf("framing: Content-Length %d, Transfer-Encoding %q; want %d, none", got.contentLength, got.transferEncoding, len(tt.body))
			}
			if !a.answered || a.status != http.StatusOK || a.outcome.Failed() ||
				a.outcome.Origin != ch.URL+tt.path || a.outcome.Server != "child" || a.outcome.Attempts != 1 {
				t.Errorf("answer %d, outcome %+v", a.status, a.outcome)
			}
		})
	}
}

// A password with `%`, `+`, `&` and non-ASCII letters reaches the child
// with exactly the bytes the client sent, also when the forward rewrites
// other parameters of the same body or query.
func TestPlugin_PasswordArrivesByteIdentical(t *testing.T) {
	t.Parallel()
	l03 := readFixture(t, "testdata/l03-freeradius-request.json")
	const wantPass = "p%41+b&c üß€"
	realm := map[string]any{forward.OptionRealm: "childrealm"}
	tests := []struct {
		name, method, query, ct, body string
		header                        http.Header
		opts                          map[string]any
		wantQuery, wantBody           string
	}{
		{
			name: "form, percent-encoded", method: "POST", ct: ctForm,
			body: "user=bob&pass=p%2541%2Bb%26c+%C3%BC%C3%9F%E2%82%AC", opts: realm,
			wantBody: "user=bob&pass=p%2541%2Bb%26c+%C3%BC%C3%9F%E2%82%AC&realm=childrealm",
		},
		{
			name: "form, lower-case escapes and raw UTF-8 letters", method: "POST", ct: ctForm,
			body: "pass=p%2541%2bb%26c+%c3%bc%C3%9F€&user=bob", opts: realm,
			wantBody: "pass=p%2541%2bb%26c+%c3%bc%C3%9F€&user=bob&realm=childrealm",
		},
		{
			name: "query of a GET", method: "GET",
			query: "user=bob&pass=p%2541%2Bb%26c+%C3%BC%C3%9F%E2%82%AC", opts: realm,
			wantQuery: "user=bob&pass=p%2541%2Bb%26c+%C3%BC%C3%9F%E2%82%AC&realm=childrealm",
		},
		{
			// The FreeRADIUS plugin's own request (capture L03), headers
			// and body as it sent them.
			name: "FreeRADIUS JSON (L03)", method: "POST", ct: ctJSON, body: string(l03),
			header: http.Header{
				"User-Agent": {"FreeRADIUS"}, "Accept-Encoding": {"gzip, deflate"}, "Accept": {"*/*"},
				"Connection": {"keep-alive"}, "Content-Length": {strconv.Itoa(len(l03))},
			},
			opts:     map[string]any{forward.OptionRealm: "childrealm", forward.OptionForwardClientIP: true},
			wantBody: `{"user": "bob", "pass": "p%41+b&c \u00fc", "client": "` + testClientIP + `", "realm": "childrealm"}`,
		},
	}
	ch := startChild(t, nil)
	c := startPlugin(t, childServer(ch.URL))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch.reset()
			hd := tt.header
			if hd == nil {
				hd = http.Header{}
			}
			if tt.ct != "" {
				hd.Set("Content-Type", tt.ct)
			}
			if a := do(t, c, newCall(tt.method, "/validate/check", tt.query, hd, tt.body, tt.opts)); a.outcome.Failed() {
				t.Fatalf("outcome %+v", a.outcome)
			}
			got := ch.only(t)
			if string(got.body) != tt.wantBody || got.rawQuery != tt.wantQuery {
				t.Errorf("child got query %q body %q\nwant          query %q body %q", got.rawQuery, got.body, tt.wantQuery, tt.wantBody)
			}
			if tt.ct == ctForm || tt.method == "GET" {
				form, err := url.ParseQuery(string(got.body) + got.rawQuery)
				if err != nil || form.Get("pass") != wantPass {
					t.Errorf("pass decodes to %q (%v), want %q", form.Get("pass"), err, wantPass)
				}
			}
			if tt.header != nil {
				if got.header.Get("User-Agent") != "FreeRADIUS" || got.header.Get("Accept") != "*/*" ||
					got.header.Get("Content-Type") != ctJSON || got.contentLength != int64(len(tt.wantBody)) {
					t.Errorf("FreeRADIUS headers not kept: %v, Content-Length %d", got.header, got.contentLength)
				}
			}
		})
	}
}

// realm and resolver are set where eduMFA reads them, the realm part of a
// `user@realm` login follows the realm, and nothing else changes.
func TestPlugin_RealmResolverAndUserAtRealmRewritten(t *testing.T) {
	t.Parallel()
	both := map[string]any{forward.OptionRealm: "childrealm", forward.OptionResolver: "childres"}
	tests := []struct {
		name, method, query, ct, body string
		opts                          map[string]any
		wantQuery, wantBody           string
	}{
		{
			name: "GET query, user@realm encoded", method: "GET",
			query: "user=alice%40parentrealm&pass=x&realm=parentrealm", opts: both,
			wantQuery: "user=alice%40childrealm&pass=x&realm=childrealm&resolver=childres",
		},
		{
			name: "POST form, user@realm literal", method: "POST", ct: ctForm,
			body: "user=alice@parentrealm&pass=x", opts: both,
			wantBody: "user=alice@childrealm&pass=x&realm=childrealm&resolver=childres",
		},
		{
			name: "POST JSON, realm replaced in place", method: "POST", ct: ctJSON,
			body: `{"user": "alice@parentrealm", "realm": "parentrealm", "pass": "x"}`, opts: both,
			wantBody: `{"user": "alice@childrealm", "realm": "childrealm", "pass": "x", "resolver": "childres"}`,
		},
		{
			// The option's value is encoded where it replaces the
			// client's and where it is appended.
			name: "option values that need escaping", method: "GET",
			query:     "user=alice%40parentrealm&realm=parentrealm&pass=x",
			opts:      map[string]any{forward.OptionRealm: "child realm&ü", forward.OptionResolver: "a+b"},
			wantQuery: "user=alice%40child+realm%26%C3%BC&realm=child+realm%26%C3%BC&pass=x&resolver=a%2Bb",
		},
		{
			name: "login without @ keeps its bytes", method: "POST", ct: ctForm,
			body: "user=bob&pass=x", opts: map[string]any{forward.OptionRealm: "childrealm"},
			wantBody: "user=bob&pass=x&realm=childrealm",
		},
		{
			name: "empty options change nothing", method: "POST", ct: ctForm,
			body:     "user=alice@parentrealm&realm=parentrealm&pass=x",
			opts:     map[string]any{forward.OptionRealm: "", forward.OptionResolver: ""},
			wantBody: "user=alice@parentrealm&realm=parentrealm&pass=x",
		},
	}
	ch := startChild(t, nil)
	c := startPlugin(t, childServer(ch.URL))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch.reset()
			hd := http.Header{}
			if tt.ct != "" {
				hd.Set("Content-Type", tt.ct)
			}
			if a := do(t, c, newCall(tt.method, "/validate/check", tt.query, hd, tt.body, tt.opts)); a.outcome.Failed() {
				t.Fatalf("outcome %+v", a.outcome)
			}
			got := ch.only(t)
			if got.rawQuery != tt.wantQuery || string(got.body) != tt.wantBody {
				t.Errorf("child got query %q body %q\nwant          query %q body %q", got.rawQuery, got.body, tt.wantQuery, tt.wantBody)
			}
		})
	}
}

// `client` is g.client_ip with forward_client_ip and removed without it,
// so a client can never choose the IP the child sees. X-Forwarded-For is
// the incoming chain plus the TCP peer when the peer is a trusted proxy
// that sent one, otherwise g.client_ip alone; a client's own Forwarded and
// X-Real-IP never pass.
func TestPlugin_ClientParamAndForwardedFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		method, query, ct   string
		body                string
		forwardClientIP     bool
		trusted             bool
		xff                 []string
		wantQuery, wantBody string
		wantXFF             string
	}{
		{
			name:   "without forward_client_ip, client removed; untrusted peer's chain replaced",
			method: "POST", ct: ctForm, body: "client=6.6.6.6&user=bob", xff: []string{"6.6.6.6"},
			wantBody: "user=bob", wantXFF: testClientIP,
		},
		{
			name: "client from the query removed too", method: "GET", query: "user=bob&client=6.6.6.6",
			wantQuery: "user=bob", wantXFF: testClientIP,
		},
		{
			name: "forward_client_ip replaces a client the form sent", method: "POST", ct: ctForm,
			body: "client=6.6.6.6&user=bob", forwardClientIP: true,
			wantBody: "client=" + testClientIP + "&user=bob", wantXFF: testClientIP,
		},
		{
			name: "forward_client_ip adds client to a JSON body", method: "POST", ct: ctJSON,
			body: `{"user": "bob"}`, forwardClientIP: true,
			wantBody: `{"user": "bob", "client": "` + testClientIP + `"}`, wantXFF: testClientIP,
		},
		{
			name: "forward_client_ip adds client to a GET query", method: "GET", query: "user=bob",
			forwardClientIP: true, wantQuery: "user=bob&client=" + testClientIP, wantXFF: testClientIP,
		},
		{
			name: "trusted peer: incoming chain, then the peer", method: "POST", ct: ctForm, body: "user=bob",
			trusted: true, xff: []string{testClientIP + ", 10.0.0.5"},
			wantBody: "user=bob", wantXFF: testClientIP + ", 10.0.0.5, " + testRemoteAddr,
		},
		{
			name: "trusted peer: chain over two header lines", method: "POST", ct: ctForm, body: "user=bob",
			trusted: true, xff: []string{testClientIP, "10.0.0.5"},
			wantBody: "user=bob", wantXFF: testClientIP + ", 10.0.0.5, " + testRemoteAddr,
		},
		{
			name: "trusted peer without X-Forwarded-For: g.client_ip", method: "POST", ct: ctForm, body: "user=bob",
			trusted: true, wantBody: "user=bob", wantXFF: testClientIP,
		},
	}
	ch := startChild(t, nil)
	c := startPlugin(t, childServer(ch.URL))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch.reset()
			hd := http.Header{
				"Forwarded": {"for=6.6.6.6"}, "X-Real-Ip": {"6.6.6.6"},
				"X-Forwarded-For": tt.xff,
			}
			if tt.ct != "" {
				hd.Set("Content-Type", tt.ct)
			}
			call := newCall(tt.method, "/validate/check", tt.query, hd, tt.body,
				map[string]any{forward.OptionForwardClientIP: tt.forwardClientIP})
			call.G.PeerTrusted = tt.trusted
			if a := do(t, c, call); a.outcome.Failed() {
				t.Fatalf("outcome %+v", a.outcome)
			}
			got := ch.only(t)
			if got.rawQuery != tt.wantQuery || string(got.body) != tt.wantBody {
				t.Errorf("child got query %q body %q\nwant          query %q body %q", got.rawQuery, got.body, tt.wantQuery, tt.wantBody)
			}
			if xff := got.header.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != tt.wantXFF {
				t.Errorf("X-Forwarded-For %q, want [%q]", xff, tt.wantXFF)
			}
			if got.header.Get("Forwarded") != "" || got.header.Get("X-Real-Ip") != "" {
				t.Errorf("client-written address headers passed: %v", got.header)
			}
		})
	}
}

// The child learns how many gateways the request passed (g.hops + 1) and
// the request id, whatever the client wrote into those headers.
func TestPlugin_HopsAndRequestIDHeaders(t *testing.T) {
	t.Parallel()
	ch := startChild(t, nil)
	c := startPlugin(t, childServer(ch.URL))
	for _, tt := range []struct {
		name      string
		hops      int
		requestID string
		spoofed   bool
		wantHops  string
		wantID    []string
	}{
		{"first gateway", 0, testRequestID, false, "1", []string{testRequestID}},
		{"third gateway", 2, testRequestID, false, "3", []string{testRequestID}},
		{"client wrote both headers", 0, testRequestID, true, "1", []string{testRequestID}},
		{"no request id: the client's is not passed on", 1, "", true, "2", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch.reset()
			hd := http.Header{}
			if tt.spoofed {
				hd.Set(forward.HopsHeader, "-5")
				hd.Set(forward.RequestIDHeader, "spoofed")
			}
			call := newCall("GET", "/validate/check", "user=bob&pass=x", hd, "", nil)
			call.G.Hops = tt.hops
			call.G.RequestID = tt.requestID
			if a := do(t, c, call); a.outcome.Failed() {
				t.Fatalf("outcome %+v", a.outcome)
			}
			got := ch.only(t)
			if v := got.header.Values("X-Edumfa-Federation-Hops"); len(v) != 1 || v[0] != tt.wantHops {
				t.Errorf("X-eduMFA-Federation-Hops %q, want [%q]", v, tt.wantHops)
			}
			if v := got.header.Values("X-Request-Id"); strings.Join(v, "|") != strings.Join(tt.wantID, "|") {
				t.Errorf("X-Request-ID %q, want %q", v, tt.wantID)
			}
		})
	}
}

// The client's Authorization header reaches the child only with
// forward_authorization_token; its cookies never do.
func TestPlugin_AuthorizationOnlyWithOption(t *testing.T) {
	t.Parallel()
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYWRtaW4ifQ.sig"
	ch := startChild(t, nil)
	c := startPlugin(t, childServer(ch.URL))
	for _, tt := range []struct {
		name     string
		opts     map[string]any
		wantAuth []string
	}{
		{"option absent", nil, nil},
		{"option false", map[string]any{forward.OptionForwardAuthorizationToken: false}, nil},
		{"option true", map[string]any{forward.OptionForwardAuthorizationToken: true}, []string{jwt}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch.reset()
			hd := http.Header{"Authorization": {jwt}, "Cookie": {"session=parent"}}
			if a := do(t, c, newCall("GET", "/token/", "", hd, "", tt.opts)); a.outcome.Failed() {
				t.Fatalf("outcome %+v", a.outcome)
			}
			got := ch.only(t)
			if auth := got.header.Values("Authorization"); strings.Join(auth, "|") != strings.Join(tt.wantAuth, "|") {
				t.Errorf("Authorization %q, want %q", auth, tt.wantAuth)
			}
			if got.header.Get("Cookie") != "" {
				t.Errorf("Cookie passed: %q", got.header.Get("Cookie"))
			}
		})
	}
}

// A child that read the request may have consumed the OTP: whatever it
// answers, or if it hangs up, the request is never sent again.
func TestPlugin_PostNotRetriedAfterChildProcessed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		answer     answerFunc
		wantStatus int // 0: no answer
		wantKind   plugin.ErrorKind
	}{
		{"POST, child answers 500", "POST", fixtureAnswer(t, "testdata/p14-answer-500.json", http.StatusInternalServerError),
			http.StatusInternalServerError, plugin.ErrorNone},
		{"GET, child answers 500", "GET", fixtureAnswer(t, "testdata/p14-answer-500.json", http.StatusInternalServerError),
			http.StatusInternalServerError, plugin.ErrorNone},
		{"POST, child answers 503 with Retry-After", "POST", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		}, http.StatusServiceUnavailable, plugin.ErrorNone},
		{"POST, child reads and hangs up", "POST", hangUp, 0, plugin.ErrorInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ch := startChild(t, tt.answer)
			c := startPlugin(t, childServer(ch.URL))
			hd, query, body := http.Header{}, "", ""
			if tt.method == "POST" {
				hd.Set("Content-Type", ctForm)
				body = "user=bob&pass=bob123456"
			} else {
				query = "user=bob&pass=bob123456"
			}
			a := do(t, c, newCall(tt.method, "/validate/check", query, hd, body, nil))
			if n := len(ch.requests()); n != 1 || a.outcome.Attempts != 1 {
				t.Errorf("child saw %d requests, outcome says %d attempts; want 1 and 1", n, a.outcome.Attempts)
			}
			if a.outcome.ErrorKind != tt.wantKind || a.answered != (tt.wantStatus != 0) || a.status != tt.wantStatus {
				t.Errorf("answered %v status %d outcome %+v; want status %d kind %s", a.answered, a.status, a.outcome, tt.wantStatus, tt.wantKind)
			}
			if strings.Contains(a.outcome.ErrorMessage, "bob123456") {
				t.Errorf("error message shows the password: %s", a.outcome.ErrorMessage)
			}
		})
	}
}

// A refused connection proves the request never left: it goes to the next
// node at once; a server whose every node refuses is an unreachable
// outcome, without an answer, after 1 + 2 attempts.
func TestPlugin_RefusedDialRetriedOnNextNode(t *testing.T) {
	t.Parallel()
	ch := startChild(t, nil)
	refused1, refused2 := "http://"+refusingAddr(t), "http://"+refusingAddr(t)
	tests := []struct {
		name         string
		urls         []string
		wantAttempts int
		wantChild    int
	}{
		{"first node refuses, second answers", []string{refused1, ch.URL}, 2, 1},
		{"two nodes refuse, third answers", []string{refused1, refused2, ch.URL}, 3, 1},
		{"the only node refuses", []string{refused1}, 3, 0},
	}
	c := startPlugin(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch.reset()
			if err := c.Configure(t.Context(), []plugin.Server{childServer(tt.urls...)}); err != nil {
				t.Fatal(err)
			}
			a := do(t, c, newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}}, "user=bob&pass=bob-child", nil))
			if a.outcome.Attempts != tt.wantAttempts || len(ch.requests()) != tt.wantChild {
				t.Errorf("%d attempts, child saw %d requests; want %d and %d", a.outcome.Attempts, len(ch.requests()), tt.wantAttempts, tt.wantChild)
			}
			if tt.wantChild == 0 {
				if a.answered || a.outcome.ErrorKind != plugin.ErrorUnreachable || !strings.Contains(a.outcome.ErrorMessage, "refused") {
					t.Errorf("answered %v, outcome %+v; want unreachable, refused", a.answered, a.outcome)
				}
				return
			}
			origin := ch.URL + "/validate/check"
			if !a.answered || a.outcome.Failed() || a.outcome.Origin != origin {
				t.Errorf("answered %v, outcome %+v; want origin %s", a.answered, a.outcome, origin)
			}
			if !bytes.Contains(a.body, []byte(`"origin": "`+origin+`"`)) {
				t.Errorf("detail.origin does not name the node that answered: %s", a.body)
			}
		})
	}
}

// The child's error envelope comes back with its status and every byte but
// `"detail": null`, which becomes {"origin": ...} (eduMFA's own handler
// crashes on it, capture p11); an empty 204 comes back empty.
func TestPlugin_ErrorEnvelopeAndEmpty204ComeBackIntact(t *testing.T) {
	t.Parallel()
	c04 := readFixture(t, "testdata/c04-child-answer-err904.json")
	if bytes.Count(c04, []byte(`"detail": null`)) != 1 {
		t.Fatal("fixture c04 changed")
	}
	err904 := fixtureAnswer(t, "testdata/c04-child-answer-err904.json", http.StatusBadRequest)
	ch := startChild(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/validate/radiuscheck" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		err904(w, r, n)
	})
	c := startPlugin(t, childServer(ch.URL))
	tests := []struct {
		name, path string
		wantStatus int
		wantCT     string
		wantBody   []byte
	}{
		{"ERR904 envelope, detail null", "/validate/check", http.StatusBadRequest, ctJSON,
			bytes.Replace(c04, []byte(`"detail": null`), []byte(`"detail": {"origin": "`+ch.URL+`/validate/check"}`), 1)},
		{"radiuscheck's empty 204", "/validate/radiuscheck", http.StatusNoContent, "text/html; charset=utf-8", []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, c, newCall("POST", tt.path, "", http.Header{"Content-Type": {ctForm}}, "user=nobody&pass=whatever", nil))
			if !a.answered || a.status != tt.wantStatus || a.outcome.Failed() || a.outcome.Origin != ch.URL+tt.path {
				t.Fatalf("answered %v status %d outcome %+v", a.answered, a.status, a.outcome)
			}
			if !bytes.Equal(a.body, tt.wantBody) {
				t.Errorf("body %s\nwant %s", a.body, tt.wantBody)
			}
			if a.header.Get("Content-Type") != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", a.header.Get("Content-Type"), tt.wantCT)
			}
			// The child's length is stale once origin is set; the host
			// frames the body it relays itself.
			if cl := a.header.Get("Content-Length"); cl != "" {
				t.Errorf("Content-Length %q relayed", cl)
			}
		})
	}
}

// The answer to the client is eduMFA's federated answer of capture p02:
// the child's body with detail.origin appended as detail's last member. It
// differs from the parent's capture only in the signature, which the
// parent re-signed and this gateway relays as the child signed it.
func TestPlugin_AnswerOriginMatchesFixtureP02(t *testing.T) {
	t.Parallel()
	ch := startChild(t, nil)
	c := startPlugin(t, childServer(ch.URL))
	a := do(t, c, newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}, "User-Agent": {"peer-capture/1.0"}},
		"user=bob&pass=bob-child", map[string]any{forward.OptionRealm: "childrealm", forward.OptionForwardClientIP: true}))
	if !a.answered || a.status != http.StatusOK || a.outcome.Failed() {
		t.Fatalf("answered %v status %d outcome %+v", a.answered, a.status, a.outcome)
	}
	sig := regexp.MustCompile(`"signature": "[^"]*"`)
	childSig := sig.Find(readFixture(t, "testdata/p02-child-answer.json"))
	parent := readFixture(t, "testdata/p02-parent-answer.json")
	// The capture's child listened on 127.0.0.1:5001; this one elsewhere.
	want := bytes.ReplaceAll(parent, []byte("http://127.0.0.1:5001"), []byte(ch.URL))
	want = sig.ReplaceAllLiteral(want, childSig)
	if !bytes.Equal(a.body, want) {
		t.Errorf("body %s\nwant %s", a.body, want)
	}
	if a.outcome.Origin != ch.URL+"/validate/check" || a.outcome.Server != "child" || a.outcome.Attempts != 1 {
		t.Errorf("outcome %+v", a.outcome)
	}
	if a.header.Get("Content-Type") != ctJSON || a.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("headers %v", a.header)
	}
	// eduMFA appends client, then realm (capture p02's fwd-request); the
	// order of appended parameters does not matter to the child.
	got := ch.only(t)
	if string(got.body) != "user=bob&pass=bob-child&realm=childrealm&client="+testClientIP {
		t.Errorf("child got %q", got.body)
	}
}

// Configure crosses the process boundary whole: a new set replaces the old
// one (the next call goes to the new child), and a set the plugin refuses
// is an error naming the server, with the old set kept.
func TestPlugin_ConfigureSwapsServersAndKeepsThemOnError(t *testing.T) {
	t.Parallel()
	first, second := startChild(t, nil), startChild(t, nil)
	c := startPlugin(t, childServer(first.URL))
	call := newCall("GET", "/validate/check", "user=bob&pass=x", nil, "", nil)
	if a := do(t, c, call); a.outcome.Origin != first.URL+"/validate/check" {
		t.Fatalf("outcome %+v", a.outcome)
	}
	ctx := t.Context()
	if err := c.Configure(ctx, []plugin.Server{childServer(second.URL)}); err != nil {
		t.Fatal(err)
	}
	if a := do(t, c, call); a.outcome.Origin != second.URL+"/validate/check" {
		t.Errorf("after Configure: outcome %+v", a.outcome)
	}
	err := c.Configure(ctx, []plugin.Server{childServer("ftp://127.0.0.1:1")})
	if err == nil || !strings.Contains(err.Error(), `"child"`) || !strings.Contains(err.Error(), "scheme") {
		t.Errorf("bad server accepted or error unclear: %v", err)
	}
	if a := do(t, c, call); a.outcome.Origin != second.URL+"/validate/check" {
		t.Errorf("after a refused Configure: outcome %+v", a.outcome)
	}
	if a := do(t, c, newCall("GET", "/validate/check", "", nil, "", map[string]any{forward.OptionServer: "nope"})); a.answered ||
		a.outcome.ErrorKind != plugin.ErrorConfig || a.outcome.Attempts != 0 {
		t.Errorf("unknown server: answered %v outcome %+v", a.answered, a.outcome)
	}
	if n := len(first.requests()) + len(second.requests()); n != 3 {
		t.Errorf("children saw %d requests, want 3", n)
	}
}

// The host's context reaches through the plugin to the child: a client
// that gives up (or a request deadline) cancels the Do, the plugin drops
// the connection to the hanging child, and nothing waits for the child's
// own timeout.
func TestPlugin_HostCancelClosesTheChildConnection(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	childSawClose := make(chan struct{})
	release := make(chan struct{})
	ch := startChild(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
			close(childSawClose)
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the child's Close
	s := childServer(ch.URL)
	s.Timeout = time.Minute
	c := startPlugin(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}}, "user=bob&pass=x", nil))
		done <- err
	}()
	waitFor(t, arrived, "the request at the child")
	cancel()
	if err := waitFor(t, done, "Do after cancel"); status.Code(err) != codes.Canceled || errors.Is(err, plugin.ErrPluginUnavailable) {
		t.Errorf("Do: %v, want a cancellation, not a dead plugin", err)
	}
	waitFor(t, childSawClose, "the child seeing its connection closed")
	if err := c.Health(t.Context()); err != nil {
		t.Errorf("plugin unhealthy after a cancelled call: %v", err)
	}
}
