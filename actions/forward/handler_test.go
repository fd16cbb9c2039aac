package forward

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

func TestDescribe(t *testing.T) {
	d, err := New(nil).Describe(context.Background())
	if err != nil || d.Identifier != HandlerIdentifier {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	if _, ok := d.Action(ActionName); !ok {
		t.Error("no forward action")
	}
}

// Every method arrives with its path, raw query, encoding and body bytes;
// eduMFA's handler turns JSON into form, re-encodes and drops PUT/PATCH.
func TestForward_MethodsKeepTheirEncoding(t *testing.T) {
	tests := []struct {
		name, method, path, query, ct, body string
	}{
		{"GET query", "GET", "/validate/check", "user=bob&pass=p%2541%2Bb%26c+%C3%BC", "", ""},
		{"POST form", "POST", "/validate/check", "", ctForm, "user=bob&pass=bob-child"},
		{"POST JSON", "POST", "/validate/check", "", ctJSON, `{"user": "bob", "pass": "bob-child"}`},
		{"PUT form", "PUT", "/user/", "", ctForm, "user=bob&email=b%40example.org"},
		{"PATCH JSON", "PATCH", "/token/S1", "", ctJSON, `{"description": "x"}`},
		{"DELETE", "DELETE", "/token/HOTP%2F1", "", "", ""},
		{"POST with query and form", "POST", "/validate/check", "nonce=%41", ctForm, "user=bob&pass=x"},
	}
	c := newChild(t, nil)
	h := newHandler(t, server(c.URL))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hd := http.Header{}
			if tt.ct != "" {
				hd.Set("Content-Type", tt.ct)
			}
			var rec recorder
			out := h.Do(context.Background(), newCall(tt.method, tt.path, tt.query, hd, tt.body, nil), &rec)
			if out.Failed() {
				t.Fatalf("outcome %+v", out)
			}
			got := c.last(t)
			wantURI := tt.path
			if tt.query != "" {
				wantURI += "?" + tt.query
			}
			if got.method != tt.method || got.uri != wantURI || string(got.body) != tt.body {
				t.Errorf("child saw %s %s %q, want %s %s %q", got.method, got.uri, got.body, tt.method, wantURI, tt.body)
			}
			if got.header.Get("Content-Type") != tt.ct {
				t.Errorf("Content-Type = %q, want %q", got.header.Get("Content-Type"), tt.ct)
			}
			if out.Origin != c.URL+tt.path || out.Server != "child" || out.Attempts != 1 {
				t.Errorf("outcome %+v", out)
			}
		})
	}
}

func TestForward_FormPasswordArrivesByteIdentical(t *testing.T) {
	c := newChild(t, nil)
	h := newHandler(t, server(c.URL))
	body := "user=bob&pass=p%2541%2Bb%26c+%C3%BC%E2%82%AC&pass2=%25%2B%26"
	call := newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}}, body,
		map[string]any{OptionRealm: "childrealm"})
	if out := h.Do(context.Background(), call, &recorder{}); out.Failed() {
		t.Fatal(out)
	}
	if got := string(c.last(t).body); got != body+"&realm=childrealm" {
		t.Errorf("child got %q", got)
	}
}

