package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edumfa-federation/edumfa-federation/plugin"
	"github.com/edumfa-federation/edumfa-federation/rules"
)

// reloadStatus is what /admin/status reports about reloads.
type reloadStatus struct {
	mu          sync.Mutex
	version     string // the rule set's hash
	files       []string
	summary     string
	loadedAt    time.Time
	lastReload  time.Time
	lastError   string
	reloads     int
	failures    int
	needRestart string
}

func (r *reloadStatus) loaded(set *rules.Set) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.version, r.files, r.summary = set.Hash(), set.Files(), set.Summary()
	r.loadedAt = time.Now()
}

// ReloadRequest says what a reload looks at.
type ReloadRequest struct {
	// Plugins forces a plugin swap even if the executables look unchanged.
	Plugins bool
	// Reason is logged ("SIGHUP", "admin", "file change").
	Reason string
}

// ReloadResult says what a reload did.
type ReloadResult struct {
	RulesChanged  bool `json:"rules_changed"`
	ConfigChanged bool `json:"config_changed"`
	// ServerFilesChanged: the CA, certificate or key file of a server
	// changed under unchanged rule files, and was pushed to the plugins.
	ServerFilesChanged bool     `json:"server_files_changed,omitempty"`
	PluginsSwapped     []string `json:"plugins_swapped,omitempty"`
	// TLSReloaded names the listeners ("tls", "admin.tls") that now serve
	// a new certificate.
	TLSReloaded []string `json:"tls_reloaded,omitempty"`
	// NeedsRestart lists changed settings that only a restart applies.
	NeedsRestart []string `json:"needs_restart,omitempty"`
}

func (r ReloadResult) changed() bool {
	return r.RulesChanged || r.ConfigChanged || r.ServerFilesChanged || len(r.PluginsSwapped) > 0 || len(r.TLSReloaded) > 0
}

// Reload re-reads the config (when it has a file), swaps changed plugins,
// then re-reads the rules. It is all or nothing for the config and the
// rules: on error the running config and rules stay in force and the error
// is returned (and shown in Status). A plugin swap is checked against the
// rules that will be in force after it (the new files, or the running set
// when the new files do not load) and stays when only the rules fail.
// Reload always runs (SIGHUP, the admin API); the watcher uses
// reloadIfChanged.
func (s *Server) Reload(ctx context.Context, req ReloadRequest) (ReloadResult, error) {
	res, _, err := s.reload(ctx, req, true)
	return res, err
}

// reloadIfChanged reloads only when the files differ from what the last
// reload read (see fingerprint): a file written beside the config, or a
// periodic rescan that finds nothing new, reloads nothing, and a broken
// file is reported once, not once per event. ran says whether it reloaded.
func (s *Server) reloadIfChanged(ctx context.Context, reason string) (ran bool) {
	_, ran, _ = s.reload(ctx, ReloadRequest{Reason: reason}, false)
	return ran
}

func (s *Server) reload(ctx context.Context, req ReloadRequest, explicit bool) (ReloadResult, bool, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.life.Err() != nil {
		return ReloadResult{}, false, errors.New("reload: the gateway is stopping")
	}
	// Taken before anything is read, so that a change made while this
	// reload runs differs from it and is seen by the next check.
	fp := s.currentFingerprint()
	if !explicit && fp == s.lastAttempt {
		return ReloadResult{}, false, nil
	}
	res, served, err := s.reloadLocked(ctx, req)
	if err == nil {
		// The set in force now is the one whose files were digested
		// before the plugins read them.
		fp.servers = served
	}
	s.lastAttempt = fp
	s.status.mu.Lock()
	hadError := s.status.lastError != ""
	s.status.lastReload = time.Now()
	if err != nil {
		s.status.failures++
		s.status.lastError = err.Error()
	} else {
		s.status.reloads++
		s.status.lastError = ""
		s.status.needRestart = strings.Join(res.NeedsRestart, ", ")
	}
	s.status.mu.Unlock()
	attrs := func() []any {
		return []any{"reason", req.Reason, "rules_changed", res.RulesChanged, "config_changed", res.ConfigChanged,
			"server_files_changed", res.ServerFilesChanged, "plugins_swapped", strings.Join(res.PluginsSwapped, ","),
			"tls_reloaded", strings.Join(res.TLSReloaded, ","), "summary", s.gw.currentSet().Summary()}
	}
	switch {
	case err != nil:
		s.log.Error("reload failed; the running configuration stays in force", "reason", req.Reason, "err", err)
		if len(res.PluginsSwapped) > 0 {
			s.log.Info("plugins swapped by the failed reload stay (they fit the rules in force)", "plugins_swapped", strings.Join(res.PluginsSwapped, ","))
		}
	case hadError:
		s.log.Info("reloaded; the last error is cleared", attrs()...)
	case res.changed():
		s.log.Info("reloaded", attrs()...)
	case explicit:
		s.log.Info("reload: nothing changed", "reason", req.Reason)
	default:
		s.log.Debug("reload: nothing changed", "reason", req.Reason)
	}
	for _, n := range res.NeedsRestart {
		s.log.Warn("setting changed but needs a restart; the old value stays in force", "setting", n)
	}
	return res, true, err
}

