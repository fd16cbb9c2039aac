package host

import (
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
// With a token, every call needs `Authorization: Bearer <token>`.
func (s *Server) adminHandler(token string) http.Handler {
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
		if token != "" && !bearerMatches(r.Header.Get("Authorization"), token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="edumfa-federation admin"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"ok": false, "error": errUnauthorized.Error()})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// bearerMatches compares the token in constant time.
func bearerMatches(header, token string) bool {
	got, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