func TestForward_FreeRADIUSBody(t *testing.T) {
	body, err := os.ReadFile("testdata/l03-freeradius-request.json")
	if err != nil {
		t.Fatal(err)
	}
	c := newChild(t, nil)
	h := newHandler(t, server(c.URL))
	hd := http.Header{
		"User-Agent": {"FreeRADIUS"}, "Accept-Encoding": {"gzip, deflate"}, "Accept": {"*/*"},
		"Connection": {"keep-alive"}, "Content-Length": {"65"}, "Content-Type": {"application/json"},
	}
	tests := []struct {
		name string
		opts map[string]any
		want string
	}{
		{"client removed", nil, `{"user": "bob", "pass": "p%41+b&c \u00fc"}`},
		{"client forwarded", map[string]any{OptionForwardClientIP: true},
			`{"user": "bob", "pass": "p%41+b&c \u00fc", "client": "127.0.0.2"}`},
		{"realm set", map[string]any{OptionRealm: "childrealm"},
			`{"user": "bob", "pass": "p%41+b&c \u00fc", "realm": "childrealm"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := h.Do(context.Background(), newCall("POST", "/validate/check", "", hd, string(body), tt.opts), &recorder{})
			if out.Failed() {
				t.Fatal(out)
			}
			got := c.last(t)
			if string(got.body) != tt.want {
				t.Errorf("body %s\nwant %s", got.body, tt.want)
			}
			if got.header.Get("User-Agent") != "FreeRADIUS" || got.header.Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", got.header)
			}
		})
	}
}

func TestForward_RealmResolverAndUserAtRealm(t *testing.T) {
	c := newChild(t, nil)
	h := newHandler(t, server(c.URL))
	opts := map[string]any{OptionRealm: "childrealm", OptionResolver: "childres"}
	call := newCall("GET", "/validate/check", "user=alice%40parentrealm&pass=x&realm=parentrealm", nil, "", opts)
	if out := h.Do(context.Background(), call, &recorder{}); out.Failed() {
		t.Fatal(out)
	}
	want := "/validate/check?user=alice%40childrealm&pass=x&realm=childrealm&resolver=childres"
	if got := c.last(t).uri; got != want {
		t.Errorf("uri %s\nwant %s", got, want)
	}
}

func TestForward_ClientAndForwardedFor(t *testing.T) {
	c := newChild(t, nil)
	h := newHandler(t, server(c.URL))
	tests := []struct {
		name      string
		forward   bool
		trusted   bool
		xff       string
		wantBody  string
		wantChain string
	}{
		{"client removed, XFF replaced for an untrusted peer", false, false, "6.6.6.6",
			"user=bob", "127.0.0.2"},
		{"client set to g.client_ip", true, false, "",
			"client=127.0.0.2&user=bob", "127.0.0.2"},
		{"trusted peer: chain kept, peer appended", true, true, "127.0.0.2",
			"client=127.0.0.2&user=bob", "127.0.0.2, 10.0.0.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hd := http.Header{"Content-Type": {ctForm}}
			if tt.xff != "" {
				hd.Set("X-Forwarded-For", tt.xff)
			}
			call := newCall("POST", "/validate/check", "", hd, "client=6.6.6.6&user=bob",
				map[string]any{OptionForwardClientIP: tt.forward})
			call.G.PeerTrusted = tt.trusted
			if tt.trusted {
				call.Request.RemoteAddr = "10.0.0.9"
			}
			if out := h.Do(context.Background(), call, &recorder{}); out.Failed() {
				t.Fatal(out)
			}
			got := c.last(t)
			if string(got.body) != tt.wantBody {
				t.Errorf("body %q, want %q", got.body, tt.wantBody)
			}
			if xff := got.header.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != tt.wantChain {
				t.Errorf("X-Forwarded-For %q, want %q", xff, tt.wantChain)
			}
		})
	}
}

func TestForward_Headers(t *testing.T) {
	c := newChild(t, nil)
	h := newHandler(t, server(c.URL))
	hd := http.Header{
		"Authorization": {"eyJ.admin.jwt"}, "Cookie": {"session=parent"}, "Host": {"parent.example.org"},
		"User-Agent": {"simpleSAMLphp/2.1"}, "Origin": {"https://sso.example.org"}, "Idempotency-Key": {"k"},
	}
	for _, forward := range []bool{false, true} {
		call := newCall("GET", "/token/", "", hd, "", map[string]any{OptionForwardAuthorizationToken: forward})
		call.G.Hops = 2
		if out := h.Do(context.Background(), call, &recorder{}); out.Failed() {
			t.Fatal(out)
		}
		got := c.last(t)
		wantAuth := ""
		if forward {
			wantAuth = "eyJ.admin.jwt"
		}
		if got.header.Get("Authorization") != wantAuth {
			t.Errorf("forward_authorization_token %v: Authorization %q", forward, got.header.Get("Authorization"))
		}
		if got.header.Get("Cookie") != "" || got.header.Get("Idempotency-Key") != "" {
			t.Errorf("Cookie or Idempotency-Key passed: %v", got.header)
		}
		if got.host != strings.TrimPrefix(c.URL, "http://") {
			t.Errorf("Host %q", got.host)
		}
		if got.header.Get("User-Agent") != "simpleSAMLphp/2.1" || got.header.Get("Origin") != "https://sso.example.org" {
			t.Errorf("client headers lost: %v", got.header)
		}
		if got.header.Get(HopsHeader) != "3" || got.header.Get(RequestIDHeader) != "req-1" {
			t.Errorf("hops/request id: %v", got.header)
		}
		if got.header.Get("Accept-Encoding") != "identity" {
			t.Errorf("Accept-Encoding %q", got.header.Get("Accept-Encoding"))
		}
	}
	// No client User-Agent: the child sees none (not Go's).
	if out := h.Do(context.Background(), newCall("GET", "/validate/check", "", nil, "", nil), &recorder{}); out.Failed() {
		t.Fatal(out)
	}
	if ua, ok := c.last(t).header["User-Agent"]; ok {
		t.Errorf("User-Agent %q sent for a client that sent none", ua)
	}
}

func TestForward_PathPrefixAndRawPath(t *testing.T) {
	c := newChild(t, nil)
	h := newHandler(t, server(c.URL+"/edumfa/"))
	call := newCall("GET", "/token/challenges/A%2FB%20C", "q=%41+b;c", nil, "", nil)
	out := h.Do(context.Background(), call, &recorder{})
	if out.Failed() {
		t.Fatal(out)
	}
	if got, want := c.last(t).uri, "/edumfa/token/challenges/A%2FB%20C?q=%41+b;c"; got != want {
		t.Errorf("uri %q, want %q", got, want)
	}
	if want := c.URL + "/edumfa/token/challenges/A%2FB%20C"; out.Origin != want {
		t.Errorf("origin %q, want %q", out.Origin, want)
	}
}

// The child's answer comes back as eduMFA's federated answer (capture p02):
// status, headers and body, detail.origin the last member of detail.
func TestForward_AnswerHasOriginLikeEduMFA(t *testing.T) {
	c := newChild(t, nil)
	h := newHandler(t, server(c.URL))
	var rec recorder
	out := h.Do(context.Background(), newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}}, "user=bob&pass=bob-child", nil), &rec)
	if out.Failed() {
		t.Fatal(out)
	}
	parent, err := os.ReadFile("testdata/p02-parent-answer.json")
	if err != nil {
		t.Fatal(err)
	}
	sig := regexp.MustCompile(`"signature": "[^"]*"`)
	want := sig.ReplaceAll(bytes.ReplaceAll(parent, []byte("127.0.0.1:5001"), []byte(strings.TrimPrefix(c.URL, "http://"))), []byte(`"signature": "-"`))
	got := sig.ReplaceAll(rec.body.Bytes(), []byte(`"signature": "-"`))
	if !bytes.Equal(got, want) {
		t.Errorf("body %s\nwant %s", got, want)
	}
	if !bytes.Contains(rec.body.Bytes(), []byte(`"type": "spass", "origin": "`+c.URL+`/validate/check"}`)) {
		t.Error("origin is not the last member of detail")
	}
	if rec.status != 200 || rec.heads != 1 || rec.header.Get("Cache-Control") != "no-cache" ||
		rec.header.Get("Content-Type") != "application/json" || rec.header.Get("Content-Length") != "" {
		t.Errorf("head %d %v", rec.status, rec.header)
	}
}

func TestForward_ErrorEnvelopeDetailNull(t *testing.T) {
	c := newChild(t, fixtureAnswer(t, "testdata/c04-child-answer-err904.json", http.StatusBadRequest))
	h := newHandler(t, server(c.URL))
	var rec recorder
	out := h.Do(context.Background(), newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}}, "user=nobody&pass=whatever", nil), &rec)
	if out.Failed() {
		t.Fatal(out)
	}
	want := `{"detail": {"origin": "` + c.URL + `/validate/check"}, "id": 1, "jsonrpc": "2.0", "result": {"error": {"code": 904,`
	if rec.status != http.StatusBadRequest || !strings.HasPrefix(rec.body.String(), want) {
		t.Errorf("%d %s", rec.status, rec.body.String())
	}
}