// reloadLocked does the reload; served is the digest of the server files
// of the rule set in force after it (valid when err is nil).
func (s *Server) reloadLocked(ctx context.Context, req ReloadRequest) (res ReloadResult, served string, err error) {
	cfg := s.cfg
	if s.opts.ConfigPath != "" {
		next, err := LoadConfig(s.opts.ConfigPath)
		if err != nil {
			return res, "", err
		}
		// Compared with the running listeners on every reload, not only
		// when the file changed: the report stays until the file matches
		// them again or the gateway restarts.
		res.NeedsRestart = restartOnly(s.cfg, next)
		// A renewed certificate (or upstream CA) under an unchanged
		// config file is a new config too.
		if next.sum != s.cfg.sum || next.filesSum != s.cfg.filesSum {
			if err := keepListeners(s.cfg, next); err != nil {
				return res, "", err
			}
			cfg = next
		}
	}
	rt := s.gw.runtime.Load()
	if cfg != s.cfg {
		if rt, err = newRuntime(cfg, s.log); err != nil {
			return res, "", err
		}
	}

	// Load the rules against the schemas the plugins will have after this
	// reload: swap plugins first, each checked against the rules.
	cur := s.gw.currentSet()
	set, loadErr := rules.Load(cfg.RulesPath(), s.plugins.descriptions())
	exes := cfg.PluginExecutables(s.opts.DefaultHandler)
	for _, id := range sortedKeys(exes) {
		exe := exes[id]
		slot, ok := s.plugins.slots[id]
		if !ok {
			res.NeedsRestart = append(res.NeedsRestart, "plugins."+id+" (new handler)")
			continue
		}
		inst := slot.cur.Load()
		if !req.Plugins && inst != nil && !pluginChanged(inst, exe, s.exeSums) {
			continue
		}
		check := func(d plugin.Description) error {
			descs := s.plugins.descriptions()
			descs[id] = d
			_, err := rules.Load(cfg.RulesPath(), descs)
			if err == nil {
				return nil
			}
			if loadErr == nil {
				return fmt.Errorf("the rules do not load with it: %w", err)
			}
			// The rule files do not load with the running plugin either:
			// the running set stays in force, so that is what the new
			// plugin must accept.
			return checkSetAgainst(cur, id, d)
		}
		if err := s.plugins.swap(ctx, id, exe, check); err != nil {
			return res, "", fmt.Errorf("plugin %s: %w", id, err)
		}
		res.PluginsSwapped = append(res.PluginsSwapped, id)
	}
	if len(res.PluginsSwapped) > 0 {
		set, loadErr = rules.Load(cfg.RulesPath(), s.plugins.descriptions())
	}
	if loadErr != nil {
		return res, "", fmt.Errorf("load rules from %s: %w", cfg.RulesPath(), loadErr)
	}
	// Digested before the plugins read the files: a change after this is a
	// change for the next check.
	served = serverFilesDigest(set.Servers())
	setChanged := cur == nil || cur.Hash() != set.Hash()
	publish := setChanged || len(res.PluginsSwapped) > 0
	if publish || served != s.servedFiles {
		// The servers go to the plugins before the set is published, so no
		// request on the new set finds its server missing; those of the
		// sets still finishing requests stay until they are done. Servers
		// whose files changed get new clients in the plugin (it compares
		// the files' content, not only their names).
		if err := s.plugins.configure(ctx, s.servedServers(set)); err != nil {
			// An old set's server may no longer be valid (its CA file
			// removed with it): the new set's servers alone must do.
			s.log.Warn("the plugins refused the old and new servers together; configuring the new ones only", "err", err)
			if err := s.plugins.configure(ctx, set.Servers()); err != nil {
				return res, "", err
			}
		}
		res.ServerFilesChanged = !setChanged && served != s.servedFiles
		s.servedFiles = served
	}
	if publish {
		old := s.gw.rules.Swap(newLiveSet(set))
		if old != nil {
			s.retireSet(old)
		}
		s.status.loaded(set)
		res.RulesChanged = setChanged
	}
	if cfg != s.cfg {
		res.ConfigChanged = true
		s.gw.runtime.Store(rt)
		s.cfg = cfg
		s.setAdminToken(cfg)
		res.TLSReloaded = s.applyTLS(cfg)
	}
	return res, served, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// restartOnly lists the settings of next that differ from the running
// listeners: the gateway's and the admin API's addresses (and whether there
// is an admin listener at all), and whether each serves TLS. Everything
// else reloads, certificates included.
func restartOnly(running, next *Config) []string {
	var out []string
	if running.Listen != next.Listen {
		out = append(out, "listen")
	}
	if (running.TLS == nil) != (next.TLS == nil) {
		out = append(out, "tls")
	}
	ra, na := "", ""
	if running.Admin != nil {
		ra = running.Admin.Listen
	}
	if next.Admin != nil {
		na = next.Admin.Listen
	}
	if ra != na {
		out = append(out, "admin.listen")
	}
	if running.Admin != nil && next.Admin != nil && (running.Admin.TLS == nil) != (next.Admin.TLS == nil) {
		out = append(out, "admin.tls")
	}
	return out
}

// keepListeners gives next the running listen addresses (the listeners are
// open and stay so), their TLS on or off as they run (next's certificates
// when both serve TLS), and the admin token that goes with the running
// admin listener: next's token, or the running one when next drops the
// admin block. A listener beyond loopback never runs without a token.
func keepListeners(running, next *Config) error {
	next.Listen = running.Listen
	if (running.TLS == nil) != (next.TLS == nil) {
		next.TLS = running.TLS
	}
	if running.Admin == nil {
		next.Admin = nil // enabling the admin API needs a restart
		return nil
	}
	token := running.Admin.Token
	adminTLS := running.Admin.TLS
	if next.Admin != nil {
		token = next.Admin.Token
		if (adminTLS == nil) == (next.Admin.TLS == nil) {
			adminTLS = next.Admin.TLS
		}
	}
	if token == "" && !isLoopbackListen(running.Admin.Listen) {
		return fmt.Errorf("config %s: admin.token: required because the running admin listener %q is not a loopback address", next.file, running.Admin.Listen)
	}
	next.Admin = &AdminConfig{Listen: running.Admin.Listen, Token: token, TLS: adminTLS}
	return nil
}

// pluginChanged reports whether the configured executable differs from the
// running one: another path or checksum, or the file's content changed.
func pluginChanged(cur *pluginInstance, exe PluginConfig, sums exeSumCache) bool {
	if cur.exe.Path != exe.Path || !strings.EqualFold(cur.exe.SHA256, exe.SHA256) {
		return true
	}
	sum, err := sums.sum(exe.Path)
	if err != nil {
		return false // unreadable now (mid-replace?): keep the running one
	}
	return cur.exeSum != "" && sum != cur.exeSum
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// StatusReport is the body of GET /admin/status: the rule set in force,
// reloads, the plugins and request counters.
type StatusReport struct {
	Rules struct {
		Version  string    `json:"version"`
		Files    []string  `json:"files"`
		Summary  string    `json:"summary"`
		LoadedAt time.Time `json:"loaded_at"`
	} `json:"rules"`
	LastReload   *time.Time        `json:"last_reload,omitempty"`
	LastError    string            `json:"last_error,omitempty"`
	Reloads      int               `json:"reloads"`
	Failures     int               `json:"reload_failures"`
	NeedsRestart string            `json:"needs_restart,omitempty"`
	Plugins      []PluginStatus    `json:"plugins"`
	Requests     map[string]int64  `json:"requests"`
	RuleErrors   map[string]uint64 `json:"rule_eval_errors,omitempty"`
}

// Status reports the rule set, reloads and plugins.
func (s *Server) Status() StatusReport {
	var r StatusReport
	s.status.mu.Lock()
	r.Rules.Version, r.Rules.Files, r.Rules.Summary, r.Rules.LoadedAt = s.status.version, s.status.files, s.status.summary, s.status.loadedAt
	if !s.status.lastReload.IsZero() {
		t := s.status.lastReload
		r.LastReload = &t
	}
	r.LastError, r.Reloads, r.Failures, r.NeedsRestart = s.status.lastError, s.status.reloads, s.status.failures, s.status.needRestart
	s.status.mu.Unlock()
	r.Plugins = s.plugins.status()
	st := &s.gw.stats
	r.Requests = map[string]int64{
		"total": st.requests.Load(), "forwarded": st.forwarded.Load(),
		"forward_errors": st.forwardErrors.Load(), "plugin_errors": st.pluginErrors.Load(),
	}
	if set := s.gw.currentSet(); set != nil {
		for _, rule := range set.All() {
			if n := rule.EvalErrors(); n > 0 {
				if r.RuleErrors == nil {
					r.RuleErrors = map[string]uint64{}
				}
				r.RuleErrors[rule.Name] = n
			}
		}
	}
	sort.Strings(r.Rules.Files)
	return r
}

var errUnauthorized = errors.New("unauthorized")
