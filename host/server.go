package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edumfa-federation/edumfa-federation/plugin"
	"github.com/edumfa-federation/edumfa-federation/rules"
)

// Server lifecycle:
//
//	New: read config, start handler plugins (Describe), load rules checked
//	  against their schemas, Configure the plugins with the rule set's servers
//	Serve: listen (gateway and optional admin, HTTP or HTTPS), watch rules,
//	  config, plugin executables and certificates; reload on a change that
//	  matters (see fingerprint), SIGHUP or POST /admin/reload
//	Shutdown: stop listening, drain requests, stop the plugins.

// shutdownTimeout bounds draining in-flight requests at exit.
const shutdownTimeout = 20 * time.Second

// Options are how a caller (the command, the dev mode, tests) runs a Server.
type Options struct {
	// ConfigPath is the gateway config file; it is watched for changes.
	ConfigPath string
	// Config, if set, is used instead of reading ConfigPath at start (the
	// dev mode builds one in memory). Reloads still read ConfigPath when set.
	Config *Config
	// DefaultHandler is the Federation handler executable used when the
	// config's `plugins` names none (see FindHandlerExecutable).
	DefaultHandler string
	// Logger for everything; default slog.Default().
	Logger *slog.Logger
	// DisableWatch turns off file watching (reloads then only come from
	// SIGHUP and the admin API).
	DisableWatch bool
}

// Server is a running gateway.
type Server struct {
	opts    Options
	log     *slog.Logger
	gw      *Gateway
	plugins *pluginHost
	// lastWatchCheck is when (unix ns) the watcher last began a check
	// after events or on its rescan, for tests that assert a change was
	// looked at and ignored.
	lastWatchCheck atomic.Int64

	reloadMu sync.Mutex // one reload at a time
	cfg      *Config    // current config, guarded by reloadMu
	status   reloadStatus
	// draining are replaced rule sets with requests still running, whose
	// servers stay configured until they finish; guarded by reloadMu.
	draining []*liveSet
	// adminToken is the bearer token of the admin API ("" for none); it
	// reloads with the config.
	adminToken atomic.Pointer[string]
	// tlsCur and adminTLSCur are the certificates the listeners serve;
	// nil for a plain HTTP listener. A reload swaps them.
	tlsCur      atomic.Pointer[tlsMaterial]
	adminTLSCur atomic.Pointer[tlsMaterial]
	// lastAttempt is the fingerprint of the files as the last reload read
	// them (whether it succeeded or not): the watcher reloads only when the
	// files differ from it. Guarded by reloadMu.
	lastAttempt fingerprint
	// servedFiles digests the CA, certificate and key files of the rule
	// set's servers as the plugins were last configured with them: new
	// content under unchanged rule files is pushed too. Guarded by reloadMu.
	servedFiles string
	// exeSums caches the executables' checksums; guarded by reloadMu.
	exeSums exeSumCache

	// life ends at shutdown; bg counts the goroutines bound to it.
	life     context.Context
	stopLife context.CancelFunc
	bg       sync.WaitGroup

	httpSrv  *http.Server
	adminSrv *http.Server
	ln       net.Listener
	adminLn  net.Listener
}

// New starts the plugins and loads the rules; it does not listen yet.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg := opts.Config
	if cfg == nil {
		var err error
		if cfg, err = LoadConfig(opts.ConfigPath); err != nil {
			return nil, err
		}
	}
	s := &Server{opts: opts, log: opts.Logger, cfg: cfg, exeSums: exeSumCache{}}
	// The server's lifecycle context: it ends at shutdown, not with the
	// caller's ctx, which only bounds starting.
	s.life, s.stopLife = context.WithCancel(context.Background())
	s.setAdminToken(cfg)
	s.plugins = newPluginHost(opts.Logger)
	s.plugins.restartCheck = func(id string, d plugin.Description) error {
		if set := s.gw.currentSet(); set != nil {
			return checkSetAgainst(set, id, d)
		}
		return nil
	}
	s.gw = &Gateway{log: opts.Logger, plugins: s.plugins}
	// The files as they are before anything is read from them: a change
	// made while the gateway starts differs from this, and the watcher's
	// first check reloads it.
	start := s.currentFingerprint()
	rt, err := newRuntime(cfg, opts.Logger)
	if err != nil {
		s.stopLife()
		return nil, err
	}
	s.gw.runtime.Store(rt)
	if err := s.plugins.startAll(ctx, cfg.PluginExecutables(opts.DefaultHandler)); err != nil {
		s.stopLife()
		return nil, err
	}
	set, err := rules.Load(cfg.RulesPath(), s.plugins.descriptions())
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("load rules from %s: %w", cfg.RulesPath(), err)
	}
	start.servers = serverFilesDigest(set.Servers())
	if err := s.plugins.configure(ctx, set.Servers()); err != nil {
		s.Close()
		return nil, err
	}
	s.servedFiles = start.servers
	if opts.ConfigPath != "" && start.config != cfg.sum {
		// The config given was read before the file changed (or from
		// elsewhere): leave the last attempt unknown, so the first check
		// reloads.
		start = fingerprint{}
	}
	s.lastAttempt = start
	s.gw.rules.Store(newLiveSet(set))
	s.status.loaded(set)
	s.log.Info("rules loaded", "path", cfg.RulesPath(), "summary", set.Summary())
	return s, nil
}

func newRuntime(cfg *Config, log *slog.Logger) (*runtimeConfig, error) {
	up, err := newUpstream(cfg, log)
	if err != nil {
		return nil, err
	}
	return &runtimeConfig{
		cfg: cfg, upstream: up, trusted: trustedProxies(cfg.trusted),
		deadline: cfg.DeadlineOrDefault(), maxHops: cfg.MaxHopsOrDefault(),
	}, nil
}

