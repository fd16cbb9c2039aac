package forward

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/go-retryablehttp"
)

// joinPath appends the client's request path to a node's base URL (or to
// its path prefix) with exactly one slash between them, as eduMFA's
// `server.url + request.path` would, minus the double slash a trailing or
// doubled slash there would produce.
func joinPath(base, path string) string {
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(path, "/")
}

// target is where one node gets the request.
type target struct {
	// url is what the request is sent to. Its Opaque field holds the
	// request-URI path exactly as the client sent it (plus the node's
	// prefix), so net/http neither decodes nor re-escapes it.
	url *url.URL
	// origin is url + path without the query: detail.origin and
	// Outcome.Origin.
	origin string
}

// targets returns one target per node of c for the client's escaped path
// and the (rewritten) raw query.
func (c *serverClient) targets(path, rawQuery string) []target {
	out := make([]target, len(c.nodes))
	for i, n := range c.nodes {
		u := &url.URL{
			Scheme:   n.Scheme,
			Host:     n.Host,
			Opaque:   joinPath(n.EscapedPath(), path),
			RawQuery: rawQuery,
		}
		out[i] = target{url: u, origin: joinPath(c.bases[i], path)}
	}
	return out
}

// callState is what one Do knows about its attempts. It travels in the
// request context because the retryablehttp hooks belong to the shared
// per-server client; one Do's hooks run one after another, never at once.
type callState struct {
	targets  []target
	node     int
	attempts int
}

type stateKey struct{}

func withState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func stateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

// countAttempt is the RequestLogHook: it runs before every attempt.
func countAttempt(_ retryablehttp.Logger, req *http.Request, _ int) {
	if st := stateFrom(req.Context()); st != nil {
		st.attempts++
	}
}

// nextNode is the PrepareRetry hook: a retry (only ever after a dial
// failure) goes to the next node of the server, round robin.
func nextNode(req *http.Request) error {
	st := stateFrom(req.Context())
	if st == nil || len(st.targets) == 0 {
		return nil
	}
	st.node = (st.node + 1) % len(st.targets)
	req.URL = st.targets[st.node].url
	req.Host = req.URL.Host
	return nil
}
