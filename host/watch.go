package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"gopkg.in/yaml.v3"

	"github.com/edumfa-federation/edumfa-federation/plugin"
	"github.com/edumfa-federation/edumfa-federation/rules"
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

// watchedDirs are the directories whose changes trigger a check for a
// reload: the rules directory and its subdirectories (or a rule file's
// directory), the directory holding the rules path when that is a symlink
// (it may be swapped), the config file's directory, every plugin
// executable's directory, and the directories of the certificates, keys
// and CA files the config and the servers of the rule set name (certbot
// renews by swapping symlinks there). Directories, not files, are watched:
// a file watch dies when an editor renames a new file over it, and a
// ConfigMap update never names the rule files at all.
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
	for _, f := range cfg.namedFiles() {
		add(filepath.Dir(f))
	}
	if set := s.gw.currentSet(); set != nil {
		for _, srv := range set.Servers() {
			for _, f := range serverFiles(srv) {
				add(filepath.Dir(f))
			}
		}
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
	// unwatchable warns once per directory, not on every check: the
	// warning may itself land in a log file in a watched directory.
	unwatchable := map[string]bool{}
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
				if !unwatchable[d] {
					unwatchable[d] = true
					s.log.Warn("cannot watch directory; its changes are seen by the 30 s rescan", "dir", d, "err", err)
				}
				continue
			}
			delete(unwatchable, d)
			real[d] = r
		}
	}
	ensure()
	// A change made after New read the files but before the watches were
	// added sent no event to this watcher: compare once now.
	if s.reloadIfChanged(ctx, "change during start") {
		ensure()
	}

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
		// Taken before the files are read: every write older than this
		// was looked at by this check.
		checked := time.Now()
		ensure()
		if s.reloadIfChanged(ctx, reason) {
			ensure()
		}
		s.lastWatchCheck.Store(checked.UnixNano())
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
			// ConfigMap swaps (no event names the rule files). What
			// decides is the fingerprint of the files (reloadIfChanged):
			// a log file written in a watched directory reloads nothing.
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

// fingerprint identifies the content of everything a reload reads. The
// watcher and the periodic rescan reload only when it differs from the
// fingerprint of the last reload's files, whether that reload succeeded
// or failed: events in a watched directory that touch none of these files
// reload nothing, and a broken file is reported once per change.
type fingerprint struct {
	// config is the SHA-256 of the config file (zero when unreadable).
	config [sha256.Size]byte
	// inputs covers the config file, the rule files (rules.HashPath), the
	// plugin executables, and the certificates, keys and CA files the
	// config names.
	inputs string
	// servers covers the CA, certificate and key files of the servers of
	// the rule set in force (serverFilesDigest).
	servers string
}

// currentFingerprint reads the files as they are now. Their paths come from
// the config file on disk (a change of a path is a change of that file),
// or from the running config when the file does not parse. Called with
// reloadMu held.
func (s *Server) currentFingerprint() fingerprint {
	var fp fingerprint
	h := sha256.New()
	cfg := s.cfg
	if s.opts.ConfigPath != "" {
		b, err := os.ReadFile(s.opts.ConfigPath)
		if err != nil {
			fmt.Fprintf(h, "config: %v\n", err)
		} else {
			fp.config = sha256.Sum256(b)
			fmt.Fprintf(h, "config %x\n", fp.config)
			if disk, err := peekConfig(b, s.opts.ConfigPath); err == nil {
				cfg = disk
			}
		}
	}
	rulesHash, err := rules.HashPath(cfg.RulesPath())
	if err != nil {
		rulesHash = "error: " + err.Error()
	}
	fmt.Fprintf(h, "rules %q %s\n", cfg.RulesPath(), rulesHash)
	exes := cfg.PluginExecutables(s.opts.DefaultHandler)
	for _, id := range sortedKeys(exes) {
		sum, err := s.exeSums.sum(exes[id].Path)
		if err != nil {
			sum = "error: " + err.Error()
		}
		fmt.Fprintf(h, "plugin %q %q %q %s\n", id, exes[id].Path, exes[id].SHA256, sum)
	}
	for _, f := range cfg.namedFiles() {
		fmt.Fprintf(h, "file %q %s\n", f, contentSum(f))
	}
	fp.inputs = hex.EncodeToString(h.Sum(nil))
	if set := s.gw.currentSet(); set != nil {
		fp.servers = serverFilesDigest(set.Servers())
	}
	return fp
}

// peekConfig decodes a config file for the paths it names, without
// validating it or reading any of those files.
func peekConfig(b []byte, file string) (*Config, error) {
	cfg := &Config{file: file}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return cfg, nil
}

// serverFiles are the CA, certificate and key files of a server.
func serverFiles(srv plugin.Server) []string {
	var out []string
	for _, f := range []string{srv.CAFile, srv.CertFile, srv.KeyFile} {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// serverFilesDigest covers the content of the servers' CA, certificate and
// key files. The rule set's hash covers only the rule files: a CA renewed
// under an unchanged `ca_file:` changes this, not the set.
func serverFilesDigest(servers []plugin.Server) string {
	h := sha256.New()
	for _, srv := range servers {
		for _, f := range serverFiles(srv) {
			fmt.Fprintf(h, "%q %q %s\n", srv.Identifier, f, contentSum(f))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// contentSum is the hex SHA-256 of a file, or the error reading it (a file
// that appears or goes away is a change too).
func contentSum(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "error: " + err.Error()
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// exeSumCache remembers the SHA-256 of each plugin executable with the file
// it was taken of (inode, size, modification time), so that checking every
// few seconds does not hash an unchanged binary of many megabytes again.
// Guarded by reloadMu.
type exeSumCache map[string]exeSumEntry

type exeSumEntry struct {
	fi  os.FileInfo
	sum string
}

// sum returns the executable's hex SHA-256, hashing it only when the file
// is another one, or was written, since it was last hashed.
func (c exeSumCache) sum(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		delete(c, path)
		return "", err
	}
	if e, ok := c[path]; ok && os.SameFile(e.fi, fi) && e.fi.Size() == fi.Size() && e.fi.ModTime().Equal(fi.ModTime()) {
		return e.sum, nil
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return "", err
	}
	// Stated before the hash: a write during hashing changes the size or
	// time, and the next call hashes again.
	c[path] = exeSumEntry{fi: fi, sum: sum}
	return sum, nil
}