func TestForward_NonJSONAnswersPassUnchanged(t *testing.T) {
	tests := []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request, int)
		status int
		body   string
		header map[string]string
	}{
		{"radiuscheck empty 204", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusNoContent)
		}, http.StatusNoContent, "", map[string]string{"Content-Type": "text/plain"}},
		{"proxy HTML 502", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<html>Bad Gateway</html>"))
		}, http.StatusBadGateway, "<html>Bad Gateway</html>", map[string]string{"Content-Length": "24"}},
		{"gzip-encoded JSON (child ignored identity)", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("\x1f\x8bnot really"))
		}, http.StatusOK, "\x1f\x8bnot really", map[string]string{"Content-Encoding": "gzip"}},
		{"redirect relayed, not followed", func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Redirect(w, r, "/validate/check/", http.StatusPermanentRedirect)
		}, http.StatusPermanentRedirect, "", map[string]string{"Location": "/validate/check/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChild(t, tt.answer)
			h := newHandler(t, server(c.URL))
			var rec recorder
			out := h.Do(context.Background(), newCall("POST", "/validate/radiuscheck", "", http.Header{"Content-Type": {ctForm}}, "user=bob&pass=x", nil), &rec)
			if out.Failed() || out.Attempts != 1 {
				t.Fatal(out)
			}
			if rec.status != tt.status {
				t.Errorf("status %d, want %d", rec.status, tt.status)
			}
			if rec.status != http.StatusPermanentRedirect && rec.body.String() != tt.body {
				t.Errorf("body %q, want %q", rec.body.String(), tt.body)
			}
			for k, v := range tt.header {
				if rec.header.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, rec.header.Get(k), v)
				}
			}
			if n := len(c.requests()); n != 1 {
				t.Errorf("child saw %d requests", n)
			}
		})
	}
}

