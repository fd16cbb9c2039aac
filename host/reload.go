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
	RulesChanged   bool     `json:"rules_changed"`
	ConfigChanged  bool     `json:"config_changed"`
	PluginsSwapped []string `json:"plugins_swapped,omitempty"`
	// NeedsRestart lists changed settings that only a restart applies.
	NeedsRestart []string `json:"needs_restart,omitempty"`
}

// Reload re-reads the config (when it has a file), swaps changed plugins,
// then re-reads the rules. Each step is all or nothing: on error the running
// config, plugins and rules stay in force and the error is returned.
func (s *Server) Reload(ctx context.Context, req ReloadRequest) (ReloadResult, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	res, err := s.reloadLocked(ctx, req)
	s.status.mu.Lock()
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
	if err != nil {
		s.log.Error("reload failed; the running configuration stays in force", "reason", req.Reason, "err", err)
	} else if res.RulesChanged || res.ConfigChanged || len(res.PluginsSwapped) > 0 {
		s.log.Info("reloaded", "reason", req.Reason, "rules_changed", res.RulesChanged, "config_changed", res.ConfigChanged,
			"plugins_swapped", strings.Join(res.PluginsSwapped, ","), "summary", s.gw.rules.Load().Summary())
	}
	for _, n := range res.NeedsRestart {
		s.log.Warn("setting changed but needs a restart; the old value stays in force", "setting", n)
	}
	return res, err
}

func (s *Server) reloadLocked(ctx context.Context, req ReloadRequest) (ReloadResult, error) {
	var res ReloadResult
	cfg := s.cfg
	if s.opts.ConfigPath != "" {
		next, err := LoadConfig(s.opts.ConfigPath)
		if err != nil {
			return res, err
		}
		if next.sum != s.cfg.sum {
			res.NeedsRestart = restartOnly(s.cfg, next)
			// Listen addresses keep their running values: the listeners
			// are open.
			next.Listen, next.Admin = s.cfg.Listen, s.cfg.Admin
			cfg = next
		}
	}
	rt := s.gw.runtime.Load()
	if cfg != s.cfg {
		var err error
		if rt, err = newRuntime(cfg, s.log); err != nil {
			return res, err
		}
	}

	// Load the rules against the schemas the plugins will have after this
	// reload: swap plugins first, each checked against the new rules.
	set, loadErr := rules.Load(cfg.RulesPath(), s.plugins.descriptions())
	exes := cfg.PluginExecutables(s.opts.DefaultHandler)
	for id, exe := range exes {
		slot, ok := s.plugins.slots[id]
		if !ok {
			res.NeedsRestart = append(res.NeedsRestart, "plugins."+id+" (new handler)")
			continue
		}
		cur := slot.cur.Load()
		if !req.Plugins && cur != nil && !pluginChanged(cur, exe) {
			continue
		}
		check := func(d plugin.Description) error {
			descs := s.plugins.descriptions()
			descs[id] = d
			_, err := rules.Load(cfg.RulesPath(), descs)
			return err
		}
		if err := s.plugins.swap(ctx, id, exe, check); err != nil {
			return res, fmt.Errorf("plugin %s: %w", id, err)
		}
		res.PluginsSwapped = append(res.PluginsSwapped, id)
	}
	if len(res.PluginsSwapped) > 0 {
		set, loadErr = rules.Load(cfg.RulesPath(), s.plugins.descriptions())
	}
	if loadErr != nil {
		return res, fmt.Errorf("rules %s: %w", cfg.RulesPath(), loadErr)
	}
	if cur := s.gw.rules.Load(); cur == nil || cur.Hash() != set.Hash() || len(res.PluginsSwapped) > 0 {
		if err := s.plugins.configure(ctx, set.Servers()); err != nil {
			return res, err
		}
		s.gw.rules.Store(set)
		s.status.loaded(set)
		res.RulesChanged = cur == nil || cur.Hash() != set.Hash()
	}
	if cfg != s.cfg {
		res.ConfigChanged = true
		s.gw.runtime.Store(rt)
		s.cfg = cfg
	}
	return res, nil
}

// restartOnly lists the settings whose change needs a restart.
func restartOnly(old, next *Config) []string {
	var out []string
	if old.Listen != next.Listen {
		out = append(out, "listen")
	}
	oa, na := "", ""
	if old.Admin != nil {
		oa = old.Admin.Listen + "\x00" + old.Admin.Token
	}
	if next.Admin != nil {
		na = next.Admin.Listen + "\x00" + next.Admin.Token
	}
	if oa != na {
		out = append(out, "admin")
	}
	return out
}

// pluginChanged reports whether the configured executable differs from the
// running one: another path or checksum, or the file's content changed.
func pluginChanged(cur *pluginInstance, exe PluginConfig) bool {
	if cur.exe.Path != exe.Path || !strings.EqualFold(cur.exe.SHA256, exe.SHA256) {
		return true
	}
	sum, err := fileSHA256(exe.Path)
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

// statusReport is the body of GET /admin/status.
type statusReport struct {
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
	Plugins      []pluginStatus    `json:"plugins"`
	Requests     map[string]int64  `json:"requests"`
	RuleErrors   map[string]uint64 `json:"rule_eval_errors,omitempty"`
}

// Status reports the rule set, reloads and plugins.
func (s *Server) Status() statusReport {
	var r statusReport
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
	if set := s.gw.rules.Load(); set != nil {
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
