package host

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func mustTrusted(t *testing.T, cidrs ...string) trustedProxies {
	t.Helper()
	var out trustedProxies
	for _, c := range cidrs {
		p, err := parsePrefix(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestResolveClient(t *testing.T) {
	trusted := mustTrusted(t, "10.0.0.0/8", "2001:db8::1")
	tests := []struct {
		name        string
		remote      string
		path        string
		xff         []string
		client      string
		wantIP      string
		wantTrusted bool
		wantXFF     string
	}{
		{"untrusted peer: XFF ignored", "192.0.2.7:4000", "/validate/check", []string{"198.51.100.1"}, "", "192.0.2.7", false, "192.0.2.7"},
		{"untrusted peer: client param ignored", "192.0.2.7:4000", "/validate/check", nil, "203.0.113.5", "192.0.2.7", false, "192.0.2.7"},
		{"trusted peer: rightmost untrusted hop", "10.1.1.1:4000", "/validate/check", []string{"198.51.100.1, 10.2.2.2"}, "", "198.51.100.1", true, "198.51.100.1, 10.2.2.2, 10.1.1.1"},
		{"trusted peer: spoofed left hops do not count", "10.1.1.1:4000", "/validate/check", []string{"6.6.6.6, 198.51.100.1"}, "", "198.51.100.1", true, "6.6.6.6, 198.51.100.1, 10.1.1.1"},
		{"trusted peer: several XFF headers", "10.1.1.1:4000", "/token/", []string{"198.51.100.1", "10.2.2.2"}, "", "198.51.100.1", true, "198.51.100.1, 10.2.2.2, 10.1.1.1"},
		{"trusted peer without XFF: client param on validate", "10.1.1.1:4000", "/validate/check", nil, "203.0.113.5", "203.0.113.5", true, "203.0.113.5"},
		{"trusted peer: client param ignored on admin paths", "10.1.1.1:4000", "/token/", nil, "203.0.113.5", "10.1.1.1", true, "10.1.1.1"},
		{"trusted peer: bad client param ignored", "10.1.1.1:4000", "/auth", nil, "not-an-ip", "10.1.1.1", true, "10.1.1.1"},
		{"trusted peer: garbage hop ends the chain", "10.1.1.1:4000", "/validate/check", []string{"198.51.100.1, garbage"}, "", "10.1.1.1", true, "198.51.100.1, garbage, 10.1.1.1"},
		{"IPv6 trusted peer", "[2001:db8::1]:4000", "/validate/check", []string{"2001:db8::99"}, "", "2001:db8::99", true, "2001:db8::99, 2001:db8::1"},
		{"IPv4-mapped peer is its IPv4 address", "[::ffff:10.1.1.1]:4000", "/validate/check", []string{"198.51.100.1"}, "", "198.51.100.1", true, "198.51.100.1, 10.1.1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.path
			if tt.client != "" {
				target += "?client=" + tt.client
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := trusted.resolveClient(r, r.URL.Query().Get("client"))
			if got.IP != tt.wantIP || got.PeerTrusted != tt.wantTrusted {
				t.Fatalf("got %+v, want ip %s trusted %v", got, tt.wantIP, tt.wantTrusted)
			}
			if xff := forwardedFor(r, got); xff != tt.wantXFF {
				t.Fatalf("X-Forwarded-For %q, want %q", xff, tt.wantXFF)
			}
		})
	}
}
