package simulator

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/envelope"
)

// testKey is one signing key for all simulators of the test binary (RSA key
// generation under -race is slow).
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// start serves a simulator on a loopback httptest server.
func start(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	cfg.SigningKey = testKey()
	sim := New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// answer is a response with its body read.
type answer struct {
	*http.Response
	body []byte
}

// json decodes the answer's body as an envelope.
func (a answer) json(t *testing.T) envelope.Object {
	t.Helper()
	o, err := envelope.DecodeObject(a.body)
	if err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	return o
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp, body}
}

// postForm posts form-encoded values with a User-Agent.
func postForm(t *testing.T, srv *httptest.Server, path, userAgent string, form url.Values, header ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", userAgent)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

// getWith sends a GET with a raw query and optional header pairs.
func getWith(t *testing.T, srv *httptest.Server, pathAndQuery string, header ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+pathAndQuery, nil)
	req.Header.Set("User-Agent", "simulator-test/1.0")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

// adminToken logs in as the configured admin.
func adminToken(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	a := postForm(t, srv, "/auth", "simulator-test/1.0", url.Values{"username": {AdminName}, "password": {AdminPassword}})
	if a.StatusCode != 200 {
		t.Fatalf("/auth: %d %s", a.StatusCode, a.body)
	}
	return str(path(t, a.json(t), "result", "value", "token"))
}

// path walks nested objects of an envelope; nil if absent.
func path(t *testing.T, o envelope.Object, keys ...string) any {
	t.Helper()
	var v any = o
	for _, k := range keys {
		obj, ok := v.(envelope.Object)
		if !ok {
			return nil
		}
		v, _ = obj.Get(k)
	}
	return v
}

// readFixture parses a recorded request or response file of testdata.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// replay sends a recorded request to srv: same method, path, query, headers
// and body. A recorded Authorization placeholder is replaced by a real
// admin token.
func replay(t *testing.T, srv *httptest.Server, name string) answer {
	t.Helper()
	rec, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(readFixture(t, name))))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rec.Body)
	req, _ := http.NewRequest(rec.Method, srv.URL+rec.RequestURI, bytes.NewReader(body))
	for k, v := range rec.Header {
		switch k {
		case "Connection", "Content-Length":
			continue
		case "Authorization":
			v = []string{adminToken(t, srv)}
		}
		req.Header[k] = v
	}
	return do(t, req)
}

// recordedAnswer parses a recorded response file.
func recordedAnswer(t *testing.T, name string) answer {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(readFixture(t, name))), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp, body}
}

// comparable re-encodes an envelope with the members that differ between
// two runs replaced: signature dropped, time and the given value paths
// zeroed. What remains must match byte for byte.
func comparable(t *testing.T, body []byte, volatile ...[]string) string {
	t.Helper()
	o, err := envelope.DecodeObject(body)
	if err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	o.Delete("signature")
	if v, _ := o.Get("time"); v != nil {
		if _, isNum := v.(json.Number); !isNum {
			t.Errorf("time is %T, want a number", v)
		}
		o.Set("time", 0)
	}
	for _, p := range volatile {
		zero(o, p)
	}
	out, err := envelope.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func zero(o envelope.Object, p []string) {
	v, ok := o.Get(p[0])
	if !ok {
		return
	}
	if len(p) == 1 {
		o.Set(p[0], 0)
		return
	}
	if inner, ok := v.(envelope.Object); ok {
		zero(inner, p[1:])
	}
}
