package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edumfa-federation/edumfa-federation/actions/forward"
	"github.com/edumfa-federation/edumfa-federation/envelope"
	"github.com/edumfa-federation/edumfa-federation/plugin"
	"github.com/edumfa-federation/edumfa-federation/rules"
)

// response is the current answer of a request: the parent's, or a child's
// after a forward.
type response struct {
	status int
	header http.Header
	body   []byte
	// origin is the child URL that produced it; "" for the parent's own
	// answer or one the gateway made.
	origin string
}

// runtimeConfig is the part of the config that reloads without a restart;
// a request reads one snapshot.
type runtimeConfig struct {
	cfg      *Config
	upstream *upstream // nil without an upstream
	trusted  trustedProxies
	deadline time.Duration
	maxHops  int
}

// Gateway is the HTTP front: it maps requests to eduMFA events, runs pre
// rules, calls the parent, runs post rules and answers.
type Gateway struct {
	log     *slog.Logger
	runtime atomic.Pointer[runtimeConfig]
	rules   atomic.Pointer[liveSet]
	plugins *pluginHost
	stats   gatewayStats
}

type gatewayStats struct {
	requests, forwarded, forwardErrors, pluginErrors atomic.Int64
}

// ServeHTTP answers one client request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	g.stats.requests.Add(1)
	rt := g.runtime.Load()
	// The request keeps the rule set it started with to its end; the lease
	// tells a reload when the set's last request is done.
	var set *rules.Set
	if ls := g.acquireRules(); ls != nil {
		defer ls.release()
		set = ls.set
	}
	ctx, cancel := context.WithTimeout(r.Context(), rt.deadline)
	defer cancel()

	rec := &requestLog{method: r.Method, path: logPath(r.URL.Path)}
	defer func() { rec.log(g.log, time.Since(start)) }()

	// Werkzeug matches methods case-sensitively: `get` raises no event
	// (eduMFA answers 405); such requests are proxied as they are.
	var (
		event    string
		pathVars map[string]string
		isEvent  bool
	)
	if r.Method == strings.ToUpper(r.Method) {
		event, pathVars, isEvent = rules.EventFor(r.Method, r.URL.Path)
	}
	rec.event = event
	peerTrusted := rt.trusted.contains(peerIP(r))

	hops, err := parseHops(r.Header.Get(forward.HopsHeader))
	if err != nil {
		rec.fail(w, http.StatusBadRequest, envelope.CodeParameter, fmt.Sprintf("ERR905: %s header: %v", forward.HopsHeader, err))
		return
	}
	if hops > rt.maxHops {
		rec.fail(w, http.StatusLoopDetected, envelope.CodeLoopDetected, fmt.Sprintf("federation loop: the request already passed %d gateways (max_hops %d)", hops, rt.maxHops))
		return
	}
	requestID := r.Header.Get(forward.RequestIDHeader)
	if !peerTrusted || !validRequestID(requestID) {
		requestID = newRequestID()
	}
	rec.requestID = requestID

	// A client that sends its body slowly must not hold the request past
	// its deadline (the context does not interrupt a body read).
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(rt.deadline))

	if !isEvent || set == nil {
		clientParam := r.URL.Query().Get("client")
		if honoursClientParam(r.URL.Path) {
			// /ttype/*, GET /auth ...: eduMFA reads `client` there too, from
			// the query or the body.
			var ok bool
			if clientParam, ok = prepareClientParam(w, r, rec, peerTrusted); !ok {
				return
			}
		}
		client := rt.trusted.resolveClient(r, clientParam)
		rec.clientIP = client.IP
		sanitizeForwardingHeaders(r, client, requestID, hops)
		rec.status = g.proxy(w, r, rt)
		return
	}

	body, ok := readBody(w, r, rec)
	if !ok {
		return
	}
	if unsupportedJSONEncoding(r.Header, body) {
		// Python's json.loads would read a BOM or UTF-16/32 body and
		// eduMFA would see its parameters; the gateway cannot check such
		// a body's `client`, `realm` ... the same way, so it refuses it.
		rec.fail(w, http.StatusBadRequest, envelope.CodeParameter, "ERR905: the JSON body must be UTF-8 without a byte order mark")
		return
	}
	rawQuery := r.URL.RawQuery
	if !peerTrusted {
		// An untrusted caller must not choose its IP at the parent or a
		// child: its `client` parameter goes nowhere.
		rawQuery, body, err = forward.RemoveParam(r.Method, rawQuery, r.Header, body, "client")
		if err != nil {
			rec.fail(w, http.StatusBadRequest, envelope.CodeParameter, "ERR905: a multipart body may not carry the client parameter")
			return
		}
	}
	allData := rules.AllData(r.Method, rawQuery, r.Header.Get("Content-Type"), body, r.Header.Get("User-Agent"), pathVars)
	clientParam, _ := allData["client"].(string)
	client := rt.trusted.resolveClient(r, clientParam)
	rec.clientIP = client.IP

	// The plugin gets the client's headers as they came, with the
	// X-Forwarded-For chain tidied (it appends the peer itself); the parent
	// gets the sanitized ones.
	original := r.Header.Clone()
	if hopsList := forwardedHops(original); len(hopsList) > 0 {
		original.Set("X-Forwarded-For", strings.Join(hopsList, ", "))
	}
	if !client.PeerTrusted {
		original.Del("X-Forwarded-Host")
		original.Del("X-Forwarded-Proto")
	}
	sanitizeForwardingHeaders(r, client, requestID, hops)

	ex := &exchange{
		g: g, rt: rt, set: set, w: w, r: r, rec: rec,
		event: event, rawQuery: rawQuery, body: body,
		input: &rules.Input{
			Request: rules.RequestInput{
				Method: r.Method, Path: r.URL.Path, RemoteAddr: client.Peer,
				Headers: rules.HeaderMap(r.Header), AllData: allData,
			},
			G: rules.GInput{ClientIP: client.IP, Event: event, RequestID: requestID, Hops: hops},
		},
		preq: plugin.Request{
			Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: rawQuery,
			Header: original, Body: body, AllData: allData, RemoteAddr: client.Peer,
		},
		pg: plugin.Context{ClientIP: client.IP, PeerTrusted: client.PeerTrusted, RequestID: requestID, Hops: hops, Event: event},
	}
	ex.run(ctx)
}

