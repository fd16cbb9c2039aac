package host

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/edumfa-federation/edumfa-federation/actions/forward"
	"github.com/edumfa-federation/edumfa-federation/envelope"
	"github.com/edumfa-federation/edumfa-federation/rules"
)

// fail answers with eduMFA's error envelope and notes it for the log line.
func (l *requestLog) fail(w http.ResponseWriter, status, code int, msg string) {
	l.status = status
	l.note = msg
	writeEnvelope(w, status, code, msg)
}

// readBody reads a request body up to maxRequestBodyBytes; on failure it
// has answered the client.
func readBody(w http.ResponseWriter, r *http.Request, rec *requestLog) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBodyBytes+1))
	if err != nil {
		if isTimeout(err) {
			rec.fail(w, http.StatusRequestTimeout, envelope.CodeParameter, "ERR905: the request body did not arrive in time")
		} else {
			rec.fail(w, http.StatusBadRequest, envelope.CodeParameter, "ERR905: could not read the request body")
		}
		return nil, false
	}
	if len(body) > maxRequestBodyBytes {
		rec.fail(w, http.StatusRequestEntityTooLarge, envelope.CodeParameter, fmt.Sprintf("ERR905: request body larger than %d bytes", maxRequestBodyBytes))
		return nil, false
	}
	return body, true
}

// prepareClientParam reads the body of a request that is proxied to the
// parent unchanged otherwise, on a path where eduMFA reads `client`: a
// trusted caller's `client` (query or body) is returned, an untrusted
// caller's is removed. It has answered the client when ok is false.
func prepareClientParam(w http.ResponseWriter, r *http.Request, rec *requestLog, trusted bool) (client string, ok bool) {
	body, ok := readBody(w, r, rec)
	if !ok {
		return "", false
	}
	if unsupportedJSONEncoding(r.Header, body) {
		rec.fail(w, http.StatusBadRequest, envelope.CodeParameter, "ERR905: the JSON body must be UTF-8 without a byte order mark")
		return "", false
	}
	rawQuery := r.URL.RawQuery
	if trusted {
		all := rules.AllData(r.Method, rawQuery, r.Header.Get("Content-Type"), body, r.Header.Get("User-Agent"), nil)
		client, _ = all["client"].(string)
	} else {
		var err error
		if rawQuery, body, err = forward.RemoveParam(r.Method, rawQuery, r.Header, body, "client"); err != nil {
			rec.fail(w, http.StatusBadRequest, envelope.CodeParameter, "ERR905: a multipart body may not carry the client parameter")
			return "", false
		}
	}
	r.URL.RawQuery = rawQuery
	r.TransferEncoding = nil
	r.ContentLength = int64(len(body))
	if len(body) == 0 {
		// http.NoBody: net/http would send an empty non-nil body chunked.
		r.Body = http.NoBody
		r.Header.Del("Content-Length")
		return client, true
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return client, true
}

// unsupportedJSONEncoding reports a body eduMFA would read as JSON (a JSON
// content type, or any raw body that is not a form) in an encoding other
// than plain UTF-8: a byte order mark, or UTF-16/32 (a NUL in the first
// bytes, as Python's json.detect_encoding looks for).
func unsupportedJSONEncoding(h http.Header, body []byte) bool {
	if len(body) < 2 {
		return false
	}
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
		return false
	}
	if bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}) || bytes.HasPrefix(body, []byte{0xFE, 0xFF}) || bytes.HasPrefix(body, []byte{0xFF, 0xFE}) {
		return true
	}
	head := body[:min(len(body), 4)]
	return bytes.IndexByte(head, 0) >= 0
}

// logPath is the path as logs show it: GET /token/getserial/<otp> holds an
// OTP value in the path itself (also spelled /token//getserial/, or in
// another case, which eduMFA redirects or refuses).
func logPath(p string) string {
	if i := strings.Index(strings.ToLower(p), "getserial"); i >= 0 {
		return p[:i+len("getserial")] + "/<otp>"
	}
	return p
}
