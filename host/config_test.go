package host

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
		check   func(t *testing.T, c *Config)
	}{
		{name: "minimal with defaults", yaml: "listen: 127.0.0.1:8080\nrules: rules/\n", check: func(t *testing.T, c *Config) {
			if c.DeadlineOrDefault() != 15*time.Second || c.MaxHopsOrDefault() != 3 || c.Admin != nil {
				t.Fatalf("defaults: %+v", c)
			}
			if got := c.PluginExecutables("/opt/fed/federation-handler")["Federation"].Path; got != "/opt/fed/federation-handler" {
				t.Fatalf("default plugin %q", got)
			}
			if c.RulesPath() != "/etc/fed/rules" {
				t.Fatalf("rules path %q", c.RulesPath())
			}
		}},
		{name: "full", yaml: `listen: ":8443"
upstream: https://parent.example.org/
rules: /etc/rules
plugins:
  Federation: {path: ./fh, sha256: abc}
trusted_proxies: [10.0.0.0/8, 192.0.2.1, "::1"]
deadline: 3s
max_hops: 0
admin: {listen: "127.0.0.1:9090"}
`, check: func(t *testing.T, c *Config) {
			if c.Upstream != "https://parent.example.org" || c.DeadlineOrDefault() != 3*time.Second || c.MaxHopsOrDefault() != 0 {
				t.Fatalf("%+v", c)
			}
			if p := c.PluginExecutables("x")["Federation"]; p.Path != "/etc/fed/fh" || p.SHA256 != "abc" {
				t.Fatalf("plugin %+v", p)
			}
			if len(c.trusted) != 3 {
				t.Fatalf("trusted %v", c.trusted)
			}
		}},
		{name: "plugin as plain path", yaml: "listen: :1\nrules: r\nplugins:\n  Federation: /usr/lib/fh\n", check: func(t *testing.T, c *Config) {
			if p := c.PluginExecutables("x")["Federation"]; p.Path != "/usr/lib/fh" {
				t.Fatalf("plugin %+v", p)
			}
		}},
		{name: "unknown key", yaml: "listen: :1\nrules: r\nupstrem: http://x\n", wantErr: "field upstrem not found"},
		{name: "unknown plugin key", yaml: "listen: :1\nrules: r\nplugins:\n  Federation: {path: x, sha: y}\n", wantErr: "field sha not found"},
		{name: "missing listen and rules", yaml: "upstream: http://x\n", wantErr: "listen: required"},
		{name: "bad upstream", yaml: "listen: :1\nrules: r\nupstream: ftp://x\n", wantErr: "not an http(s) URL"},
		{name: "bad proxy", yaml: "listen: :1\nrules: r\ntrusted_proxies: [10.0.0.0/33]\n", wantErr: "not a CIDR"},
		{name: "bad duration", yaml: "listen: :1\nrules: r\ndeadline: soon\n", wantErr: "not a duration"},
		{name: "admin beyond loopback needs token", yaml: "listen: :1\nrules: r\nadmin: {listen: \"0.0.0.0:9090\"}\n", wantErr: "admin.token: required"},
		{name: "admin on loopback name", yaml: "listen: :1\nrules: r\nadmin: {listen: \"localhost:9090\"}\n"},
		{name: "log level", yaml: "listen: :1\nrules: r\nlog_level: loud\n", wantErr: "log_level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.yaml), "/etc/fed/gateway.yaml")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