func TestForward_LargeBodyStreamsUnchanged(t *testing.T) {
	big := append([]byte(`{"detail": null, "pad": "`), bytes.Repeat([]byte("x"), maxRewriteBodyBytes)...)
	big = append(big, `"}`...)
	c := newChild(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(big)
	})
	h := newHandler(t, server(c.URL))
	var rec recorder
	if out := h.Do(context.Background(), newCall("GET", "/token/", "", nil, "", nil), &rec); out.Failed() {
		t.Fatal(out)
	}
	if !bytes.Equal(rec.body.Bytes(), big) {
		t.Errorf("body changed (%d bytes, want %d)", rec.body.Len(), len(big))
	}
	for _, n := range rec.writes {
		if n > chunkBytes {
			t.Fatalf("a write of %d bytes", n)
		}
	}
}

func TestForward_PostNotRetriedAfterChildProcessed(t *testing.T) {
	tests := []struct {
		name     string
		answer   func(http.ResponseWriter, *http.Request, int)
		wantKind plugin.ErrorKind
	}{
		{"child answers 500", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.WriteHeader(http.StatusInternalServerError)
		}, plugin.ErrorNone},
		{"child answers 503 with Retry-After", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusServiceUnavailable)
		}, plugin.ErrorNone},
		{"child reads the POST and hangs up", hangUp, plugin.ErrorInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChild(t, tt.answer)
			h := newHandler(t, server(c.URL))
			var rec recorder
			out := h.Do(context.Background(), newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}}, "user=bob&pass=123456", nil), &rec)
			if n := len(c.requests()); n != 1 || out.Attempts != 1 {
				t.Errorf("child saw %d requests, %d attempts", n, out.Attempts)
			}
			if out.ErrorKind != tt.wantKind {
				t.Errorf("outcome %+v", out)
			}
			if out.Failed() && rec.heads != 0 {
				t.Error("a failed outcome wrote an answer")
			}
		})
	}
}

