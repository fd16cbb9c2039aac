package host

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

const (
	// reloadDebounce collapses the burst of events one save makes (editors
	// write a temp file and rename it; a ConfigMap swap is five events).
	reloadDebounce = 250 * time.Millisecond
	// rescanInterval is the fallback for missed events (inotify overflow,
	// NFS, a watched directory that was removed and recreated).
	rescanInterval = 30 * time.Second
)

// watchedDirs are the directories whose changes trigger a reload: the rules
// directory (or a rule file's directory), the config file's directory and
// every plugin executable's directory. Directories, not files, are watched:
// a file watch dies when an editor renames a new file over it, and a
// ConfigMap update never names the rule files at all.
func (s *Server) watchedDirs() []string {
	s.reloadMu.Lock()
	cfg := s.cfg
	s.reloadMu.Unlock()
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
	if fi, err := os.Stat(rp); err == nil && fi.IsDir() {
		add(rp)
	} else {
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

// watch reloads on file changes until ctx ends.
func (s *Server) watch(ctx context.Context) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.log.Error("file watching unavailable; reload with SIGHUP or the admin API", "err", err)
		return
	}
	defer w.Close()
	watching := map[string]bool{}
	ensure := func() {
		for _, d := range s.watchedDirs() {
			if watching[d] {
				continue
			}
			if err := w.Add(d); err != nil {
				s.log.Warn("cannot watch directory", "dir", d, "err", err)
				continue
			}
			watching[d] = true
		}
	}
	ensure()

	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	rescan := time.NewTicker(rescanInterval)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				if watching[ev.Name] {
					delete(watching, ev.Name) // the watched dir itself went away
				}
			}
			debounce.Reset(reloadDebounce)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			s.log.Warn("file watch error; rescanning", "err", err)
			debounce.Reset(reloadDebounce)
		case <-debounce.C:
			_, _ = s.Reload(ctx, ReloadRequest{Reason: "file change"})
			ensure()
		case <-rescan.C:
			ensure()
			_, _ = s.Reload(ctx, ReloadRequest{Reason: "periodic rescan"})
		}
	}
}
