package forward

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// Headers the forward adds to the request to the child.
const (
	// HopsHeader counts the federation gateways a request passed: the
	// incoming count (g.Hops) plus one. A gateway in front of the child
	// reads it to stop forwarding loops.
	HopsHeader = "X-eduMFA-Federation-Hops"
	// RequestIDHeader carries the request id, so the logs of parent,
	// gateways and child can be joined.
	RequestIDHeader = "X-Request-ID"
)

// hopByHop are the headers of one connection (RFC 9110 section 7.6.1 and
// the customary Keep-Alive and Proxy-Connection), never forwarded either way.
var hopByHop = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// requestDropped are client headers that do not go to the child.
var requestDropped = []string{
	// The child gets its own Host; the parent's cookies are no business
	// of the child's.
	"Host", "Cookie",
	// Recomputed by net/http from the body sent.
	"Content-Length",
	// The host already read the whole body; nothing waits for a 100.
	"Expect",
	// net/http replays a request carrying one of these when a reused
	// connection breaks (request.go isReplayable): an OTP check could
	// reach the child twice.
	"Idempotency-Key", "X-Idempotency-Key",
	// Client addresses: the gateway states the client's address itself
	// in X-Forwarded-For. A client-written Forwarded or X-Real-IP would
	// pass unchecked to a proxy in front of the child that reads it.
	"Forwarded", "X-Real-Ip", "X-Forwarded-For",
	// Set by the forward below.
	"Accept-Encoding", HopsHeader, RequestIDHeader,
}

// outgoingHeader builds the headers sent to the child from the client's.
// User-Agent and Content-Type are kept as the client sent them: eduMFA
// percent-decodes form and query values a second time unless the
// User-Agent is eduMFA-LDAP-Proxy, simpleSAMLphp or eduMFA-cp (spec §2.1),
// so the child must see the client's own User-Agent to decode the
// parameters as it would have had the client called it directly.
func outgoingHeader(in http.Header, call *plugin.Call, forwardAuthorization bool) http.Header {
	out := canonicalClone(in)
	xff := forwardedFor(out.Values("X-Forwarded-For"), call)
	removeConnectionHeaders(out)
	for _, h := range requestDropped {
		out.Del(h)
	}
	if !forwardAuthorization {
		out.Del("Authorization")
	}
	if _, ok := out["User-Agent"]; !ok {
		// An empty value keeps net/http from sending its own
		// Go-http-client User-Agent: the child sees none, as the
		// client sent none.
		out["User-Agent"] = []string{""}
	}
	// Plain bodies only, so detail.origin can always be set in the
	// answer; the host may compress for its client itself.
	out.Set("Accept-Encoding", "identity")
	if xff != "" {
		out.Set("X-Forwarded-For", xff)
	}
	out.Set(HopsHeader, strconv.Itoa(call.G.Hops+1))
	if call.G.RequestID != "" {
		out.Set(RequestIDHeader, call.G.RequestID)
	}
	return out
}

// forwardedFor is the X-Forwarded-For sent to the child: the incoming chain
// plus the peer when the peer is a trusted proxy (the chain is then known
// to be what trusted proxies wrote), else only the client IP the host
// determined; a chain from an untrusted peer could be anything.
func forwardedFor(incoming []string, call *plugin.Call) string {
	chain := strings.Join(incoming, ", ")
	if call.G.PeerTrusted && strings.TrimSpace(chain) != "" {
		if call.Request.RemoteAddr == "" {
			return chain
		}
		return chain + ", " + call.Request.RemoteAddr
	}
	return call.G.ClientIP
}

// answerHeader returns the child's response headers to relay: all but the
// hop-by-hop ones, and without Content-Length when the body was changed.
func answerHeader(in http.Header, bodyChanged bool) http.Header {
	out := canonicalClone(in)
	removeConnectionHeaders(out)
	if bodyChanged {
		out.Del("Content-Length")
	}
	return out
}

// canonicalClone copies h with canonical keys, so that deleting a header
// by name also deletes it when the host passed it as, say, "cookie".
func canonicalClone(h http.Header) http.Header {
	out := make(http.Header, len(h)+4)
	for k, vs := range h {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		out[ck] = append(out[ck], vs...)
	}
	return out
}

// removeConnectionHeaders deletes the hop-by-hop headers and those the
// Connection header names.
func removeConnectionHeaders(h http.Header) {
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
}
