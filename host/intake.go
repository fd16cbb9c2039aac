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

// stripClientParam removes an untrusted caller's `client` parameter from a
// request that is proxied to the parent unchanged otherwise.
func stripClientParam(w http.ResponseWriter, r *http.Request, rec *requestLog) bool {
	body, ok := readBody(w, r, rec)
	if !ok {
		return false
	}
	rawQuery, body, err := forward.RemoveParam(r.Method, r.URL.RawQuery, r.Header, body, "client")
	if err != nil {
		rec.fail(w, http.StatusBadRequest, envelope.CodeParameter, "ERR905: a multipart body may not carry the client parameter")
		return false
	}
	r.URL.RawQuery = rawQuery
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r.TransferEncoding = nil
	return true
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
// OTP value in the path itself.
func logPath(p string) string {
	const prefix = "/token/getserial/"
	if i := strings.Index(p, prefix); i >= 0 {
		return p[:i+len(prefix)] + "<otp>"
	}
	return p
}
