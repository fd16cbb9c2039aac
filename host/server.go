package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edumfa-federation/edumfa-federation/rules"
)

// Server lifecycle:
//
//	New: read config, start handler plugins (Describe), load rules checked
//	  against their schemas, Configure the plugins with the rule set's servers
//	Serve: listen (gateway and optional admin), watch rules, config and
//	  plugin executables; reload on change, SIGHUP or POST /admin/reload
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

	reloadMu sync.Mutex // one reload at a time
	cfg      *Config    // current config, guarded by reloadMu
	status   reloadStatus
	// draining are replaced rule sets with requests still running, whose
	// servers stay configured until they finish; guarded by reloadMu.
	draining []*liveSet
	// adminToken is the bearer token of the admin API ("" for none); it
	// reloads with the config.
	adminToken atomic.Pointer[string]

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
	s := &Server{opts: opts, log: opts.Logger, cfg: cfg}
	// The server's lifecycle context: it ends at shutdown, not with the
	// caller's ctx, which only bounds starting.
	s.life, s.stopLife = context.WithCancel(context.Background())
	s.setAdminToken(cfg)
	s.plugins = newPluginHost(opts.Logger)
	s.gw = &Gateway{log: opts.Logger, plugins: s.plugins}
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
		return nil, fmt.Errorf("rules %s: %w", cfg.RulesPath(), err)
	}
	if err := s.plugins.configure(ctx, set.Servers()); err != nil {
		s.Close()
		return nil, err
	}
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
	if a := s.cfg.Admin; a != nil {
		aln, err := net.Listen("tcp", a.Listen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin listen %s: %w", a.Listen, err)
		}
		s.adminLn = aln
		s.adminSrv = &http.Server{Handler: s.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
	}
	return nil
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
	errc := make(chan error, 2)
	go func() { errc <- s.httpSrv.Serve(s.ln) }()
	if s.adminSrv != nil {
		go func() { errc <- s.adminSrv.Serve(s.adminLn) }()
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if !s.opts.DisableWatch {
		go s.watch(watchCtx)
	}
	s.log.Info("gateway listening", "addr", s.Addr(), "admin", s.AdminAddr(), "upstream", s.cfg.Upstream)
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
