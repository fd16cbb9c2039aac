package host

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

const (
	// reloadDebounce collapses the burst of events one save makes (editors
	// write a temp file and rename it; a ConfigMap swap is five events).
	reloadDebounce = 250 * time.Millisecond
	// reloadDebounceMax bounds how long a steady stream of events (a busy
	// file in a watched directory) can hold a reload back.
	reloadDebounceMax = 2 * time.Second
	// rescanInterval is the fallback for missed events (inotify overflow,
	// NFS, a watched directory that was removed and recreated).
	rescanInterval = 30 * time.Second
)

// watchedDirs are the directories whose changes trigger a reload: the rules
// directory and its subdirectories (or a rule file's directory), the
// directory holding the rules path when that is a symlink (it may be
// swapped), the config file's directory and every plugin executable's
// directory. Directories, not files, are watched: a file watch dies when an
// editor renames a new file over it, and a ConfigMap update never names the
// rule files at all.
func (s *Server) watchedDirs() []string {
	cfg := s.gw.runtime.Load().cfg
	seen := map[string]bool{}
	var dirs []string
	add := func(d string) {
		if d == "" || seen[d] {
			return
		}
		seen[d] = true
		dirs = append(dirs, d)
	}
	rp := cfg.RulesPath()
	if li, err := os.Lstat(rp); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		add(filepath.Dir(rp))
	}
	if fi, err := os.Stat(rp); err == nil && fi.IsDir() {
		add(rp)
		ruleSubdirs(rp, map[string]bool{}, add)
	} else {
		// A rule file, or a path that is gone for now: its directory shows
		// it being (re)created.
		add(filepath.Dir(rp))
	}
	if s.opts.ConfigPath != "" {
		add(filepath.Dir(s.opts.ConfigPath))
	}
	for _, exe := range cfg.PluginExecutables(s.opts.DefaultHandler) {
		add(filepath.Dir(exe.Path))
	}
	return dirs
}

// ruleSubdirs adds the subdirectories rules.Load reads below dir: not dot
// entries (ConfigMap internals), symlinks followed, each real directory once.
func ruleSubdirs(dir string, visited map[string]bool, add func(string)) {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		if visited[real] {
			return
		}
		visited[real] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			add(p)
			ruleSubdirs(p, visited, add)
		}
	}
}

// watch reloads on file changes until ctx ends.
func (s *Server) watch(ctx context.Context) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.log.Error("file watching unavailable; reload with SIGHUP or the admin API", "err", err)
		return
	}
	defer w.Close()
	// real is what each watched path resolved to when it was added: a
	// watch follows the inode, so a path whose symlink was swapped to
	// another directory must be watched again.
	real := map[string]string{}
	ensure := func() {
		active := map[string]bool{}
		for _, p := range w.WatchList() {
			active[p] = true
		}
		for _, d := range s.watchedDirs() {
			r, _ := filepath.EvalSymlinks(d)
			if active[d] && real[d] == r {
				continue
			}
			if active[d] {
				_ = w.Remove(d)
			}
			if err := w.Add(d); err != nil {
				s.log.Warn("cannot watch directory", "dir", d, "err", err)
				continue
			}
			real[d] = r
		}
	}
	ensure()

	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	var pendingSince time.Time
	poke := func() {
		now := time.Now()
		if pendingSince.IsZero() {
			pendingSince = now
		}
		if now.Sub(pendingSince) < reloadDebounceMax {
			debounce.Reset(reloadDebounce)
		}
	}
	reload := func(reason string) {
		pendingSince = time.Time{}
		// Watch new directories before reading them, so a change made
		// while the reload reads is an event for the next one; and again
		// after, for directories the new config names.
		ensure()
		_, _ = s.Reload(ctx, ReloadRequest{Reason: reason})
		ensure()
	}
	rescan := time.NewTicker(rescanInterval)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-w.Events:
			if !ok {
				return
			}
			// Every event counts: filtering by name or operation misses
			// ConfigMap swaps (no event names the rule files).
			poke()
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			s.log.Warn("file watch error; rescanning", "err", err)
			poke()
		case <-debounce.C:
			reload("file change")
		case <-rescan.C:
			reload("periodic rescan")
		}
	}
}
