package host

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"

	"github.com/edumfa-federation/edumfa-federation/envelope"
)

// Limits on what the gateway buffers.
const (
	// maxRequestBodyBytes bounds a client's request body (token files
	// uploaded to /token/load are the largest eduMFA requests).
	maxRequestBodyBytes = 16 << 20
	// maxResponseBodyBytes bounds a parent's or child's answer the gateway
	// holds to evaluate post rules on.
	maxResponseBodyBytes = 16 << 20
	// upstreamDialTimeout bounds connecting to the parent.
	upstreamDialTimeout = 5 * time.Second
)

// hopByHopHeaders are connection-level headers a proxy never passes on.
var hopByHopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func removeHopByHop(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range splitComma(f) {
			h.Del(name)
		}
	}
	for _, name := range hopByHopHeaders {
		h.Del(name)
	}
}

// upstream is the parent eduMFA.
type upstream struct {
	base   *url.URL
	client *http.Client
	proxy  *httputil.ReverseProxy
}

func newUpstream(cfg *Config, log *slog.Logger) (*upstream, error) {
	if cfg.Upstream == "" {
		return nil, nil
	}
	base, err := url.Parse(cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t := cfg.UpstreamTLS; t != nil {
		if t.Verify != nil && !*t.Verify {
			tlsCfg.InsecureSkipVerify = true // the admin said upstream_tls.verify: false
		}
		if t.CAFile != "" {
			pem, err := os.ReadFile(cfg.resolve(t.CAFile))
			if err != nil {
				return nil, fmt.Errorf("upstream_tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("upstream_tls.ca_file %s: no PEM certificates", t.CAFile)
			}
			tlsCfg.RootCAs = pool
		}
	}
	timeout := time.Duration(cfg.UpstreamTimeout)
	if timeout == 0 {
		timeout = cfg.DeadlineOrDefault()
	}
	transport := &http.Transport{
		Proxy:                 nil, // never an environment proxy between gateway and parent
		DialContext:           (&net.Dialer{Timeout: upstreamDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   upstreamDialTimeout,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true, // pass the parent's encoding through untouched
	}
	u := &upstream{
		base: base,
		client: &http.Client{
			Transport: transport,
			// Redirects go back to the client, as eduMFA sent them.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	u.proxy = &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(base)
			// ReverseProxy drops query pairs it cannot parse (a `;` in a
			// value) before Rewrite; Werkzeug reads them: send the query as
			// the client wrote it.
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			if base.RawQuery != "" {
				pr.Out.URL.RawQuery = base.RawQuery + "&" + pr.In.URL.RawQuery
			}
			pr.Out.Host = pr.In.Host // eduMFA builds links from Host
			// X-Forwarded-For was already set by the gateway on In (and
			// Rewrite starts from a copy without it): put it back.
			if v := pr.In.Header.Get("X-Forwarded-For"); v != "" {
				pr.Out.Header.Set("X-Forwarded-For", v)
			}
		},
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if !validStatus(resp.StatusCode) {
				return fmt.Errorf("parent answered with the invalid HTTP status %d", resp.StatusCode)
			}
			return nil
		},
		// The default handler logs the URL with its query string (which
		// may hold a password); answer with eduMFA's envelope instead.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// r is ReverseProxy's outbound copy (its body wrapped again);
			// the inbound body is found through the context.
			if cb, ok := r.Context().Value(clientBodyKey{}).(*clientBody); ok && cb.err != nil {
				// The client, not the parent, failed: its body stalled or
				// broke off while it was being sent on.
				log.Warn("client body failed while proxied", "method", r.Method, "path", r.URL.Path, "err", cb.err)
				status, msg := http.StatusBadRequest, "ERR905: could not read the request body"
				if isTimeout(cb.err) {
					status, msg = http.StatusRequestTimeout, "ERR905: the request body did not arrive in time"
				}
				envelope.Write(w, status, envelope.Error(envelope.CodeParameter, msg, nil))
				return
			}
			log.Warn("parent eduMFA failed", "method", r.Method, "path", r.URL.Path, "err", redactURL(err))
			if isTimeout(err) {
				envelope.Write(w, http.StatusGatewayTimeout, envelope.Error(envelope.CodeUpstreamTimeout, "the parent eduMFA did not answer in time", nil))
				return
			}
			envelope.Write(w, http.StatusBadGateway, envelope.Error(envelope.CodeUpstreamUnreachable, "the parent eduMFA cannot be reached", nil))
		},
	}
	return u, nil
}

// errUpstreamTimeout marks a parent that did not answer in time.
var errUpstreamTimeout = errors.New("parent did not answer in time")

// call sends an event request to the parent and buffers its answer.
func (u *upstream) call(ctx context.Context, in *http.Request, header http.Header, rawQuery string, body []byte) (*response, error) {
	target := *u.base
	target.Path = joinPath(u.base.Path, in.URL.Path)
	target.RawPath = joinPath(u.base.EscapedPath(), in.URL.EscapedPath())
	target.RawQuery = rawQuery
	req, err := http.NewRequestWithContext(ctx, in.Method, target.String(), bytesReader(body))
	if err != nil {
		return nil, fmt.Errorf("parent request: %w", err)
	}
	req.Header = header
	req.Host = in.Host
	req.ContentLength = int64(len(body))
	resp, err := u.client.Do(req)
	if err != nil {
		if isTimeout(err) {
			return nil, fmt.Errorf("%w: %v", errUpstreamTimeout, redactURL(err))
		}
		return nil, fmt.Errorf("parent unreachable: %v", redactURL(err))
	}
	defer resp.Body.Close()
	if !validStatus(resp.StatusCode) {
		return nil, fmt.Errorf("parent answered with the invalid HTTP status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBodyBytes+1))
	if err != nil {
		if isTimeout(err) {
			return nil, fmt.Errorf("%w: the answer's body: %v", errUpstreamTimeout, redactURL(err))
		}
		return nil, fmt.Errorf("parent answer: %v", redactURL(err))
	}
	if len(b) > maxResponseBodyBytes {
		return nil, fmt.Errorf("parent answer larger than %d bytes", maxResponseBodyBytes)
	}
	h := resp.Header.Clone()
	removeHopByHop(h)
	h.Del("Content-Length")
	return &response{status: resp.StatusCode, header: h, body: b}, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// redactURL drops the URL (and so the query string, which may hold a
// password on GET /validate/check) from a client error.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func joinPath(base, p string) string {
	switch {
	case base == "" || base == "/":
		return p
	case len(p) > 0 && p[0] == '/':
		return trimRightSlash(base) + p
	}
	return trimRightSlash(base) + "/" + p
}

func trimRightSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// validStatus reports whether a status is one HTTP defines (100-599): Go's
// client accepts "000" or "999", which its server cannot write or clients
// do not understand.
func validStatus(code int) bool { return code >= 100 && code <= 599 }

// clientBodyKey finds a proxied request's clientBody in its context.
type clientBodyKey struct{}

// clientBody wraps a proxied request's body to remember whether reading it
// failed, so that a stalled client is not reported as a failed parent.
type clientBody struct {
	io.ReadCloser
	err error
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}
