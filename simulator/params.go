package simulator

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/edumfa-federation/edumfa-federation/envelope"
)

// noUnquoteAgents are the User-Agent product tokens for which eduMFA does
// not URL-unquote form and query values a second time (check_unquote in
// edumfa/api/lib/utils.py).
var noUnquoteAgents = map[string]bool{
	"eduMFA-LDAP-Proxy": true,
	"simpleSAMLphp":     true,
	"eduMFA-cp":         true,
}

// secondUnquote reports whether eduMFA unquotes form and query values again
// for this User-Agent. A missing User-Agent means yes; one that does not
// start with a product token ([A-Za-z0-9_-]+) means no, because eduMFA's
// regular expression then fails to match and it keeps the values as they
// are; a listed product token means no.
func secondUnquote(userAgent string) bool {
	if userAgent == "" {
		return true
	}
	n := 0
	for n < len(userAgent) && isTokenByte(userAgent[n]) {
		n++
	}
	if n == 0 {
		return false
	}
	return !noUnquoteAgents[userAgent[:n]]
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// errBadJSON is a JSON content type with a body that is not JSON; Werkzeug
// answers it with its HTML 400 page.
var errBadJSON = errors.New("Failed to decode JSON object")

// errNotObject is valid JSON that is not an object: eduMFA's dict.update
// fails with an internal error.
var errNotObject = errors.New("JSON body is not an object")

// allData builds eduMFA's request.all_data (get_all_params, spec §2.1):
// query string then form (first value of a key wins; for GET the form
// overrides), each value URL-unquoted a second time unless the User-Agent
// is exempt; then a JSON body (types kept, not unquoted) overrides; then the
// path variables.
func allData(r *http.Request, body []byte, viewArgs map[string]string) (map[string]any, error) {
	unq := secondUnquote(r.Header.Get("User-Agent"))
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isForm := mediaType == "application/x-www-form-urlencoded"
	isJSON := mediaType == "application/json" || strings.HasPrefix(mediaType, "application/") && strings.HasSuffix(mediaType, "+json")

	out := map[string]any{}
	put := func(pairs [][2]string, override bool) {
		for _, p := range pairs {
			if _, seen := out[p[0]]; seen && !override {
				continue
			}
			v := p[1]
			if unq {
				v = unquote(v, false)
			}
			out[p[0]] = v
		}
	}
	// Werkzeug's request.values is the query string, plus the form body for
	// every method but GET; only the first value of a key survives.
	query := parsePairs(r.URL.RawQuery)
	var form [][2]string
	if isForm {
		form = parsePairs(string(body))
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		put(query, false)
		put(firstOnly(form), true)
	} else {
		put(query, false)
		put(form, false)
	}

	switch {
	case isJSON:
		v, err := envelope.Decode(body)
		if err != nil {
			return nil, errBadJSON
		}
		o, ok := v.(envelope.Object)
		if !ok {
			return nil, errNotObject
		}
		for _, m := range o {
			out[m.Key] = plain(m.Value)
		}
	case len(body) > 0 && !isForm:
		// eduMFA tries any other body as JSON and ignores failures.
		if v, err := envelope.Decode(body); err == nil {
			if o, ok := v.(envelope.Object); ok {
				for _, m := range o {
					out[m.Key] = plain(m.Value)
				}
			}
		}
	}
	for k, v := range viewArgs {
		if unq {
			v = unquote(v, false)
		}
		out[k] = v
	}
	return out, nil
}

// plain turns decoded JSON into Go maps and slices (envelope.Marshal sorts
// maps, as eduMFA's jsonify does with everything it echoes).
func plain(v any) any {
	switch x := v.(type) {
	case envelope.Object:
		m := make(map[string]any, len(x))
		for _, mb := range x {
			m[mb.Key] = plain(mb.Value)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

func firstOnly(pairs [][2]string) [][2]string {
	seen := map[string]bool{}
	var out [][2]string
	for _, p := range pairs {
		if !seen[p[0]] {
			seen[p[0]] = true
			out = append(out, p)
		}
	}
	return out
}

// parsePairs decodes a query string or form body as Werkzeug does: split at
// "&", "+" is a space, %XX decoded, malformed escapes kept literally,
// invalid UTF-8 replaced.
func parsePairs(s string) [][2]string {
	var out [][2]string
	for part := range strings.SplitSeq(s, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		out = append(out, [2]string{unquote(k, true), unquote(v, true)})
	}
	return out
}

// unquote is Python's urllib.parse.unquote (plus=false: "+" stays) or
// unquote_plus: %XX sequences become bytes, anything malformed stays as it
// is, and the bytes are read as UTF-8 with each invalid byte replaced by
// U+FFFD.
func unquote(s string, plus bool) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case c == '+' && plus:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		sb.WriteRune(r)
		b = b[n:]
	}
	return sb.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// str is the string a parameter value stands for: JSON strings as they
// are, other JSON values as Python's str() would print the common ones.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case json.Number:
		return string(x)
	}
	b, _ := envelope.Marshal(v)
	return string(b)
}