// Handler is the gateway's HTTP handler (for tests that serve it
// themselves).
func (s *Server) Handler() http.Handler { return s.gw }

// Listen opens the gateway's (and the admin API's) listeners. Addr and
// AdminAddr are valid afterwards.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	s.httpSrv = &http.Server{
		Handler:           s.gw,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if t := s.cfg.TLS; t != nil {
		s.tlsCur.Store(t.loaded)
		s.httpSrv.TLSConfig = listenerTLS(&s.tlsCur)
	}
	if a := s.cfg.Admin; a != nil {
		aln, err := net.Listen("tcp", a.Listen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin listen %s: %w", a.Listen, err)
		}
		s.adminLn = aln
		s.adminSrv = &http.Server{
			Handler:           s.adminHandler(),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
		if a.TLS != nil {
			s.adminTLSCur.Store(a.TLS.loaded)
			s.adminSrv.TLSConfig = listenerTLS(&s.adminTLSCur)
		}
	}
	return nil
}

// listenerTLS is the TLS configuration of a listener whose certificate and
// client CAs reload: each handshake uses the material cur holds then, so a
// swap needs no restart and connections already open keep theirs.
func listenerTLS(cur *atomic.Pointer[tlsMaterial]) *tls.Config {
	base := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return cur.Load().cert, nil
		},
	}
	// Client CAs are not a callback in crypto/tls: a handshake that must
	// verify a client certificate gets a config of its own. It is cloned
	// from base once net/http has set base up (ALPN for HTTP/2), which is
	// before the first handshake.
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		m := cur.Load()
		if m.clientCAs == nil {
			return nil, nil
		}
		m.withClientAuth.once.Do(func() {
			c := base.Clone()
			c.GetConfigForClient = nil
			c.ClientAuth = tls.RequireAndVerifyClientCert
			c.ClientCAs = m.clientCAs
			m.withClientAuth.cfg = c
		})
		return m.withClientAuth.cfg, nil
	}
	return base
}

// serveOn serves srv on ln, with TLS when srv has a TLS configuration.
func serveOn(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(ln, "", "") // the certificate comes from TLSConfig
	}
	return srv.Serve(ln)
}

// applyTLS puts the certificates of cfg in force on the listeners that
// serve TLS and returns the names of those that changed. Called with
// reloadMu held.
func (s *Server) applyTLS(cfg *Config) []string {
	var changed []string
	swap := func(name string, cur *atomic.Pointer[tlsMaterial], t *TLSConfig) {
		old := cur.Load()
		if old == nil || t == nil || t.loaded == nil || t.loaded.sum == old.sum {
			return
		}
		cur.Store(t.loaded)
		changed = append(changed, name)
		s.log.Info("certificate reloaded", append([]any{"listener", name}, certAttrs(t.loaded.cert)...)...)
	}
	swap("tls", &s.tlsCur, cfg.TLS)
	if cfg.Admin != nil {
		swap("admin.tls", &s.adminTLSCur, cfg.Admin.TLS)
	}
	return changed
}

// certAttrs names a certificate in a log line.
func certAttrs(c *tls.Certificate) []any {
	if c == nil || c.Leaf == nil {
		return nil
	}
	return []any{"subject", c.Leaf.Subject.String(), "serial", c.Leaf.SerialNumber.Text(16), "not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339)}
}

// Addr is the gateway's listen address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// AdminAddr is the admin API's address, "" without one.
func (s *Server) AdminAddr() string {
	if s.adminLn == nil {
		return ""
	}
	return s.adminLn.Addr().String()
}

// Serve serves until ctx ends, then shuts down gracefully: listeners close,
// requests in flight finish (bounded), plugins stop.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			s.Close()
			return err
		}
	}
	// Read before Serve runs: net/http sets a nil TLSConfig itself.
	gwTLS, adminTLS := s.httpSrv.TLSConfig != nil, s.adminSrv != nil && s.adminSrv.TLSConfig != nil
	errc := make(chan error, 2)
	go func() { errc <- serveOn(s.httpSrv, s.ln) }()
	if s.adminSrv != nil {
		go func() { errc <- serveOn(s.adminSrv, s.adminLn) }()
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if !s.opts.DisableWatch {
		go s.watch(watchCtx)
	}
	s.log.Info("gateway listening", "addr", s.Addr(), "admin", s.AdminAddr(), "upstream", s.cfg.Upstream,
		"tls", gwTLS, "admin_tls", adminTLS)
	var serveErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	}
	stopWatch()
	s.shutdown()
	return serveErr
}

func (s *Server) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if s.adminSrv != nil {
		_ = s.adminSrv.Shutdown(ctx)
	}
	if err := s.httpSrv.Shutdown(ctx); err != nil {
		s.log.Warn("requests still running at shutdown", "err", err)
	}
	s.Close()
	s.log.Info("gateway stopped")
}

// Close stops the plugins (of a Server that was never served, or at the end
// of Serve). A reload in progress finishes first; none starts afterwards.
func (s *Server) Close() {
	s.reloadMu.Lock()
	s.stopLife()
	s.reloadMu.Unlock()
	s.bg.Wait()
	s.plugins.stopAll()
}

func (s *Server) setAdminToken(cfg *Config) {
	token := ""
	if cfg.Admin != nil {
		token = cfg.Admin.Token
	}
	s.adminToken.Store(&token)
}
