package forward

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

func TestForward_TLS(t *testing.T) {
	c := newUnstartedChild(t, nil)
	c.StartTLS()
	t.Cleanup(c.Close)
	caFile := writePEM(t, t.TempDir(), "child-ca.pem", "CERTIFICATE", c.Certificate().Raw)

	tests := []struct {
		name     string
		tune     func(*plugin.Server)
		wantKind plugin.ErrorKind
	}{
		{"verification on, CA unknown", func(*plugin.Server) {}, plugin.ErrorTLS},
		{"verification on, ca_file", func(s *plugin.Server) { s.CAFile = caFile }, plugin.ErrorNone},
		{"tls false", func(s *plugin.Server) { s.TLSVerify = false }, plugin.ErrorNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := server(c.URL)
			tt.tune(&s)
			h := newHandler(t, s)
			before := len(c.requests())
			var rec recorder
			out := h.Do(context.Background(), newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}}, "user=bob&pass=x", nil), &rec)
			if out.ErrorKind != tt.wantKind {
				t.Fatalf("outcome %+v", out)
			}
			if out.Attempts != 1 {
				t.Errorf("%d attempts: a certificate failure must not be retried", out.Attempts)
			}
			if tt.wantKind == plugin.ErrorNone && (rec.status != 200 || len(c.requests()) != before+1) {
				t.Errorf("status %d", rec.status)
			}
		})
	}
}

func TestForward_ClientCertificate(t *testing.T) {
	ca := newClientCA(t)
	c := newUnstartedChild(t, nil)
	c.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool}
	c.StartTLS()
	t.Cleanup(c.Close)

	s := server(c.URL)
	s.TLSVerify = false
	h := newHandler(t, s)
	if out := h.Do(context.Background(), newCall("GET", "/validate/check", "", nil, "", nil), &recorder{}); out.ErrorKind != plugin.ErrorTLS {
		t.Errorf("without client certificate: %+v", out)
	}
	s.CertFile, s.KeyFile = ca.certFile, ca.keyFile
	h = newHandler(t, s)
	if out := h.Do(context.Background(), newCall("GET", "/validate/check", "", nil, "", nil), &recorder{}); out.Failed() {
		t.Errorf("with client certificate: %+v", out)
	}
}

// One pooled keep-alive connection serves a stream of POSTs and GETs; the
// measures against replays must not cost the connection reuse.
func TestForward_KeepsConnectionsAlive(t *testing.T) {
	var conns atomic.Int32
	c := newUnstartedChild(t, nil)
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	c.Start()
	t.Cleanup(c.Close)
	h := newHandler(t, server(c.URL))
	for range 20 {
		post := newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}}, "user=bob&pass=x", nil)
		get := newCall("GET", "/validate/check", "user=bob&pass=x", nil, "", nil)
		for _, call := range []*plugin.Call{post, get} {
			if out := h.Do(context.Background(), call, &recorder{}); out.Failed() {
				t.Fatal(out)
			}
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 40 sequential forwards, want 1", n)
	}
}

