package forward

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// Connection pool limits of one server's transport.
const (
	// defaultTimeout bounds one attempt when the server sets no timeout.
	defaultTimeout = 10 * time.Second
	// maxIdleConnsPerHost is how many idle keep-alive connections a node
	// keeps; net/http's default of 2 would make a busy gateway redial.
	maxIdleConnsPerHost = 64
	// idleConnTimeout closes keep-alive connections unused for this long.
	idleConnTimeout = 90 * time.Second
	// tcpKeepAlive is the TCP keep-alive probe interval.
	tcpKeepAlive = 30 * time.Second
)

// serverClient is the immutable client of one configured server: its nodes,
// its own pooled transport and the retryablehttp client over it.
type serverClient struct {
	server plugin.Server
	// bases are the node URLs without trailing slash, in the order tried.
	bases []string
	// nodes are bases parsed.
	nodes     []*url.URL
	timeout   time.Duration
	transport *http.Transport
	client    *retryablehttp.Client
	logger    *slog.Logger
	// fingerprint covers the server definition and the bytes of its CA and
	// certificate files; an unchanged server keeps its client (and its warm
	// connections) across Configure calls.
	fingerprint [sha256.Size]byte
}

// newServerClient validates s, reads its TLS files and builds its client.
func newServerClient(s plugin.Server, logger *slog.Logger) (*serverClient, error) {
	if s.Identifier == "" {
		return nil, errors.New("server without identifier")
	}
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("server %q: "+format, append([]any{s.Identifier}, args...)...)
	}
	if len(s.URLs) == 0 {
		return nil, errorf("no url")
	}
	if s.Timeout < 0 {
		return nil, errorf("timeout %s is negative", s.Timeout)
	}
	c := &serverClient{server: s, timeout: s.Timeout, logger: logger}
	if c.timeout == 0 {
		c.timeout = defaultTimeout
	}
	for _, raw := range s.URLs {
		base := strings.TrimRight(raw, "/")
		u, err := url.Parse(base)
		if err != nil {
			return nil, errorf("url %q: %v", raw, err)
		}
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			return nil, errorf("url %q: scheme must be http or https", raw)
		case u.Host == "":
			return nil, errorf("url %q: no host", raw)
		case u.User != nil:
			// Go would send it as Basic authorization, mixing it with
			// the forwarded Authorization header; and it would be logged.
			return nil, errorf("url %q: credentials in the url are not supported", raw)
		case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
			return nil, errorf("url %q: query and fragment are not allowed", raw)
		}
		c.bases = append(c.bases, base)
		c.nodes = append(c.nodes, u)
	}

	tlsConfig, files, err := serverTLS(s)
	if err != nil {
		return nil, err
	}
	c.fingerprint = fingerprint(s, files)
	c.transport = newTransport(c.timeout, tlsConfig)
	c.client = &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport: &attemptTransport{base: c.transport, timeout: c.timeout},
			// A gateway relays redirects; following one would send an
			// OTP to wherever the child points.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		// retryablehttp's default logger prints every URL, query string
		// (GET passwords) included; this package logs for itself.
		Logger:         nil,
		RetryWaitMin:   retryWaitMin,
		RetryWaitMax:   retryWaitMax,
		RetryMax:       max(maxDialRetries, len(c.nodes)-1),
		CheckRetry:     c.checkRetry,
		Backoff:        backoff(len(c.nodes)),
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
		RequestLogHook: countAttempt,
		PrepareRetry:   nextNode,
	}
	return c, nil
}

