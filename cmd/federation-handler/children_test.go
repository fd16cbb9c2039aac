package main

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// received is one request exactly as a child got it off the wire.
type received struct {
	method string
	// uri is the request target as sent: escaped path and raw query.
	uri      string
	rawQuery string
	host     string
	header   http.Header
	body     []byte
	// contentLength and transferEncoding show how the body was framed.
	contentLength    int64
	transferEncoding []string
}

// answerFunc writes a child's answer; n counts the requests so far (1 for
// the first).
type answerFunc func(w http.ResponseWriter, r *http.Request, n int)

// child is a loopback eduMFA stand-in that records every request it reads.
type child struct {
	URL string
	srv *httptest.Server

	mu   sync.Mutex
	reqs []received
}

// startChild starts a child on 127.0.0.1 that reads each request whole,
// records it and then answers with answer (nil: the p02 child answer).
func startChild(t testing.TB, answer answerFunc) *child {
	t.Helper()
	if answer == nil {
		answer = fixtureAnswer(t, "testdata/p02-child-answer.json", http.StatusOK)
	}
	c := &child{}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, received{
			method: r.Method, uri: r.RequestURI, rawQuery: r.URL.RawQuery, host: r.Host,
			header: r.Header.Clone(), body: body,
			contentLength: r.ContentLength, transferEncoding: r.TransferEncoding,
		})
		n := len(c.reqs)
		c.mu.Unlock()
		answer(w, r, n)
	}))
	c.srv.Listener.Close()
	c.srv.Listener = ln
	c.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	c.srv.Start()
	c.URL = c.srv.URL
	t.Cleanup(c.srv.Close)
	return c
}

func (c *child) requests() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.reqs...)
}

// only returns the one request the child saw and fails unless there was
// exactly one.
func (c *child) only(t testing.TB) received {
	t.Helper()
	reqs := c.requests()
	if len(reqs) != 1 {
		t.Fatalf("the child saw %d requests, want exactly 1", len(reqs))
	}
	return reqs[0]
}

// reset forgets the requests seen so far (between subtests sharing a child).
func (c *child) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = nil
}

// readFixture returns a body copied from the captures (see testdata/README.md).
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureAnswer answers with a captured eduMFA body and the headers eduMFA
// (Werkzeug) sends with it.
func fixtureAnswer(t testing.TB, file string, status int) answerFunc {
	t.Helper()
	body := readFixture(t, file)
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		w.Write(body)
	}
}

// hangUp has read the request (startChild reads it first) and closes the
// connection without answering: the child may have processed it.
func hangUp(w http.ResponseWriter, _ *http.Request, _ int) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// refusingAddr returns a 127.0.0.1 address that refuses connections. The
// port is held by a bound socket that never listens, so the kernel answers
// every SYN with a reset (connection refused) and no other process can take
// the port while the test runs, unlike a listener closed again.
func refusingAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
}
