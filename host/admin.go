package host

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
)

// adminHandler serves the admin API:
//
//	GET  /admin/status            rule set, reloads, plugins, counters
//	POST /admin/reload[?plugins=1] reload config, rules (and swap plugins)
//
// With a token, every call needs `Authorization: Bearer <token>`. The
// token is read per call: it reloads with the config.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Status())
	})
	mux.HandleFunc("POST /admin/reload", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("plugins")
		res, err := s.Reload(r.Context(), ReloadRequest{Plugins: q == "1" || q == "true", Reason: "admin"})
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"ok": false, "error": err.Error(), "result": res})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": res})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token := *s.adminToken.Load(); token != "" && !bearerMatches(r.Header.Get("Authorization"), token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="edumfa-federation admin"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"ok": false, "error": errUnauthorized.Error()})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// bearerMatches compares the token in constant time. Both sides are hashed
// first: subtle.ConstantTimeCompare returns early on a length difference,
// which would tell a caller the token's length. The scheme is
// case-insensitive (RFC 9110 §11.1).
func bearerMatches(header, token string) bool {
	scheme, got, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	a := sha256.Sum256([]byte(strings.TrimSpace(got)))
	b := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
