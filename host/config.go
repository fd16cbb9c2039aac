package host

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults of the gateway configuration, stated once.
const (
	// DefaultDeadline bounds one client request end to end (parent, rules,
	// every forward).
	DefaultDeadline = 15 * time.Second
	// DefaultMaxHops is how many federation gateways a request may already
	// have passed before this one refuses it as a loop.
	DefaultMaxHops = 3
	// DefaultHandlerExecutable is the plugin started for the Federation
	// handler when `plugins` does not name one: it lives beside the host.
	DefaultHandlerExecutable = "federation-handler"
)

// Config is the gateway's configuration file (`serve --config FILE`).
type Config struct {
	// Listen is the address the gateway serves the eduMFA API on, e.g.
	// "127.0.0.1:8080" or ":443".
	Listen string `yaml:"listen"`
	// Upstream is the base URL of the parent eduMFA (optional). Requests no
	// rule answers go there unchanged.
	Upstream string `yaml:"upstream"`
	// UpstreamTimeout bounds one call to the parent (default: the deadline).
	UpstreamTimeout Duration `yaml:"upstream_timeout"`
	// UpstreamTLS configures verification of the parent's certificate.
	UpstreamTLS *UpstreamTLS `yaml:"upstream_tls"`
	// Rules is the rule file or directory; relative to the config file.
	Rules string `yaml:"rules"`
	// Plugins maps a handler identifier to its executable. Default:
	// Federation -> federation-handler beside the host binary.
	Plugins map[string]PluginConfig `yaml:"plugins"`
	// TrustedProxies are CIDRs (or single addresses) of reverse proxies in
	// front of the gateway whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Deadline bounds one request end to end (default 15s).
	Deadline Duration `yaml:"deadline"`
	// MaxHops refuses requests that already passed this many gateways
	// (default 3).
	MaxHops *int `yaml:"max_hops"`
	// Admin enables the admin API on its own listener.
	Admin *AdminConfig `yaml:"admin"`
	// LogLevel is debug, info (default), warn or error.
	LogLevel string `yaml:"log_level"`

	// file is where the config was read from (for relative paths).
	file string
	// trusted is TrustedProxies parsed.
	trusted []netip.Prefix
	// sum identifies the file content: an unchanged file reloads to nothing.
	sum [32]byte
}

// UpstreamTLS configures the connection to the parent.
type UpstreamTLS struct {
	// Verify checks the parent's certificate (default true).
	Verify *bool `yaml:"verify"`
	// CAFile is a PEM bundle of CAs to trust for the parent.
	CAFile string `yaml:"ca_file"`
}

// PluginConfig names a handler plugin executable. In YAML it is either a
// plain path or a mapping with path and sha256.
type PluginConfig struct {
	// Path of the executable; relative to the config file.
	Path string `yaml:"path"`
	// SHA256 is the expected hex checksum of the executable (optional).
	SHA256 string `yaml:"sha256"`
}

// UnmarshalYAML accepts `Federation: ./bin/federation-handler` as well as the
// mapping form.
func (p *PluginConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		p.Path = n.Value
		return nil
	}
	type plain PluginConfig
	var v plain
	if err := decodeStrict(n, &v); err != nil {
		return err
	}
	*p = PluginConfig(v)
	return nil
}

// AdminConfig is the admin API listener.
type AdminConfig struct {
	// Listen is the admin address, e.g. "127.0.0.1:9090".
	Listen string `yaml:"listen"`
	// Token is the bearer token admin calls must carry; required when
	// Listen is not a loopback address.
	Token string `yaml:"token"`
}

// Duration is a time.Duration written as "15s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses Go duration strings.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (write e.g. 15s or 500ms)", n.Line, n.Value)
	}
	if v <= 0 {
		return fmt.Errorf("line %d: duration must be positive", n.Line)
	}
	*d = Duration(v)
	return nil
}

// decodeStrict decodes a node rejecting unknown keys (yaml.Node.Decode
// alone ignores them).
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// LoadConfig reads and validates the gateway configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := ParseConfig(b, path)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// ParseConfig parses configuration bytes; file is used for error messages
// and to resolve relative paths.
func ParseConfig(b []byte, file string) (*Config, error) {
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %w", file, err)
	}
	cfg.file = file
	cfg.sum = sha256.Sum256(b)
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", file, err)
	}
	return cfg, nil
}

func (c *Config) validate() error {
	var problems []string
	if c.Listen == "" {
		problems = append(problems, "listen: required (e.g. 127.0.0.1:8080)")
	}
	if c.Upstream != "" {
		u, err := url.Parse(c.Upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("upstream: %q is not an http(s) URL", c.Upstream))
		}
		c.Upstream = strings.TrimRight(c.Upstream, "/")
	}
	if c.Rules == "" {
		problems = append(problems, "rules: required (a rule file or directory)")
	}
	for _, s := range c.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			problems = append(problems, fmt.Sprintf("trusted_proxies: %v", err))
			continue
		}
		c.trusted = append(c.trusted, p)
	}
	if c.MaxHops != nil && *c.MaxHops < 0 {
		problems = append(problems, "max_hops: must be 0 or more")
	}
	for id, p := range c.Plugins {
		if p.Path == "" {
			problems = append(problems, fmt.Sprintf("plugins.%s: path required", id))
		}
	}
	if c.Admin != nil {
		if c.Admin.Listen == "" {
			problems = append(problems, "admin.listen: required when admin is set")
		} else if !isLoopbackListen(c.Admin.Listen) && c.Admin.Token == "" {
			problems = append(problems, fmt.Sprintf("admin.token: required because admin.listen %q is not a loopback address", c.Admin.Listen))
		}
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Sprintf("log_level: %q is not debug, info, warn or error", c.LogLevel))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// parsePrefix accepts "10.0.0.0/8", "192.0.2.1" and "::1".
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func isLoopbackListen(addr string) bool {
	host := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host = addr[:i]
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// DeadlineOrDefault is the per-request deadline.
func (c *Config) DeadlineOrDefault() time.Duration {
	if c.Deadline > 0 {
		return time.Duration(c.Deadline)
	}
	return DefaultDeadline
}

// MaxHopsOrDefault is the loop limit.
func (c *Config) MaxHopsOrDefault() int {
	if c.MaxHops != nil {
		return *c.MaxHops
	}
	return DefaultMaxHops
}

// resolve makes p absolute relative to the config file's directory.
func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || c.file == "" {
		return p
	}
	return filepath.Join(filepath.Dir(c.file), p)
}

// RulesPath is the rules path, resolved against the config file.
func (c *Config) RulesPath() string { return c.resolve(c.Rules) }

// PluginExecutables returns handler identifier -> executable config, with
// defaultHandler as the Federation handler when the config names none.
func (c *Config) PluginExecutables(defaultHandler string) map[string]PluginConfig {
	out := map[string]PluginConfig{}
	for id, p := range c.Plugins {
		p.Path = c.resolve(p.Path)
		out[id] = p
	}
	if _, ok := out["Federation"]; !ok {
		out["Federation"] = PluginConfig{Path: defaultHandler}
	}
	return out
}
