package rules

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"cel.dev/cel-go/interpreter"
)

// Input holds the CEL variables of one evaluation. The host builds it once
// per request and, between post rules, replaces Response and G.Origin when a
// rule produced a new answer. It must not change during an evaluation; maps
// inside it are only read.
//
// request, response and g are typed objects in CEL: a misspelt field is a
// load error, and has() on one of their fields tests for a non-zero value
// (`has(g.origin)` is false for the parent's own answer). Keys below
// all_data, headers and json are looked up when the condition runs.
type Input struct {
	Request RequestInput
	// Response is the current answer; nil in pre rules (which cannot see
	// `response` at all).
	Response *ResponseInput
	G        GInput
}

// RequestInput is the CEL variable `request`: the client's request.
type RequestInput struct {
	Method string `cel:"method"`
	// Path is the decoded URL path, as eduMFA's request.path.
	Path string `cel:"path"`
	// RemoteAddr is the TCP peer's IP address (no port).
	RemoteAddr string `cel:"remote_addr"`
	// Headers has lower-case names; repeated headers are joined by ", ".
	// See HeaderMap.
	Headers map[string]string `cel:"headers"`
	// AllData is eduMFA's request.all_data; see AllData.
	AllData map[string]any `cel:"all_data"`
}

// ResponseInput is the CEL variable `response`: the current answer, first
// the parent's, then that of the last rule that replaced it.
type ResponseInput struct {
	Status  int               `cel:"status"`
	Headers map[string]string `cel:"headers"`
	// JSON is the parsed body; see ParseResponseJSON.
	JSON map[string]any `cel:"json"`
}

// GInput is the CEL variable `g`: what the gateway knows about the request,
// like eduMFA's flask.g.
type GInput struct {
	ClientIP string `cel:"client_ip"`
	Event    string `cel:"event"`
	// RequestID identifies the request in logs and audit.
	RequestID string `cel:"request_id"`
	// Origin is the URL that produced the current response; empty while it
	// is the parent's own.
	Origin string `cel:"origin"`
	// Hops is how many federation gateways the request already passed.
	Hops int `cel:"hops"`
}

// activation resolves the CEL variables straight from an Input, without a
// per-evaluation map.
type activation Input

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case varRequest:
		return &a.Request, true
	case varG:
		return &a.G, true
	case varResponse:
		if a.Response == nil {
			return nil, false
		}
		return a.Response, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// HeaderMap flattens HTTP headers for CEL: lower-case names, repeated values
// joined by ", " (RFC 9110's list form).
func HeaderMap(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		k = strings.ToLower(k)
		v := strings.Join(vs, ", ")
		if prev, ok := out[k]; ok {
			// Two spellings of one name in a hand-built http.Header.
			v = prev + ", " + v
		}
		out[k] = v
	}
	return out
}

// ParseResponseJSON parses an answer body for `response.json`. Anything
// that is not one JSON object (empty, HTML, radiuscheck's empty 204, a JSON
// list, trailing garbage) gives an empty map, so conditions read absent keys
// rather than fail on the type. JSON null inside objects is removed: eduMFA
// error envelopes carry `"detail": null`, and `has(response.json.detail)` is
// then false while `response.json.?detail.?message` stays well-typed.
// Numbers are int64 when integral and in range, float64 otherwise, so
// `response.json.detail.otplen == 6` holds and `+ 1` works.
func ParseResponseJSON(body []byte) map[string]any {
	obj, ok := parseJSONObject(body)
	if !ok {
		return map[string]any{}
	}
	dropNulls(obj)
	return obj
}

// parseJSONObject decodes exactly one JSON object, numbers as int64 or
// float64 (see jsonNumbers).
func parseJSONObject(body []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return jsonNumbers(obj).(map[string]any), true
}

// jsonNumbers replaces json.Number values: an integer literal that fits
// int64 becomes int64 (CEL int), anything else float64 (CEL double). CEL
// compares int and double by value, so `x == 6` and `x == 6.0` both hold.
func jsonNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonNumbers(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = jsonNumbers(e)
		}
		return t
	case json.Number:
		s := string(t)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	}
	return v
}

// dropNulls removes null members of objects, at every depth. Nulls inside
// lists stay (removing them would shift indices).
func dropNulls(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			dropNulls(e)
		}
	case []any:
		for _, e := range t {
			dropNulls(e)
		}
	}
}
