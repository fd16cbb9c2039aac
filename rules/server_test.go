package rules

import "testing"

func TestCheckServerURL(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"https://child.example.org", "https://child.example.org", ""},
		{"https://child.example.org/", "https://child.example.org", ""},
		{"https://child.example.org/edumfa//", "https://child.example.org/edumfa", ""},
		{"HTTP://127.0.0.1:5001/", "http://127.0.0.1:5001", ""},
		{"https://[2001:db8::1]:8443/mfa", "https://[2001:db8::1]:8443/mfa", ""},
		{"https://child.example.org/my%20mfa/", "https://child.example.org/my%20mfa", ""},
		{"ftp://child.example.org", "", `want an http or https URL, got "ftp://child.example.org"`},
		{"child.example.org", "", `want an http or https URL, got "child.example.org"`},
		{"https://", "", `no host in "https://"`},
		{"https:child", "", `no host in "https:child"`},
		{"https://u:p@child.example.org", "", "must not contain user or password"},
		{"https://child.example.org/#x", "", `must not have a query or fragment (the request path and query are appended), got "https://child.example.org/#x"`},
		{"https://child.example.org?", "", `must not have a query or fragment (the request path and query are appended), got "https://child.example.org?"`},
		{"https://child.example.org:port", "", `not a URL: invalid port ":port" after host`},
	}
	for _, tt := range tests {
		got, err := checkServerURL(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("checkServerURL(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("checkServerURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestServers_Defaults(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s.yaml": "servers:\n  z:\n    url: https://z.example.org\n  a:\n    urls: [https://a1.example.org, https://a2.example.org/]\n"})
	s := mustLoad(t, dir)
	srvs := s.Servers()
	if len(srvs) != 2 || srvs[0].Identifier != "a" || srvs[1].Identifier != "z" {
		t.Fatalf("Servers() = %+v, want sorted a, z", srvs)
	}
	for _, srv := range srvs {
		if !srv.TLSVerify || srv.Timeout != DefaultServerTimeout || srv.CAFile != "" {
			t.Errorf("%s: defaults = %+v", srv.Identifier, srv)
		}
	}
	if got := srvs[0].URLs; len(got) != 2 || got[1] != "https://a2.example.org" {
		t.Errorf("URLs = %v", got)
	}
}
