package main

import (
	"context"
	"net/http"
	"testing"
)

// HTTP allows any obs-text byte in a header value (RFC 9110 section 5.5;
// Werkzeug writes headers as Latin-1) and Go's net/http server accepts such
// requests, and a raw byte >= 0x80 in the request target as well. Protobuf
// strings must be UTF-8, so plugin.proto carries header values, the path and
// the raw query as bytes: otherwise such a request would fail before the
// child is asked, and such an answer after the child processed the request
// (an OTP spent, the answer lost).
func TestPlugin_NonUTF8BytesCrossThePluginHop(t *testing.T) {
	const latin1 = "Clt/1.0 (M\xfcnchen)"
	ch := startChild(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path == "/answer-header" {
			w.Header().Set("Content-Disposition", "attachment; filename=\"M\xfcller.txt\"")
		}
		w.Header().Set("Content-Type", ctJSON)
		w.Write([]byte(`{"detail": {}}`))
	})
	c := startPlugin(t, childServer(ch.URL))
	for _, tt := range []struct {
		name, path, query string
		header            http.Header
		check             func(t *testing.T, got received, a *http.Header)
	}{
		{"Latin-1 request header value", "/validate/check", "", http.Header{"User-Agent": {latin1}},
			func(t *testing.T, got received, _ *http.Header) {
				if got.header.Get("User-Agent") != latin1 {
					t.Errorf("User-Agent %q", got.header.Get("User-Agent"))
				}
			}},
		{"raw non-UTF-8 byte in the query", "/validate/check", "user=m\xfcller&pass=x", nil,
			func(t *testing.T, got received, _ *http.Header) {
				if got.rawQuery != "user=m\xfcller&pass=x" {
					t.Errorf("query %q", got.rawQuery)
				}
			}},
		{"Latin-1 header in the child's answer", "/answer-header", "", nil,
			func(t *testing.T, _ received, h *http.Header) {
				if h.Get("Content-Disposition") != "attachment; filename=\"M\xfcller.txt\"" {
					t.Errorf("Content-Disposition %q", h.Get("Content-Disposition"))
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch.reset()
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			r, err := c.Do(ctx, newCall("GET", tt.path, tt.query, tt.header, "", nil))
			if err != nil {
				t.Fatalf("Do: %v (the child saw %d requests)", err, len(ch.requests()))
			}
			if r.Body != nil {
				r.Body.Close()
			}
			tt.check(t, ch.only(t), &r.Header)
		})
	}
}