// net/http itself replays a GET when a reused connection breaks before the
// answer (and retryablehttp's GetBody makes every GET qualify); a GET
// /validate/check carries the OTP. A POST must not be replayed either.
func TestForward_NotReplayedOnReusedConnection(t *testing.T) {
	for _, method := range []string{"GET", "POST", "HEAD"} {
		t.Run(method, func(t *testing.T) {
			c := newChild(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 2 {
					hangUp(w, r, n)
					return
				}
				w.Write([]byte(`{}`))
			})
			h := newHandler(t, server(c.URL))
			hd, body := http.Header{}, ""
			if method == "POST" {
				hd.Set("Content-Type", ctForm)
				body = "user=bob&pass=123456"
			}
			call := newCall(method, "/validate/check", "user=bob&pass=123456", hd, body, nil)
			if out := h.Do(context.Background(), call, &recorder{}); out.Failed() {
				t.Fatal(out)
			}
			out := h.Do(context.Background(), call, &recorder{})
			if !out.Failed() || out.Attempts != 1 {
				t.Errorf("outcome %+v, want a failure after one attempt", out)
			}
			if n := len(c.requests()); n != 2 {
				t.Errorf("child saw %d requests, want 2 (one per call)", n)
			}
			if strings.Contains(out.ErrorMessage, "123456") {
				t.Errorf("error message leaks the query: %s", out.ErrorMessage)
			}
		})
	}
}

func TestForward_DialFailureGoesToNextNode(t *testing.T) {
	c := newChild(t, nil)
	dead := "http://" + closedAddr(t)
	h := newHandler(t, server(dead, c.URL))
	var rec recorder
	out := h.Do(context.Background(), newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}}, "user=bob&pass=x", nil), &rec)
	if out.Failed() || out.Attempts != 2 || out.Origin != c.URL+"/validate/check" {
		t.Fatalf("outcome %+v", out)
	}
	if !bytes.Contains(rec.body.Bytes(), []byte(`"origin": "`+c.URL+`/validate/check"`)) {
		t.Errorf("origin names the wrong node: %s", rec.body.String())
	}
}

func TestForward_UnreachableChild(t *testing.T) {
	h := newHandler(t, server("http://"+closedAddr(t)))
	var rec recorder
	start := time.Now()
	out := h.Do(context.Background(), newCall("GET", "/validate/check", "user=bob&pass=secret123", nil, "", nil), &rec)
	if out.ErrorKind != plugin.ErrorUnreachable || out.Attempts != 1+maxDialRetries {
		t.Fatalf("outcome %+v", out)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
	if !strings.Contains(out.ErrorMessage, `"child"`) || !strings.Contains(out.ErrorMessage, "refused") ||
		strings.Contains(out.ErrorMessage, "secret123") {
		t.Errorf("message %q", out.ErrorMessage)
	}
	if rec.heads != 0 {
		t.Error("answer written")
	}
}

func TestForward_HangingChildTimesOut(t *testing.T) {
	c := newChild(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	s := server(c.URL)
	s.Timeout = 200 * time.Millisecond
	h := newHandler(t, s)
	start := time.Now()
	out := h.Do(context.Background(), newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}}, "user=bob&pass=x", nil), &recorder{})
	elapsed := time.Since(start)
	if out.ErrorKind != plugin.ErrorTimeout || out.Attempts != 1 {
		t.Fatalf("outcome %+v", out)
	}
	if elapsed < 200*time.Millisecond || elapsed > time.Second {
		t.Errorf("took %s with a 200ms timeout", elapsed)
	}
	if n := len(c.requests()); n != 1 {
		t.Errorf("child saw %d requests", n)
	}
}

// The timeout bounds reaching the answer's head, not reading its body.
func TestForward_TimeoutDoesNotCutASlowBody(t *testing.T) {
	c := newChild(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("part one, "))
		w.(http.Flusher).Flush()
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte("part two"))
	})
	s := server(c.URL)
	s.Timeout = 200 * time.Millisecond
	h := newHandler(t, s)
	var rec recorder
	if out := h.Do(context.Background(), newCall("GET", "/x", "", nil, "", nil), &rec); out.Failed() {
		t.Fatal(out)
	}
	if rec.body.String() != "part one, part two" {
		t.Errorf("body %q", rec.body.String())
	}
}

