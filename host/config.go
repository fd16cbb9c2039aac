package host

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	// TLS makes the gateway serve HTTPS on Listen with this certificate
	// (default: plain HTTP). The files reload; switching TLS on or off
	// needs a restart.
	TLS *TLSConfig `yaml:"tls"`
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
	// filesSum identifies the content of the files the config names and
	// reads at load (TLS certificates, keys and CAs, upstream_tls.ca_file):
	// a certificate renewed under an unchanged config file is a change too.
	filesSum [32]byte
}

// TLSConfig is the certificate of a listener and, optionally, the CAs its
// clients' certificates must be signed by. Paths are relative to the
// config file; the files are read and checked (readable, the key matches
// the certificate) at load and on every reload.
type TLSConfig struct {
	// CertFile is the PEM certificate, followed by its intermediates.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of the certificate.
	KeyFile string `yaml:"key_file"`
	// ClientCAFile, if set, is a PEM bundle of CAs: the listener then
	// requires a client certificate signed by one of them.
	ClientCAFile string `yaml:"client_ca_file"`

	// loaded is the key pair and client CAs read at load.
	loaded *tlsMaterial
}

// tlsMaterial is what a listener serves with; immutable once loaded.
type tlsMaterial struct {
	cert *tls.Certificate
	// clientCAs is nil when no client certificate is required.
	clientCAs *x509.CertPool
	// sum covers the bytes of the files: the same sum is the same material.
	sum [32]byte
	// withClientAuth is the handshake config when clientCAs is set; made
	// on first use from the listener's base config (see listenerTLS).
	withClientAuth struct {
		once sync.Once
		cfg  *tls.Config
	}
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
	// TLS makes the admin API HTTPS (default: plain HTTP, for a loopback
	// listener). Same keys and reload rules as the gateway's `tls`.
	TLS *TLSConfig `yaml:"tls"`
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
	// The files are read once here: their sum says whether a reload with
	// an unchanged config file still has something new to apply.
	files := sha256.New()
	if c.TLS != nil {
		problems = append(problems, c.loadTLS(c.TLS, "tls", files)...)
	}
	if c.Admin != nil && c.Admin.TLS != nil {
		problems = append(problems, c.loadTLS(c.Admin.TLS, "admin.tls", files)...)
	}
	if c.UpstreamTLS != nil && c.UpstreamTLS.CAFile != "" {
		if b, err := os.ReadFile(c.resolve(c.UpstreamTLS.CAFile)); err != nil {
			problems = append(problems, fmt.Sprintf("upstream_tls.ca_file: %v", err))
		} else {
			writeSized(files, b)
		}
	}
	files.Sum(c.filesSum[:0])
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

// loadTLS reads and checks the files of t (key the problems with field) and
// adds their bytes to sum.
func (c *Config) loadTLS(t *TLSConfig, field string, sum io.Writer) []string {
	var problems []string
	if t.CertFile == "" {
		problems = append(problems, field+".cert_file: required when "+field+" is set")
	}
	if t.KeyFile == "" {
		problems = append(problems, field+".key_file: required when "+field+" is set")
	}
	if len(problems) > 0 {
		return problems
	}
	m, err := loadTLSMaterial(c.resolve(t.CertFile), c.resolve(t.KeyFile), c.resolve(t.ClientCAFile), field)
	if err != nil {
		return []string{err.Error()}
	}
	t.loaded = m
	sum.Write(m.sum[:])
	return nil
}

// loadTLSMaterial reads a key pair and an optional client CA bundle.
func loadTLSMaterial(certFile, keyFile, clientCAFile, field string) (*tlsMaterial, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("%s.cert_file: %w", field, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("%s.key_file: %w", field, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: cert_file %s and key_file %s: %w", field, certFile, keyFile, err)
	}
	h := sha256.New()
	writeSized(h, certPEM)
	writeSized(h, keyPEM)
	m := &tlsMaterial{cert: &cert}
	if clientCAFile != "" {
		caPEM, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.client_ca_file: %w", field, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("%s.client_ca_file %s: no PEM certificate in it", field, clientCAFile)
		}
		m.clientCAs = pool
		writeSized(h, caPEM)
	}
	h.Sum(m.sum[:0])
	return m, nil
}

// writeSized writes b length-prefixed, so that no two sequences of files
// hash alike.
func writeSized(w io.Writer, b []byte) {
	fmt.Fprintf(w, "%d\x00", len(b))
	w.Write(b)
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

// namedFiles are the files the config names besides the rules and the
// plugins (certificates, keys, CA bundles), resolved; a reload reads them.
func (c *Config) namedFiles() []string {
	var out []string
	add := func(p string) {
		if p != "" {
			out = append(out, c.resolve(p))
		}
	}
	addTLS := func(t *TLSConfig) {
		if t != nil {
			add(t.CertFile)
			add(t.KeyFile)
			add(t.ClientCAFile)
		}
	}
	addTLS(c.TLS)
	if c.Admin != nil {
		addTLS(c.Admin.TLS)
	}
	if c.UpstreamTLS != nil {
		add(c.UpstreamTLS.CAFile)
	}
	return out
}

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