// serverTLS builds the TLS client configuration of s and returns the bytes
// of the files it read, for the fingerprint.
func serverTLS(s plugin.Server) (*tls.Config, [][]byte, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if !s.TLSVerify {
		cfg.InsecureSkipVerify = true //nolint:gosec // the server definition says tls: false
	}
	var files [][]byte
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("server %q: ca_file: %w", s.Identifier, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("server %q: ca_file %s: no PEM certificate found", s.Identifier, s.CAFile)
		}
		cfg.RootCAs = pool
		files = append(files, pem)
	}
	if s.CertFile != "" || s.KeyFile != "" {
		if s.CertFile == "" || s.KeyFile == "" {
			return nil, nil, fmt.Errorf("server %q: cert_file and key_file must be set together", s.Identifier)
		}
		certPEM, err := os.ReadFile(s.CertFile)
		if err != nil {
			return nil, nil, fmt.Errorf("server %q: cert_file: %w", s.Identifier, err)
		}
		keyPEM, err := os.ReadFile(s.KeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("server %q: key_file: %w", s.Identifier, err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("server %q: cert_file %s / key_file %s: %w", s.Identifier, s.CertFile, s.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
		files = append(files, certPEM, keyPEM)
	}
	return cfg, files, nil
}

// fingerprint hashes a server definition and the contents of its files.
func fingerprint(s plugin.Server, files [][]byte) [sha256.Size]byte {
	h := sha256.New()
	def, _ := json.Marshal(s) // plain fields only: cannot fail
	h.Write(def)
	for _, f := range files {
		fmt.Fprintf(h, "\x00%d\x00", len(f))
		h.Write(f)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// newTransport builds the pooled keep-alive transport of one server. It
// speaks HTTP/1.1 only (eduMFA runs behind WSGI servers; and an HTTP/2
// transport has retry rules of its own). It ignores proxy environment
// variables, never gunzips on its own (so the body relayed is the child's),
// and does the TLS handshake in dialTLS so that a handshake failure is a
// DialError: it happens before any request byte is written.
func newTransport(timeout time.Duration, tlsConfig *tls.Config) *http.Transport {
	d := &dialer{
		net:     net.Dialer{Timeout: timeout, KeepAlive: tcpKeepAlive},
		tls:     tlsConfig,
		timeout: timeout,
	}
	return &http.Transport{
		Proxy:               nil,
		DialContext:         d.dial,
		DialTLSContext:      d.dialTLS,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: timeout,
		DisableCompression:  true,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: maxIdleConnsPerHost,
		IdleConnTimeout:     idleConnTimeout,
		// The host already holds the whole body: do not wait for a
		// 100 Continue that the child may never send.
		ExpectContinueTimeout: 0,
	}
}

// dialer opens connections to child nodes and wraps its failures in
// DialError.
type dialer struct {
	net     net.Dialer
	tls     *tls.Config
	timeout time.Duration
}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := d.net.DialContext(ctx, network, addr)
	if err != nil {
		return nil, &DialError{Op: "dial", Addr: addr, Err: err}
	}
	return conn, nil
}

func (d *dialer) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := d.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := d.tls.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	hctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, &DialError{Op: "tls", Addr: addr, Err: err}
	}
	return tc, nil
}

// attemptTransport bounds each attempt, from dial to the answer's head, by
// the server's timeout; reading the body afterwards is bounded by the
// request's context only (http.Client.Timeout would cover the body too).
//
// It also hides the transport's CloseIdleConnections: retryablehttp calls
// it after every failed request, which would drop the warm connections of
// every node of the server (go-retryablehttp #85, #237).
type attemptTransport struct {
	base    *http.Transport
	timeout time.Duration
}

// RoundTrip runs one attempt.
func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	timedOut := make(chan struct{})
	timer := time.AfterFunc(t.timeout, func() {
		close(timedOut)
		cancel()
	})
	out := req.WithContext(ctx)
	if replayableMethod(req.Method) {
		// net/http replays a GET (also HEAD, OPTIONS, TRACE) on a
		// fresh connection when a reused one breaks before the
		// answer's first byte, although the child may have read and
		// processed it: a GET /validate/check carries the OTP in its
		// query. Such a request is replayable when it has no body or
		// a GetBody (net/http request.go isReplayable), and
		// retryablehttp always sets GetBody. So: no GetBody, and an
		// empty body that is not http.NoBody; the transport probes
		// the body of a GET-like request and sends an empty one as
		// no body at all.
		out.GetBody = nil
		if out.Body == nil || out.Body == http.NoBody {
			out.Body = emptyBody{}
			out.ContentLength = 0
		}
	}
	resp, err := t.base.RoundTrip(out)
	if !timer.Stop() {
		<-timedOut
		if resp != nil {
			resp.Body.Close()
		}
		cancel()
		return nil, &AttemptTimeoutError{After: t.timeout, Err: err}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// replayableMethod lists the methods net/http replays when they have no body.
func replayableMethod(m string) bool {
	switch m {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// emptyBody is a request body with nothing in it that net/http does not
// recognise as http.NoBody.
type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyBody) Close() error             { return nil }

// cancelOnClose releases an attempt's context with its response body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