// exchange is one event request going through the rules.
type exchange struct {
	g        *Gateway
	rt       *runtimeConfig
	set      *rules.Set
	w        http.ResponseWriter
	r        *http.Request
	rec      *requestLog
	event    string
	rawQuery string
	body     []byte
	input    *rules.Input
	preq     plugin.Request
	pg       plugin.Context
}

func (ex *exchange) run(ctx context.Context) {
	// pre: the first matching rule that forwards answers instead of the
	// parent.
	for _, rule := range ex.set.Rules(ex.event, rules.Pre) {
		if !rule.Match(ctx, ex.input) {
			continue
		}
		ex.rec.fired = append(ex.rec.fired, rule.Name)
		reply, failure := ex.callAction(ctx, rule, nil)
		if failure != nil {
			if rule.OnError == rules.OnErrorKeep {
				continue
			}
			ex.writeFailure(failure)
			return
		}
		ex.stream(reply)
		return
	}

	cur := ex.callParent(ctx)
	post := ex.set.Rules(ex.event, rules.Post)
	var parsed *response // the response ex.input describes
	for i, rule := range post {
		if parsed != cur {
			// Parsed once per response, not once per rule.
			ex.input.Response = &rules.ResponseInput{
				Status: cur.status, Headers: rules.HeaderMap(cur.header), JSON: rules.ParseResponseJSON(cur.body),
			}
			ex.input.G.Origin = cur.origin
			parsed = cur
		}
		if !rule.Match(ctx, ex.input) {
			continue
		}
		ex.rec.fired = append(ex.rec.fired, rule.Name)
		reply, failure := ex.callAction(ctx, rule, cur)
		if failure != nil {
			if rule.OnError == rules.OnErrorKeep {
				continue
			}
			ex.writeFailure(failure)
			return
		}
		if i == len(post)-1 {
			ex.stream(reply)
			return
		}
		next, err := bufferReply(reply)
		if err != nil {
			ex.g.stats.pluginErrors.Add(1)
			f := &actionFailure{rule: rule.Name, kind: plugin.ErrorInternal, msg: err.Error()}
			if rule.OnError == rules.OnErrorKeep {
				ex.g.log.Warn("forward answer broke off; keeping the current response", "rule", rule.Name, "request_id", ex.pg.RequestID, "err", err)
				continue
			}
			ex.writeFailure(f)
			return
		}
		cur = next
	}
	ex.write(cur)
}

// callParent asks the parent; when there is none, or it cannot be reached,
// the answer is an eduMFA error envelope the post rules still see.
func (ex *exchange) callParent(ctx context.Context) *response {
	if ex.rt.upstream == nil {
		return envelopeResponse(http.StatusNotFound, envelope.CodeNotFound, "no rule answered this request and the gateway has no upstream")
	}
	header := ex.r.Header.Clone()
	removeHopByHop(header)
	resp, err := ex.rt.upstream.call(ctx, ex.r, header, ex.rawQuery, ex.body)
	if err != nil {
		ex.rec.note = "parent: " + err.Error()
		ex.g.log.Warn("parent eduMFA failed", "event", ex.event, "request_id", ex.pg.RequestID, "err", err)
		if errors.Is(err, errUpstreamTimeout) {
			return envelopeResponse(http.StatusGatewayTimeout, envelope.CodeUpstreamTimeout, "the parent eduMFA did not answer in time")
		}
		return envelopeResponse(http.StatusBadGateway, envelope.CodeUpstreamUnreachable, "the parent eduMFA cannot be reached")
	}
	return resp
}

