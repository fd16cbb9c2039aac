package forward

import "net/http"

// RemoveParam removes every occurrence of key from the raw query and the
// body, keeping every other byte and the body's encoding. The host uses it
// to drop the `client` parameter of callers that are not trusted proxies,
// before the request reaches the parent or a child. It fails only for a
// multipart body carrying key (that body is never rewritten).
func RemoveParam(method, rawQuery string, header http.Header, body []byte, key string) (string, []byte, error) {
	return rewriteParams(method, rawQuery, header, body, paramEdits{remove: []string{key}})
}