func TestConfigure_Errors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	ca := newClientCA(t)
	tests := []struct {
		name string
		s    plugin.Server
		want []string // all must appear in the error
	}{
		{"missing ca_file", plugin.Server{Identifier: "a", URLs: []string{"https://x"}, CAFile: filepath.Join(dir, "nope.pem")},
			[]string{`"a"`, "ca_file", "nope.pem"}},
		{"ca_file without PEM", plugin.Server{Identifier: "a", URLs: []string{"https://x"}, CAFile: notPEM},
			[]string{`"a"`, "ca_file", "not.pem"}},
		{"cert without key", plugin.Server{Identifier: "a", URLs: []string{"https://x"}, CertFile: ca.certFile},
			[]string{`"a"`, "key_file"}},
		{"key does not match cert", plugin.Server{Identifier: "a", URLs: []string{"https://x"}, CertFile: ca.certFile, KeyFile: notPEM},
			[]string{`"a"`, "client.pem", "not.pem"}},
		{"no url", plugin.Server{Identifier: "a"}, []string{`"a"`, "no url"}},
		{"bad scheme", plugin.Server{Identifier: "a", URLs: []string{"ftp://x"}}, []string{`"a"`, "scheme"}},
		{"credentials in url", plugin.Server{Identifier: "a", URLs: []string{"https://u:p@x"}}, []string{`"a"`, "credentials"}},
		{"no identifier", plugin.Server{URLs: []string{"https://x"}}, []string{"identifier"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New(nil).Configure(context.Background(), []plugin.Server{tt.s})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	dup := []plugin.Server{{Identifier: "a", URLs: []string{"http://x"}}, {Identifier: "a", URLs: []string{"http://y"}}}
	if err := New(nil).Configure(context.Background(), dup); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate server: %v", err)
	}
}

func TestConfigure_SwapKeepsUnchangedClients(t *testing.T) {
	h := New(nil)
	a := plugin.Server{Identifier: "a", URLs: []string{"http://a"}}
	b := plugin.Server{Identifier: "b", URLs: []string{"http://b"}}
	if err := h.Configure(context.Background(), []plugin.Server{a, b}); err != nil {
		t.Fatal(err)
	}
	first := h.servers.Load()
	b.URLs = []string{"http://b2"}
	if err := h.Configure(context.Background(), []plugin.Server{a, b}); err != nil {
		t.Fatal(err)
	}
	second := h.servers.Load()
	if second.byID["a"] != first.byID["a"] {
		t.Error("unchanged server got a new client")
	}
	if second.byID["b"] == first.byID["b"] {
		t.Error("changed server kept its client")
	}
	// A failing Configure leaves the set in place.
	if err := h.Configure(context.Background(), []plugin.Server{{Identifier: "c"}}); err == nil {
		t.Fatal("no error")
	}
	if h.servers.Load() != second {
		t.Error("failed Configure replaced the set")
	}
}

func TestJoinPath(t *testing.T) {
	for _, tt := range []struct{ base, path, want string }{
		{"http://c:5001", "/validate/check", "http://c:5001/validate/check"},
		{"http://c:5001/", "/validate/check", "http://c:5001/validate/check"},
		{"http://c/prefix", "validate/check", "http://c/prefix/validate/check"},
		{"", "//validate//check", "/validate//check"},
		{"", "", "/"},
	} {
		if got := joinPath(tt.base, tt.path); got != tt.want {
			t.Errorf("joinPath(%q, %q) = %q, want %q", tt.base, tt.path, got, tt.want)
		}
	}
}

func TestConfigure_ClosesIdleConnectionsOfRetiredClients(t *testing.T) {
	closed := make(chan struct{}, 8)
	c := newUnstartedChild(t, nil)
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	c.Start()
	t.Cleanup(c.Close)
	s := server(c.URL)
	h := newHandler(t, s)
	if out := h.Do(context.Background(), newCall("GET", "/validate/check", "", nil, "", nil), &recorder{}); out.Failed() {
		t.Fatal(out)
	}
	// The same definition again: the client and its connection stay.
	if err := h.Configure(context.Background(), []plugin.Server{s}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
		t.Fatal("an unchanged server lost its connection")
	case <-time.After(100 * time.Millisecond):
	}
	s.Timeout = time.Second
	if err := h.Configure(context.Background(), []plugin.Server{s}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("the retired client's idle connection was not closed")
	}
}

// Forwards run while Configure swaps the set; each call keeps the set it
// loaded (run with -race).
func TestForward_ConcurrentWithConfigure(t *testing.T) {
	c := newChild(t, nil)
	s := server(c.URL)
	h := newHandler(t, s)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				call := newCall("POST", "/validate/check", "", http.Header{"Content-Type": {ctForm}}, "user=bob&pass=x", nil)
				if out := h.Do(context.Background(), call, &recorder{}); out.Failed() {
					t.Errorf("goroutine %d: %+v", g, out)
					return
				}
			}
		}()
	}
	for i := range 10 {
		s.Timeout = time.Duration(i+1) * time.Second
		if err := h.Configure(context.Background(), []plugin.Server{s}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}
