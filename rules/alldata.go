package rules

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"unicode/utf8"
)

// maxMultipartValueBytes bounds one field of a multipart/form-data body; a
// bigger part is cut (the host bounds the body as a whole).
const maxMultipartValueBytes = 1 << 20

// AllData builds eduMFA's request.all_data (get_all_params, spec §2.1):
//
//  1. query string, then (except for GET) the form body; for a key given
//     more than once the first value wins, so on POST the query beats the
//     form;
//  2. for GET, a form body overrides the query;
//  3. a JSON body (Content-Type application/json or */*+json) overrides
//     both, its values keeping their JSON types; any other non-form body is
//     merged too if it happens to be a JSON object;
//  4. the route's path variables override everything.
//
// Query, form and path values are strings and, like eduMFA's check_unquote,
// percent-decoded a second time unless the User-Agent's product token is
// eduMFA-LDAP-Proxy, simpleSAMLphp or eduMFA-cp: a literal "%41" in a
// password reaches eduMFA as "A" from ordinary clients. JSON values are
// never unquoted. A malformed body contributes nothing.
func AllData(method, rawQuery, contentType string, body []byte, userAgent string, pathVars map[string]string) map[string]any {
	unquote := secondUnquote(userAgent)
	value := func(s string) string {
		if unquote {
			return pyUnquote(s)
		}
		return s
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = ""
	}
	var form []kv
	isForm := false
	switch mediaType {
	case "application/x-www-form-urlencoded":
		form, isForm = parseQSL(string(body)), true
	case "multipart/form-data":
		form, isForm = parseMultipart(body, params["boundary"]), true
	}

	out := map[string]any{}
	firstWins := func(pairs []kv) {
		for _, p := range pairs {
			if _, ok := out[p.k]; !ok {
				out[p.k] = value(p.v)
			}
		}
	}
	firstWins(parseQSL(rawQuery))
	if strings.ToUpper(method) != "GET" {
		firstWins(form)
	} else {
		seen := map[string]bool{}
		for _, p := range form {
			if !seen[p.k] {
				seen[p.k] = true
				out[p.k] = value(p.v)
			}
		}
	}
	if isJSONMediaType(mediaType) || (!isForm && len(body) > 0) {
		if utf8.Valid(body) {
			if obj, ok := parseJSONObject(body); ok {
				for k, v := range obj {
					out[k] = v
				}
			}
		}
	}
	for k, v := range pathVars {
		out[k] = value(v)
	}
	return out
}

type kv struct{ k, v string }

// isJSONMediaType is Werkzeug's is_json: application/json or
// application/*+json.
func isJSONMediaType(mt string) bool {
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// secondUnquote says whether eduMFA's check_unquote decodes values again for
// this User-Agent. The product token is the leading run of [A-Za-z0-9_-];
// an empty User-Agent gets the second decoding, one that starts with any
// other character does not (eduMFA's regex then fails to match).
func secondUnquote(ua string) bool {
	if ua == "" {
		return true
	}
	i := 0
	for i < len(ua) && isProductChar(ua[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	switch ua[:i] {
	case "eduMFA-LDAP-Proxy", "simpleSAMLphp", "eduMFA-cp":
		return false
	}
	return true
}

func isProductChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// parseQSL splits a query string or form body as Python's parse_qsl with
// keep_blank_values: pairs separated by "&", empty pairs dropped, a pair
// without "=" has an empty value, "+" is a space, and %XX escapes decode as
// UTF-8 (invalid bytes become U+FFFD, malformed escapes stay as they are).
func parseQSL(s string) []kv {
	var out []kv
	for _, part := range strings.Split(s, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		out = append(out, kv{
			pyUnquote(strings.ReplaceAll(k, "+", " ")),
			pyUnquote(strings.ReplaceAll(v, "+", " ")),
		})
	}
	return out
}

// parseMultipart returns the non-file fields of a multipart/form-data body
// (Werkzeug puts parts with a filename into request.files, not form).
func parseMultipart(body []byte, boundary string) []kv {
	if boundary == "" {
		return nil
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	var out []kv
	for {
		part, err := r.NextPart()
		if err != nil {
			return out
		}
		name := part.FormName()
		if name == "" || part.FileName() != "" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, maxMultipartValueBytes))
		if err != nil {
			return out
		}
		out = append(out, kv{name, decodeUTF8Replace(data)})
	}
}

// pyUnquote is Python's urllib.parse.unquote: %XX escapes become bytes, and
// the result is decoded as UTF-8 with U+FFFD for each maximal invalid
// subsequence. A "%" not followed by two hex digits stays literal; "+" is
// not touched.
func pyUnquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	buf := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			buf = append(buf, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		buf = append(buf, s[i])
	}
	return decodeUTF8Replace(buf)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// decodeUTF8Replace decodes b as UTF-8 the way Python's errors="replace"
// does: one U+FFFD per maximal subpart of an ill-formed sequence (Unicode
// §3.9), where Go's decoder would give one per byte.
func decodeUTF8Replace(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			sb.WriteRune(r)
			i += size
			continue
		}
		sb.WriteRune(utf8.RuneError)
		i += maximalSubpart(b[i:])
	}
	return sb.String()
}

// maximalSubpart is the length of the ill-formed prefix of b to replace by
// one U+FFFD: a lead byte and the continuation bytes that were valid so far.
func maximalSubpart(b []byte) int {
	lead := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF) // allowed range of the first continuation byte
	switch {
	case lead >= 0xC2 && lead <= 0xDF:
		need = 1
	case lead == 0xE0:
		need, lo = 2, 0xA0
	case lead >= 0xE1 && lead <= 0xEC, lead == 0xEE, lead == 0xEF:
		need = 2
	case lead == 0xED:
		need, hi = 2, 0x9F
	case lead == 0xF0:
		need, lo = 3, 0x90
	case lead >= 0xF1 && lead <= 0xF3:
		need = 3
	case lead == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for n <= need && n < len(b) {
		c := b[n]
		if n == 1 && (c < lo || c > hi) || n > 1 && (c < 0x80 || c > 0xBF) {
			break
		}
		n++
	}
	return n
}
