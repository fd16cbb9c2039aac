package envelope

import (
	"crypto/rsa"
	"encoding/json"
	"maps"
	"strconv"
	"time"
)

// VersionNumber is the gateway's version, the "versionnumber" member of the
// success envelopes it makes itself.
const VersionNumber = "0.1.0"

// Version is the "version" member of envelopes the gateway makes itself.
// eduMFA writes "eduMFA <versionnumber>"; the gateway names itself instead,
// so that an operator reading a response can tell the gateway's own answers
// (errors, loop refusals) from the parent's and the children's, which it
// passes through. eduMFA clients read only result and detail.
const Version = "eduMFA federation gateway " + VersionNumber

// Values of result.authentication, which eduMFA adds when the envelope id is
// greater than 1 (validate endpoints).
const (
	AuthAccept    = "ACCEPT"
	AuthChallenge = "CHALLENGE"
	AuthDeclined  = "DECLINED"
	AuthReject    = "REJECT"
)

// gateway makes the envelopes of the package-level Error and Success.
var gateway = Maker{Version: Version, VersionNumber: VersionNumber}

// Error returns the gateway's error envelope body (eduMFA's send_error):
//
//	{"detail": <detail or null>, "id": 1, "jsonrpc": "2.0", "result": {"error": {"code": code, "message": message}, "status": false}, "time": <float>, "version": Version}
//
// with no versionnumber and no signature. An empty detail is written as null.
// message is written as given; use ErrText for eduMFA's "ERR905: ..." form.
func Error(code int, message string, detail map[string]any) []byte {
	return gateway.Error(code, message, detail)
}

// Success returns the gateway's success envelope body (eduMFA's send_result):
//
//	{"detail": {...}, "id": id, "jsonrpc": "2.0", "result": {"authentication": ..., "status": true, "value": value}, "time": <float>, "version": Version, "versionnumber": VersionNumber}
//
// detail is omitted when empty, and no threadid is added to it.
// result.authentication is present only when id > 1 and follows eduMFA: a
// truthy value (Python's notion: true, non-zero, non-empty) is ACCEPT; else a
// non-empty detail.multi_challenge is CHALLENGE; else detail.challenge_status
// "declined" is DECLINED; else REJECT. If value or detail cannot be encoded,
// the result is Error(CodeInternal, InternalErrorMessage, nil).
func Success(id int, value any, detail map[string]any) []byte {
	return gateway.Success(id, value, detail)
}

// Maker makes envelopes that name one product version, optionally with
// eduMFA's thread id, nonce and signature. The zero value makes unsigned
// envelopes with empty version strings; Error and Success use the gateway's
// Maker. A Maker is a value: set Nonce on a copy per request.
type Maker struct {
	// Version is the "version" member, e.g. "eduMFA 2.9.5".
	Version string
	// VersionNumber is the "versionnumber" member of success envelopes,
	// e.g. "2.9.5".
	VersionNumber string
	// ThreadID, if non-zero, is added to every non-empty detail as
	// "threadid", as eduMFA adds the Python thread ident.
	ThreadID int64
	// Nonce, if non-nil, is appended as the "nonce" member after the sorted
	// ones; eduMFA echoes the request's nonce parameter there.
	Nonce any
	// Key, if non-nil, signs the envelope (see Sign); the "signature" member
	// is appended last. If signing fails the envelope goes out unsigned, as
	// eduMFA's does when its key is unusable.
	Key *rsa.PrivateKey
	// Now is the clock for the "time" member; nil means time.Now.
	Now func() time.Time
}

// Error is the package-level Error with this Maker's version, thread id,
// nonce and key.
func (m Maker) Error(code int, message string, detail map[string]any) []byte {
	var d any
	if len(detail) > 0 {
		d = m.detailObject(detail)
	}
	o := Object{
		{"detail", d},
		{"id", 1},
		{"jsonrpc", "2.0"},
		{"result", Object{
			{"error", Object{{"code", code}, {"message", message}}},
			{"status", false},
		}},
		{"time", m.now()},
		{"version", m.Version},
	}
	body, err := m.finish(o)
	if err != nil {
		// Only an unencodable detail can fail; drop it.
		return m.Error(code, message, nil)
	}
	return body
}

// Success is the package-level Success with this Maker's version, thread id
// (added to a non-empty detail), nonce and key.
func (m Maker) Success(id int, value any, detail map[string]any) []byte {
	var d Object
	if len(detail) > 0 {
		d = m.detailObject(detail)
	}
	return m.SuccessObject(id, value, d)
}

// SuccessObject is Success with a detail whose member order is given, for
// bodies where eduMFA appends members after the sorted ones (a postpolicy's
// preferred_client_mode). No threadid is added; an empty detail is omitted.
func (m Maker) SuccessObject(id int, value any, detail Object) []byte {
	result := Object{}
	if id > 1 {
		result = append(result, Member{"authentication", authentication(value, detail)})
	}
	result = append(result, Member{"status", true}, Member{"value", value})
	o := Object{}
	if len(detail) > 0 {
		o = append(o, Member{"detail", detail})
	}
	o = append(o,
		Member{"id", id},
		Member{"jsonrpc", "2.0"},
		Member{"result", result},
		Member{"time", m.now()},
		Member{"version", m.Version},
		Member{"versionnumber", m.VersionNumber},
	)
	body, err := m.finish(o)
	if err != nil {
		return m.Error(CodeInternal, InternalErrorMessage, nil)
	}
	return body
}

func (m Maker) detailObject(detail map[string]any) Object {
	if m.ThreadID != 0 {
		detail = maps.Clone(detail)
		detail["threadid"] = m.ThreadID
	}
	return SortedObject(detail)
}

func (m Maker) now() float64 {
	t := time.Now()
	if m.Now != nil {
		t = m.Now()
	}
	// time.time() has microsecond resolution on Linux.
	return float64(t.UnixMicro()) / 1e6
}

// finish appends nonce and signature the way eduMFA's sign_response does and
// encodes the envelope.
func (m Maker) finish(o Object) ([]byte, error) {
	if m.Nonce != nil {
		o = append(o, Member{"nonce", m.Nonce})
	}
	if m.Key != nil {
		// A failed signature leaves the envelope unsigned; an encoding
		// failure shows up again in Marshal below.
		if sig, err := signature(m.Key, o); err == nil {
			o = append(o, Member{"signature", sig})
		}
	}
	return Marshal(o)
}

// authentication is eduMFA's result.authentication for an envelope id > 1.
func authentication(value any, detail Object) string {
	if truthy(value) {
		return AuthAccept
	}
	if mc, ok := detail.Get("multi_challenge"); ok && truthy(mc) {
		return AuthChallenge
	}
	if cs, ok := detail.Get("challenge_status"); ok && cs == "declined" {
		return AuthDeclined
	}
	return AuthReject
}

// truthy is Python's bool() of a JSON-like value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return err != nil || f != 0
	case float64:
		return x != 0
	case float32:
		return x != 0
	case int:
		return x != 0
	case int64:
		return x != 0
	case int32:
		return x != 0
	case uint:
		return x != 0
	case uint64:
		return x != 0
	case []any:
		return len(x) > 0
	case []string:
		return len(x) > 0
	case []Object:
		return len(x) > 0
	case []map[string]any:
		return len(x) > 0
	case Object:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case map[string]string:
		return len(x) > 0
	}
	return true
}