func TestForward_ContextCancelStops(t *testing.T) {
	c := newChild(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		<-r.Context().Done()
	})
	h := newHandler(t, server(c.URL))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	out := h.Do(ctx, newCall("GET", "/validate/check", "", nil, "", nil), &recorder{})
	if out.ErrorKind != plugin.ErrorTimeout || !strings.Contains(out.ErrorMessage, "cancelled") {
		t.Errorf("outcome %+v", out)
	}
	if time.Since(start) > time.Second {
		t.Errorf("took %s", time.Since(start))
	}

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	out = h.Do(ctx, newCall("GET", "/validate/check", "", nil, "", nil), &recorder{})
	if out.ErrorKind != plugin.ErrorTimeout || !strings.Contains(out.ErrorMessage, "deadline") {
		t.Errorf("outcome %+v", out)
	}
}

func TestForward_ConfigErrors(t *testing.T) {
	c := newChild(t, nil)
	h := newHandler(t, server(c.URL))
	for name, opts := range map[string]map[string]any{
		"unknown server":  {OptionServer: "nope"},
		"no server":       {OptionServer: ""},
		"bad option type": {OptionForwardClientIP: "True"},
	} {
		t.Run(name, func(t *testing.T) {
			var rec recorder
			out := h.Do(context.Background(), newCall("GET", "/validate/check", "", nil, "", opts), &rec)
			if out.ErrorKind != plugin.ErrorConfig || rec.heads != 0 || len(c.requests()) != 0 {
				t.Errorf("outcome %+v, heads %d", out, rec.heads)
			}
		})
	}
	var rec recorder
	if out := New(nil).Do(context.Background(), newCall("GET", "/", "", nil, "", nil), &rec); out.ErrorKind != plugin.ErrorConfig {
		t.Errorf("unconfigured handler: %+v", out)
	}
}

func TestForward_MultipartClientRefused(t *testing.T) {
	c := newChild(t, nil)
	h := newHandler(t, server(c.URL))
	body := "--XX\r\nContent-Disposition: form-data; name=\"client\"\r\n\r\n6.6.6.6\r\n--XX--\r\n"
	var rec recorder
	out := h.Do(context.Background(), newCall("POST", "/validate/check", "",
		http.Header{"Content-Type": {"multipart/form-data; boundary=XX"}}, body, nil), &rec)
	if out.ErrorKind != plugin.ErrorInternal || len(c.requests()) != 0 || rec.heads != 0 {
		t.Errorf("outcome %+v", out)
	}
}

// Logs name rules, servers, nodes and paths; never query strings, bodies,
// passwords or Authorization.
func TestForward_LogsNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	h := New(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	c := newChild(t, nil)
	dead := "http://" + closedAddr(t)
	if err := h.Configure(context.Background(), []plugin.Server{
		server(dead, c.URL),
		{Identifier: "down", URLs: []string{dead}},
	}); err != nil {
		t.Fatal(err)
	}
	auth := http.Header{"Authorization": {"Bearer TOPSECRETJWT"}, "Content-Type": {ctForm}}
	calls := []*plugin.Call{
		newCall("GET", "/validate/check", "user=bob&pass=TOPSECRETGET", auth, "", nil),
		newCall("POST", "/validate/check", "", auth, "user=bob&pass=TOPSECRETPOST", map[string]any{OptionForwardAuthorizationToken: true}),
		newCall("GET", "/validate/check", "user=bob&pass=TOPSECRETDOWN", auth, "", map[string]any{OptionServer: "down"}),
	}
	for _, call := range calls {
		h.Do(context.Background(), call, &recorder{})
	}
	if !strings.Contains(logs.String(), `"msg":"forwarded"`) || !strings.Contains(logs.String(), `"msg":"forward failed"`) {
		t.Errorf("expected log events missing:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "TOPSECRET") || strings.Contains(logs.String(), "pass=") {
		t.Errorf("secrets in the log:\n%s", logs.String())
	}
}
