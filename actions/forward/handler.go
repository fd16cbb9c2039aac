// Package forward is the Federation handler's one action, forward: it sends
// the client's eduMFA API request to a child eduMFA server and answers with
// the child's response, detail.origin set to the child URL.
//
// Lifecycle: New builds a handler without servers; Describe reports the
// action schema; Configure validates a server list, builds one pooled
// client per server (reusing unchanged ones), swaps the whole set
// atomically and then closes the idle connections of retired clients; Do
// runs concurrently, each call on the set it loaded at its start.
//
// Unlike eduMFA's handler (spec §5), the request keeps its method, path,
// query, body encoding and bytes; only the parameters the options change
// are touched. It is retried only when it provably never reached the child,
// so an OTP reaches a child at most once.
package forward

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

var _ plugin.Handler = (*Handler)(nil)

// Handler is the Federation handler. It is safe for concurrent use.
type Handler struct {
	logger *slog.Logger
	// servers is the current server set; Configure replaces it whole.
	servers atomic.Pointer[serverSet]
	// configure serialises Configure calls.
	configure sync.Mutex
}

// serverSet is one Configure call's immutable set of server clients.
type serverSet struct {
	byID map[string]*serverClient
}

func (s *serverSet) lookup(id string) *serverClient {
	if s == nil {
		return nil
	}
	return s.byID[id]
}

// New returns the Federation handler. logger gets structured logs (never
// bodies, pass, OTPs, query strings, Authorization); nil discards them.
func New(logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{logger: logger}
}

// Describe returns Description().
func (h *Handler) Describe(context.Context) (plugin.Description, error) {
	return Description(), nil
}

// Configure replaces the servers forward may use. Every server is checked
// (urls, timeout, CA and certificate files) before anything changes; on an
// error, which names the server and the file or field, the old set stays.
// A server whose definition and files are unchanged keeps its client and
// its warm connections; the idle connections of retired clients are closed
// after the swap, while requests still running on them finish.
func (h *Handler) Configure(ctx context.Context, servers []plugin.Server) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.configure.Lock()
	defer h.configure.Unlock()
	old := h.servers.Load()
	next := &serverSet{byID: make(map[string]*serverClient, len(servers))}
	for _, s := range servers {
		if _, dup := next.byID[s.Identifier]; dup {
			return fmt.Errorf("server %q: defined twice", s.Identifier)
		}
		c, err := newServerClient(s, h.logger)
		if err != nil {
			return err
		}
		if prev := old.lookup(s.Identifier); prev != nil && prev.fingerprint == c.fingerprint {
			c = prev
		}
		next.byID[s.Identifier] = c
	}
	h.servers.Store(next)
	if old != nil {
		for id, c := range old.byID {
			if next.byID[id] != c {
				c.transport.CloseIdleConnections()
			}
		}
	}
	h.logger.Info("servers configured", "count", len(next.byID))
	return nil
}

// Do forwards call's request to the server its options name and streams
// the child's answer to w. When no answer can be had it writes nothing and
// returns the error kind: config (no or unknown server, bad option),
// unreachable, timeout, tls or internal. An error while the answer streams
// (after the head) is returned too; the host then has a partial answer.
func (h *Handler) Do(ctx context.Context, call *plugin.Call, w plugin.ResponseWriter) plugin.Outcome {
	start := time.Now()
	opts, err := parseOptions(call.Options)
	out := plugin.Outcome{Server: opts.server}
	if err != nil {
		return h.failed(call, out, plugin.ErrorConfig, err.Error(), start)
	}
	c := h.servers.Load().lookup(opts.server)
	if c == nil {
		return h.failed(call, out, plugin.ErrorConfig, fmt.Sprintf("server %q is not configured", opts.server), start)
	}

	r := &call.Request
	query, body, err := rewriteParams(r.Method, r.RawQuery, r.Header, r.Body, opts.edits(call.G.ClientIP))
	if err != nil {
		return h.failed(call, out, plugin.ErrorInternal, fmt.Sprintf("server %q: %v", opts.server, err), start)
	}
	st := &callState{targets: c.targets(r.Path, query)}
	var rawBody any
	if len(body) > 0 {
		// Without a body retryablehttp leaves none: a bodyless POST
		// then goes with Content-Length: 0, not chunked.
		rawBody = body
	}
	method := r.Method
	if method == "" {
		method = "GET"
	}
	req, err := retryablehttp.NewRequestWithContext(withState(ctx, st), method, c.bases[0], rawBody)
	if err != nil {
		return h.failed(call, out, plugin.ErrorInternal, fmt.Sprintf("server %q: building the request: %v", opts.server, causeMessage(err)), start)
	}
	req.URL = st.targets[0].url
	req.Host = req.URL.Host
	req.Header = outgoingHeader(r.Header, call, opts.forwardAuthorization)

	resp, err := c.client.Do(req)
	out.Attempts = st.attempts
	if err != nil {
		kind, msg := classify(ctx, err)
		return h.failed(call, out, kind, fmt.Sprintf("server %q (%s): %s", opts.server, c.bases[st.node], msg), start)
	}
	out.Origin = st.targets[st.node].origin
	out = h.relay(ctx, resp, out, w)
	attrs := []any{
		"rule", call.Rule, "server", out.Server, "node", c.bases[st.node], "path", logPath(call),
		"method", method, "status", resp.StatusCode, "attempts", out.Attempts,
		"duration_ms", msSince(start),
	}
	if out.Failed() {
		h.logger.Warn("forward answer broken off", append(attrs, "kind", out.ErrorKind.String(), "error", out.ErrorMessage)...)
	} else {
		h.logger.Info("forwarded", attrs...)
	}
	return out
}

// failed completes an outcome that has no answer and logs it.
func (h *Handler) failed(call *plugin.Call, out plugin.Outcome, kind plugin.ErrorKind, msg string, start time.Time) plugin.Outcome {
	out.ErrorKind = kind
	out.ErrorMessage = msg
	h.logger.Warn("forward failed", "rule", call.Rule, "server", out.Server, "path", logPath(call),
		"attempts", out.Attempts, "kind", kind.String(), "error", msg, "duration_ms", msSince(start))
	return out
}
