package forward

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// recorder is a plugin.ResponseWriter that keeps what it gets.
type recorder struct {
	status int
	header http.Header
	body   bytes.Buffer
	heads  int
	writes []int
}

func (r *recorder) WriteHead(status int, h http.Header) error {
	r.heads++
	r.status, r.header = status, h
	return nil
}

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, len(p))
	return r.body.Write(p)
}

// seenRequest is a request as a child received it.
type seenRequest struct {
	method, uri, host string
	header            http.Header
	body              []byte
}

// child is a loopback eduMFA stand-in that records what reaches it.
type child struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seenRequest
}

// newChild starts a child; answer writes the response (nil: the p02 answer).
func newChild(t testing.TB, answer func(w http.ResponseWriter, r *http.Request, n int)) *child {
	t.Helper()
	c := &child{}
	c.Server = httptest.NewUnstartedServer(c.handler(t, answer))
	c.Config.ErrorLog = log.New(io.Discard, "", 0)
	c.Start()
	t.Cleanup(c.Close)
	return c
}

// newUnstartedChild returns a child not started yet, so a test can adjust it and
// then call Start or StartTLS (and register Close).
func newUnstartedChild(t testing.TB, answer func(w http.ResponseWriter, r *http.Request, n int)) *child {
	t.Helper()
	c := &child{}
	c.Server = httptest.NewUnstartedServer(c.handler(t, answer))
	c.Config.ErrorLog = log.New(io.Discard, "", 0)
	return c
}

func (c *child) handler(t testing.TB, answer func(w http.ResponseWriter, r *http.Request, n int)) http.HandlerFunc {
	if answer == nil {
		answer = fixtureAnswer(t, "testdata/p02-child-answer.json", http.StatusOK)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, seenRequest{method: r.Method, uri: r.RequestURI, host: r.Host, header: r.Header.Clone(), body: body})
		n := len(c.reqs)
		c.mu.Unlock()
		answer(w, r, n)
	}
}

func (c *child) requests() []seenRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]seenRequest(nil), c.reqs...)
}

func (c *child) last(t testing.TB) seenRequest {
	t.Helper()
	reqs := c.requests()
	if len(reqs) == 0 {
		t.Fatal("the child saw no request")
	}
	return reqs[len(reqs)-1]
}

// fixtureAnswer answers with a captured eduMFA body, as eduMFA does.
func fixtureAnswer(t testing.TB, file string, status int) func(http.ResponseWriter, *http.Request, int) {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(status)
		w.Write(body)
	}
}

// hangUp reads the request and closes the connection without answering.
func hangUp(w http.ResponseWriter, _ *http.Request, _ int) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// newHandler returns a handler configured with servers.
func newHandler(t testing.TB, servers ...plugin.Server) *Handler {
	t.Helper()
	h := New(nil)
	if err := h.Configure(context.Background(), servers); err != nil {
		t.Fatal(err)
	}
	return h
}

// newCall is a call of the forward action to server "child".
func newCall(method, path, query string, header http.Header, body string, opts map[string]any) *plugin.Call {
	o := map[string]any{OptionServer: "child"}
	for k, v := range opts {
		o[k] = v
	}
	if header == nil {
		header = http.Header{}
	}
	return &plugin.Call{
		Event: "validate_check", Rule: "test-rule", Action: ActionName, Options: o,
		Request: plugin.Request{
			Method: method, Path: path, RawQuery: query, Header: header,
			Body: []byte(body), RemoteAddr: "127.0.0.2",
		},
		G: plugin.Context{ClientIP: "127.0.0.2", RequestID: "req-1"},
	}
}

func server(urls ...string) plugin.Server {
	return plugin.Server{Identifier: "child", URLs: urls, TLSVerify: true, Timeout: 2 * time.Second}
}

// writePEM writes PEM blocks to a file in dir and returns its path.
func writePEM(t testing.TB, dir, name, typ string, der ...[]byte) string {
	t.Helper()
	var b bytes.Buffer
	for _, d := range der {
		pem.Encode(&b, &pem.Block{Type: typ, Bytes: d})
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// clientCA is a throwaway CA with one client certificate, for mutual TLS.
type clientCA struct {
	pool              *x509.CertPool
	certFile, keyFile string
	caFile            string
}

func newClientCA(t testing.TB) clientCA {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test client CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "gateway"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return clientCA{
		pool:     pool,
		certFile: writePEM(t, dir, "client.pem", "CERTIFICATE", der),
		keyFile:  writePEM(t, dir, "client.key", "EC PRIVATE KEY", keyDER),
		caFile:   writePEM(t, dir, "client-ca.pem", "CERTIFICATE", caDER),
	}
}
