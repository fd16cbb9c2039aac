package forward

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

func TestOutgoingHeader(t *testing.T) {
	in := http.Header{
		"User-Agent":          {"FreeRADIUS"},
		"Content-Type":        {"application/json"},
		"Accept":              {"*/*"},
		"Accept-Encoding":     {"gzip, deflate"},
		"Accept-Language":     {"de"},
		"Origin":              {"https://sso.example.org"},
		"Authorization":       {"jwt"},
		"Cookie":              {"session=1"},
		"Host":                {"parent:5002"},
		"Connection":          {"keep-alive, X-Secret-Hop"},
		"X-Secret-Hop":        {"1"},
		"Keep-Alive":          {"timeout=5"},
		"Te":                  {"trailers"},
		"Content-Length":      {"59"},
		"Idempotency-Key":     {"k"},
		"X-Idempotency-Key":   {"k"},
		"Forwarded":           {"for=6.6.6.6"},
		"X-Real-Ip":           {"6.6.6.6"},
		"X-Custom":            {"a", "b"},
		HopsHeader:            {"7"},
		"proxy-authorization": {"x"}, // not canonical: must go all the same
	}
	call := &plugin.Call{G: plugin.Context{ClientIP: "192.0.2.7", RequestID: "rid-1", Hops: 1}}
	got := outgoingHeader(in, call, false)
	want := http.Header{
		"User-Agent":               {"FreeRADIUS"},
		"Content-Type":             {"application/json"},
		"Accept":                   {"*/*"},
		"Accept-Encoding":          {"identity"},
		"Accept-Language":          {"de"},
		"Origin":                   {"https://sso.example.org"},
		"X-Custom":                 {"a", "b"},
		"X-Forwarded-For":          {"192.0.2.7"},
		"X-Edumfa-Federation-Hops": {"2"},
		"X-Request-Id":             {"rid-1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if in.Get("Authorization") != "jwt" || in.Get("Accept-Encoding") != "gzip, deflate" {
		t.Error("the client's header map was modified")
	}

	if got := outgoingHeader(in, call, true).Get("Authorization"); got != "jwt" {
		t.Errorf("forward_authorization_token: Authorization = %q", got)
	}
	if got := outgoingHeader(http.Header{}, call, false)["User-Agent"]; !reflect.DeepEqual(got, []string{""}) {
		t.Errorf("no client User-Agent: got %q, want an empty value so net/http sends none", got)
	}
}

func TestForwardedFor(t *testing.T) {
	tests := []struct {
		name     string
		incoming []string
		trusted  bool
		want     string
	}{
		{"untrusted peer: chain replaced by the client IP", []string{"6.6.6.6"}, false, "192.0.2.7"},
		{"trusted peer without chain", nil, true, "192.0.2.7"},
		{"trusted peer: peer appended", []string{"192.0.2.7, 10.0.0.1"}, true, "192.0.2.7, 10.0.0.1, 10.0.0.2"},
		{"trusted peer, several header lines", []string{"192.0.2.7", "10.0.0.1"}, true, "192.0.2.7, 10.0.0.1, 10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := &plugin.Call{
				Request: plugin.Request{RemoteAddr: "10.0.0.2"},
				G:       plugin.Context{ClientIP: "192.0.2.7", PeerTrusted: tt.trusted},
			}
			if got := forwardedFor(tt.incoming, call); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAnswerHeader(t *testing.T) {
	in := http.Header{
		"Content-Type":      {"application/json"},
		"Content-Length":    {"848"},
		"Cache-Control":     {"no-cache"},
		"Connection":        {"close"},
		"Keep-Alive":        {"timeout=5"},
		"Transfer-Encoding": {"chunked"},
		"Set-Cookie":        {"a=b"},
	}
	got := answerHeader(in, true)
	want := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-cache"}, "Set-Cookie": {"a=b"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changed body: got %v, want %v", got, want)
	}
	if got := answerHeader(in, false).Get("Content-Length"); got != "848" {
		t.Errorf("unchanged body: Content-Length = %q", got)
	}
}
