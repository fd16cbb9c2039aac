package forward

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

func TestRetryable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	wrap := func(err error) error {
		// As net/http and retryablehttp hand it over.
		return &url.Error{Op: "Post", URL: "http://c/validate/check?pass=x", Err: fmt.Errorf("x: %w", err)}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"dial refused", wrap(&DialError{Op: "dial", Addr: "c:1", Err: refused}), true},
		{"dns", wrap(&DialError{Op: "dial", Addr: "c:1", Err: &net.DNSError{Err: "no such host", Name: "c"}}), true},
		{"handshake EOF", wrap(&DialError{Op: "tls", Addr: "c:1", Err: io.EOF}), true},
		{"unknown CA", wrap(&DialError{Op: "tls", Addr: "c:1", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}), false},
		{"not TLS", wrap(&DialError{Op: "tls", Addr: "c:1", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}), false},
		{"peer alert", wrap(&DialError{Op: "tls", Addr: "c:1", Err: tls.AlertError(40)}), false},
		{"peer alert over TCP", wrap(&DialError{Op: "tls", Addr: "c:1", Err: &net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}}), false},
		{"refused but not from our dialer", wrap(refused), false},
		{"EOF after sending", wrap(io.EOF), false},
		{"reset", wrap(syscall.ECONNRESET), false},
		{"attempt timeout", wrap(&AttemptTimeoutError{After: time.Second, Err: context.Canceled}), false},
		{"timeout while dialling", wrap(&AttemptTimeoutError{After: time.Second, Err: &DialError{Op: "dial", Err: context.Canceled}}), true},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("%s: retryable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckRetry_NeverOnResponsesOrDoneContext(t *testing.T) {
	c, err := newServerClient(plugin.Server{Identifier: "x", URLs: []string{"http://x"}}, New(nil).logger)
	if err != nil {
		t.Fatal(err)
	}
	dial := &DialError{Op: "dial", Err: syscall.ECONNREFUSED}
	if retry, err := c.checkRetry(context.Background(), nil, dial); !retry || err != nil {
		t.Errorf("dial error: %v, %v", retry, err)
	}
	if retry, _ := c.checkRetry(context.Background(), nil, nil); retry {
		t.Error("retried a response")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if retry, _ := c.checkRetry(ctx, nil, dial); retry {
		t.Error("retried with the context done")
	}
}

func TestBackoff(t *testing.T) {
	one := backoff(1)
	if got := one(retryWaitMin, retryWaitMax, 0, nil); got != retryWaitMin {
		t.Errorf("one node, first retry waits %s", got)
	}
	if got := one(retryWaitMin, retryWaitMax, 1, nil); got != 2*retryWaitMin {
		t.Errorf("one node, second retry waits %s", got)
	}
	if got := one(retryWaitMin, retryWaitMax, 40, nil); got != retryWaitMax {
		t.Errorf("capped: %s", got)
	}
	if got := one(retryWaitMin, time.Hour, 40, nil); got != retryWaitMax {
		t.Errorf("cap beyond RetryWaitMax: %s", got)
	}
	three := backoff(3)
	for i, want := range []time.Duration{0, 0, retryWaitMin, 2 * retryWaitMin} {
		if got := three(retryWaitMin, retryWaitMax, i, nil); got != want {
			t.Errorf("three nodes, attempt %d waits %s, want %s", i, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	bg := context.Background()
	done, cancel := context.WithCancel(bg)
	cancel()
	urlErr := func(err error) error {
		return &url.Error{Op: "Get", URL: "http://c/validate/check?pass=secret", Err: err}
	}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want plugin.ErrorKind
	}{
		{"refused", bg, urlErr(&DialError{Op: "dial", Err: syscall.ECONNREFUSED}), plugin.ErrorUnreachable},
		{"tls", bg, urlErr(&DialError{Op: "tls", Err: io.EOF}), plugin.ErrorTLS},
		{"cert", bg, urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), plugin.ErrorTLS},
		{"attempt timeout", bg, urlErr(&AttemptTimeoutError{After: time.Second}), plugin.ErrorTimeout},
		{"context done", done, urlErr(context.Canceled), plugin.ErrorTimeout},
		{"EOF", bg, urlErr(io.EOF), plugin.ErrorInternal},
		{"other", bg, errors.New("boom"), plugin.ErrorInternal},
	}
	for _, tt := range tests {
		kind, msg := classify(tt.ctx, tt.err)
		if kind != tt.want {
			t.Errorf("%s: kind %s, want %s", tt.name, kind, tt.want)
		}
		if strings.Contains(msg, "secret") || strings.Contains(msg, "?") {
			t.Errorf("%s: message %q shows the URL", tt.name, msg)
		}
	}
}
