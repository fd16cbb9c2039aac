package forward

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// Retry limits. A forwarded request is retried only when it provably never
// reached the child (see retryable), so these bound how long a dead node can
// delay the answer, not how often a child sees an OTP: that is at most once.
const (
	// maxDialRetries is the number of retries after the first attempt for a
	// server with one node; a server with more nodes gets at least one
	// attempt per node.
	maxDialRetries = 2
	// retryWaitMin is the pause before the first retry of a node already tried.
	retryWaitMin = 50 * time.Millisecond
	// retryWaitMax caps every pause, whatever the attempt number.
	retryWaitMax = 500 * time.Millisecond
)

// DialError is a failure to open a connection to a child node: the TCP dial
// (refused, no route, DNS, dial timeout) or the TLS handshake that follows
// it. Nothing of the request was written when it happens, which is what
// makes it the only error a forward may retry. Op is "dial" or "tls".
type DialError struct {
	Op   string
	Addr string
	Err  error
}

// Error names the phase, the node address and the cause.
func (e *DialError) Error() string {
	if e.Op == "tls" {
		return fmt.Sprintf("TLS handshake with %s: %v", e.Addr, e.Err)
	}
	return e.Err.Error() // net.OpError: "dial tcp <addr>: <cause>"
}

// Unwrap returns the cause.
func (e *DialError) Unwrap() error { return e.Err }

// AttemptTimeoutError says that one attempt did not get the child's answer
// head within the server's timeout.
type AttemptTimeoutError struct {
	After time.Duration
	Err   error
}

// Error names the timeout.
func (e *AttemptTimeoutError) Error() string {
	return fmt.Sprintf("no answer within %s", e.After)
}

// Unwrap returns what the cancelled attempt reported.
func (e *AttemptTimeoutError) Unwrap() error { return e.Err }

// Timeout reports true, so the error is a net.Error timeout.
func (e *AttemptTimeoutError) Timeout() bool { return true }

// Temporary reports false (net.Error; deprecated upstream).
func (e *AttemptTimeoutError) Temporary() bool { return false }

// retryable reports whether a failed attempt may be repeated: only a
// DialError qualifies, and of those not the TLS failures that will fail the
// same way again (certificate checks, a peer that does not speak TLS, an
// alert from the peer). Timeouts after the connection was made, EOF, resets
// and every HTTP status are final: the child may have processed the request
// (an OTP check reaches a child at most once).
func retryable(err error) bool {
	var de *DialError
	if !errors.As(err, &de) {
		return false
	}
	return de.Op == "dial" || !permanentTLSError(de.Err)
}

// permanentTLSError reports whether a handshake error will repeat on retry.
func permanentTLSError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		isTLSAlert(err)
}

// isTLSAlert reports whether err is a TLS alert over TCP. crypto/tls
// reports those as a *net.OpError with Op "remote error" (sent by the peer,
// e.g. "certificate required", which TLS 1.3 delivers after the handshake,
// on the first read) or "local error" around an unexported alert type;
// tls.AlertError is used for QUIC only.
func isTLSAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && (op.Op == "remote error" || op.Op == "local error")
}

// checkRetry is the retryablehttp CheckRetry of every server client. It never
// returns an error of its own, so the transport's error reaches Do unchanged
// (through PassthroughErrorHandler) and can be classified there.
func (c *serverClient) checkRetry(ctx context.Context, _ *http.Response, err error) (bool, error) {
	if err == nil || ctx.Err() != nil {
		return false, nil
	}
	if !retryable(err) {
		return false, nil
	}
	// CheckRetry is asked after the last attempt too; only say
	// "retrying" when a retry follows.
	if st := stateFrom(ctx); st != nil && st.attempts <= c.client.RetryMax {
		c.logger.Debug("child node not reached, retrying",
			"server", c.server.Identifier, "node", c.bases[st.node],
			"attempt", st.attempts, "error", causeMessage(err))
	}
	return true, nil
}

// backoff is the retryablehttp Backoff of a server with nodes nodes. The next
// attempt goes to the next node; a node not tried yet is tried at once,
// another round waits retryWaitMin doubled per round, capped at retryWaitMax.
// The response is ignored: only dial failures are retried, so there is none,
// and a child's Retry-After is never honoured (retryablehttp's default
// backoff would wait for it uncapped).
func backoff(nodes int) func(minWait, maxWait time.Duration, attemptNum int, _ *http.Response) time.Duration {
	return func(minWait, maxWait time.Duration, attemptNum int, _ *http.Response) time.Duration {
		next := attemptNum + 1
		if next < nodes {
			return 0
		}
		wait := minWait << uint(min(next-nodes, 16))
		return min(wait, maxWait, retryWaitMax)
	}
}

// classify maps a failed request to the outcome's error kind and a message
// that names the cause without the URL (whose query may hold a password).
func classify(ctx context.Context, err error) (plugin.ErrorKind, string) {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return plugin.ErrorTimeout, "request deadline exceeded before the child answered"
	case ctx.Err() != nil:
		return plugin.ErrorTimeout, "request cancelled before the child answered"
	}
	var (
		attempt *AttemptTimeoutError
		dial    *DialError
		netErr  net.Error
	)
	msg := causeMessage(err)
	switch {
	case errors.As(err, &attempt):
		return plugin.ErrorTimeout, msg
	case isTLSError(err):
		return plugin.ErrorTLS, msg
	case errors.As(err, &dial):
		return plugin.ErrorUnreachable, msg
	case errors.As(err, &netErr) && netErr.Timeout():
		return plugin.ErrorTimeout, msg
	}
	return plugin.ErrorInternal, msg
}

// isTLSError reports whether err comes from the TLS layer.
func isTLSError(err error) bool {
	var dial *DialError
	if errors.As(err, &dial) && dial.Op == "tls" {
		return true
	}
	return permanentTLSError(err)
}

// causeMessage is err's text without the *url.Error wrapper that net/http
// adds: that wrapper prints the request URL, query string included.
func causeMessage(err error) string {
	for {
		var ue *url.Error
		if !errors.As(err, &ue) {
			return err.Error()
		}
		err = ue.Err
	}
}