// actionFailure is a rule's action that produced no answer.
type actionFailure struct {
	rule   string
	server string
	kind   plugin.ErrorKind
	msg    string
	// plugin is set when the handler plugin itself failed (not running,
	// crashed or hung during the call), not the child.
	plugin string
}

// callAction runs the rule's action in its plugin.
func (ex *exchange) callAction(ctx context.Context, rule *rules.Rule, cur *response) (*plugin.Reply, *actionFailure) {
	call := &plugin.Call{
		Event: ex.event, Rule: rule.Name, Action: rule.Action, Options: rule.Options,
		Request: ex.preq, G: ex.pg,
	}
	call.G.Origin = ""
	if cur != nil {
		call.Response = &plugin.Response{Status: cur.status, Header: cur.header, Body: cur.body}
		call.G.Origin = cur.origin
	}
	server, _ := rule.Options[forward.OptionServer].(string)
	l, err := ex.g.plugins.acquire(rule.Handler)
	if err != nil {
		ex.g.stats.pluginErrors.Add(1)
		ex.g.log.Error("handler plugin not available", "rule", rule.Name, "handler", rule.Handler, "request_id", ex.pg.RequestID, "err", err)
		return nil, &actionFailure{rule: rule.Name, server: server, kind: plugin.ErrorInternal, plugin: rule.Handler, msg: "is not running (it is being restarted)"}
	}
	reply, err := l.do(ctx, call)
	if err != nil {
		ex.g.stats.pluginErrors.Add(1)
		kind, msg := plugin.ErrorInternal, "failed during the call (it crashed or was stopped)"
		if ctx.Err() != nil {
			kind, msg = plugin.ErrorTimeout, "did not answer in time"
		}
		ex.g.log.Error("handler plugin call failed", "rule", rule.Name, "handler", rule.Handler, "request_id", ex.pg.RequestID, "err", err)
		return nil, &actionFailure{rule: rule.Name, server: server, kind: kind, plugin: rule.Handler, msg: msg}
	}
	if !reply.Answered {
		o, _ := reply.Outcome()
		ex.g.stats.forwardErrors.Add(1)
		ex.g.log.Warn("forward failed", "rule", rule.Name, "server", o.Server, "kind", o.ErrorKind.String(), "attempts", o.Attempts, "request_id", ex.pg.RequestID, "err", o.ErrorMessage)
		ex.rec.note = "rule " + rule.Name + ": " + o.ErrorKind.String()
		if o.Server == "" {
			o.Server = server
		}
		return nil, &actionFailure{rule: rule.Name, server: o.Server, kind: o.ErrorKind, msg: o.ErrorMessage}
	}
	if !validStatus(reply.Status) {
		reply.Body.Close()
		ex.g.stats.forwardErrors.Add(1)
		return nil, &actionFailure{rule: rule.Name, server: server, kind: plugin.ErrorInternal, msg: fmt.Sprintf("the child answered with the invalid HTTP status %d", reply.Status)}
	}
	ex.g.stats.forwarded.Add(1)
	return reply, nil
}

// writeFailure answers with eduMFA's error envelope naming the child and the
// cause: 504 for a timeout, 502 otherwise.
func (ex *exchange) writeFailure(f *actionFailure) {
	status, code := http.StatusBadGateway, envelope.CodeUpstreamUnreachable
	switch f.kind {
	case plugin.ErrorTimeout:
		status, code = http.StatusGatewayTimeout, envelope.CodeUpstreamTimeout
	case plugin.ErrorTLS:
		code = envelope.CodeUpstreamTLS
	case plugin.ErrorLoop:
		status, code = http.StatusLoopDetected, envelope.CodeLoopDetected
	}
	who := "child eduMFA"
	if f.server != "" {
		who = fmt.Sprintf("child eduMFA %q", f.server)
	}
	msg := fmt.Sprintf("rule %q: %s failed: %s", f.rule, who, f.kind)
	if f.msg != "" {
		msg += ": " + f.msg
	}
	if f.plugin != "" {
		// Not the child's fault: say so, and that nothing is retried (the
		// child may have seen the OTP already).
		msg = fmt.Sprintf("rule %q: the handler plugin %s %s; the request to %s was not retried", f.rule, f.plugin, f.msg, who)
	}
	ex.rec.status = status
	writeEnvelope(ex.w, status, code, msg)
}

// stream answers with a plugin reply as it arrives.
func (ex *exchange) stream(reply *plugin.Reply) {
	defer reply.Body.Close()
	h := ex.w.Header()
	for k, v := range reply.Header {
		h[k] = v
	}
	removeHopByHop(h)
	ex.w.WriteHeader(reply.Status)
	ex.rec.status = reply.Status
	if _, err := io.Copy(flushWriter{ex.w}, reply.Body); err != nil {
		ex.g.log.Error("forwarded answer broke off", "request_id", ex.pg.RequestID, "err", err)
		ex.rec.note = "answer broke off"
		return
	}
	if o, ok := reply.Outcome(); ok {
		ex.rec.origin = logPath(o.Origin)
	}
}

// write answers with a buffered response.
func (ex *exchange) write(resp *response) {
	h := ex.w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	removeHopByHop(h)
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	ex.w.WriteHeader(resp.status)
	_, _ = ex.w.Write(resp.body)
	ex.rec.status = resp.status
	ex.rec.origin = logPath(resp.origin)
}

// bufferReply reads a reply for the next post rule.
func bufferReply(reply *plugin.Reply) (*response, error) {
	defer reply.Body.Close()
	b, err := io.ReadAll(io.LimitReader(reply.Body, maxResponseBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxResponseBodyBytes {
		return nil, fmt.Errorf("child answer larger than %d bytes", maxResponseBodyBytes)
	}
	o, _ := reply.Outcome()
	h := reply.Header.Clone()
	h.Del("Content-Length")
	return &response{status: reply.Status, header: h, body: b, origin: o.Origin}, nil
}

// proxy sends a request no rule handles to the parent unchanged.
func (g *Gateway) proxy(w http.ResponseWriter, r *http.Request, rt *runtimeConfig) int {
	if rt.upstream == nil {
		writeEnvelope(w, http.StatusNotFound, envelope.CodeNotFound, "the gateway has no upstream for "+r.Method+" "+r.URL.Path)
		return http.StatusNotFound
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	if r.Body != nil && r.Body != http.NoBody {
		cb := &clientBody{ReadCloser: r.Body}
		r = r.WithContext(context.WithValue(r.Context(), clientBodyKey{}, cb))
		r.Body = cb
	}
	rt.upstream.proxy.ServeHTTP(sw, r)
	return sw.status
}

func envelopeResponse(status, code int, msg string) *response {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	return &response{status: status, header: h, body: envelope.Error(code, msg, nil)}
}

func writeEnvelope(w http.ResponseWriter, status, code int, msg string) {
	envelope.Write(w, status, envelope.Error(code, msg, nil))
}

// sanitizeForwardingHeaders makes X-Forwarded-For say what the gateway
// determined, and removes what an untrusted caller may not claim.
func sanitizeForwardingHeaders(r *http.Request, c clientAddr, requestID string, hops int) {
	xff := forwardedFor(r, c)
	r.Header.Del("Forwarded")
	r.Header.Del("X-Real-Ip")
	if !c.PeerTrusted {
		r.Header.Del("X-Forwarded-Host")
		r.Header.Del("X-Forwarded-Proto")
	}
	r.Header.Set("X-Forwarded-For", xff)
	r.Header.Set(forward.RequestIDHeader, requestID)
	r.Header.Del(forward.HopsHeader)
	if hops > 0 {
		r.Header.Set(forward.HopsHeader, strconv.Itoa(hops))
	}
}

func parseHops(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a hop count", v)
	}
	return n, nil
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// requestLog is the one log line a request produces: no query string, no
// body, no header values.
type requestLog struct {
	method, path, event, clientIP, requestID, origin, note string
	status                                                 int
	fired                                                  []string
}

func (l *requestLog) log(log *slog.Logger, d time.Duration) {
	attrs := []any{"method", l.method, "path", l.path, "status", l.status, "duration_ms", float64(d.Microseconds()) / 1000, "client_ip", l.clientIP}
	if l.event != "" {
		attrs = append(attrs, "event", l.event)
	}
	if l.requestID != "" {
		attrs = append(attrs, "request_id", l.requestID)
	}
	if len(l.fired) > 0 {
		attrs = append(attrs, "rules", strings.Join(l.fired, ","))
	}
	if l.origin != "" {
		attrs = append(attrs, "origin", l.origin)
	}
	if l.note != "" {
		attrs = append(attrs, "note", l.note)
	}
	log.Info("request", attrs...)
}
