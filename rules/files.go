package rules

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxRuleFileBytes bounds one rule file. A bigger *.yaml is refused: it is an
// accident (a dump or a log), not a rule set.
const maxRuleFileBytes = 4 << 20

// source is one rule file as read.
type source struct {
	// path is the file as reported in problems and by Set.Files.
	path string
	// dir is the directory relative server file paths are resolved against:
	// that of the path as read, so a symlinked file resolves next to its link.
	dir   string
	index int
	data  []byte
}

// readSources reads the rule files at root: root itself if it is a file
// (through a symlink), else every rule file below it, in name order.
func readSources(root string, rep *report) []*source {
	fi, err := os.Stat(root)
	if err != nil {
		rep.add(&source{path: root, index: -1}, 0, "", fmt.Sprintf("cannot read rules path: %v", pathErr(err)))
		return nil
	}
	var paths []string
	if fi.IsDir() {
		var rels []string
		walkRuleDir(root, ".", map[string]bool{}, &rels, rep)
		sort.Slice(rels, func(i, j int) bool { return filepath.ToSlash(rels[i]) < filepath.ToSlash(rels[j]) })
		for _, rel := range rels {
			paths = append(paths, filepath.Join(root, rel))
		}
	} else {
		paths = []string{root}
	}
	var out []*source
	for i, p := range paths {
		src := &source{path: p, dir: filepath.Dir(p), index: i}
		data, err := readLimited(p)
		if err != nil {
			rep.add(src, 0, "", err.Error())
			continue
		}
		src.data = data
		out = append(out, src)
	}
	return out
}

// walkRuleDir collects the rule files below root/rel. Dot entries are
// skipped, which also skips Kubernetes' ConfigMap internals (..data,
// ..2026_...) while the visible symlinks into them are followed.
func walkRuleDir(root, rel string, visited map[string]bool, out *[]string, rep *report) {
	dir := filepath.Join(root, rel)
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		if visited[real] {
			return // a symlink loop or a second link to the same directory
		}
		visited[real] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		rep.add(&source{path: dir, index: -1}, 0, "", fmt.Sprintf("cannot read directory: %v", pathErr(err)))
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p, r := filepath.Join(dir, name), filepath.Join(rel, name)
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			fi, err := os.Stat(p)
			if err != nil {
				if isRuleFileName(name) {
					rep.add(&source{path: p, index: -1}, 0, "", fmt.Sprintf("cannot read: %v", pathErr(err)))
				}
				continue
			}
			mode = fi.Mode().Type()
		}
		switch {
		case mode.IsDir():
			walkRuleDir(root, r, visited, out, rep)
		case !mode.IsRegular():
		case isRuleFileName(name):
			*out = append(*out, r)
		case strings.HasSuffix(name, ".yml") && !rep.quiet:
			// Easy to mistake for a rule file; say why it has no effect.
			slog.Warn("rules: file ignored: rule files end in .yaml", "file", p)
		}
	}
}

// isRuleFileName says whether a directory entry is a rule file: *.yaml, but
// not a test file (*_test.yaml), a dotfile or an editor's backup/swap file.
func isRuleFileName(name string) bool {
	return strings.HasSuffix(name, ".yaml") &&
		!strings.HasSuffix(name, "_test.yaml") &&
		!strings.HasPrefix(name, ".") &&
		!strings.HasSuffix(name, "~") &&
		!strings.HasSuffix(name, ".swp")
}

func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", pathErr(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRuleFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", pathErr(err))
	}
	if len(data) > maxRuleFileBytes {
		return nil, fmt.Errorf("file larger than %d bytes", maxRuleFileBytes)
	}
	return data, nil
}

// pathErr drops the path from an *fs.PathError: the problem already names
// the file.
func pathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// hashSources is the hex SHA-256 over the names and contents of the files,
// each length-prefixed so that no two different sets hash alike.
func hashSources(srcs []*source) string {
	h := sha256.New()
	var n [8]byte
	for _, s := range srcs {
		binary.BigEndian.PutUint64(n[:], uint64(len(s.path)))
		h.Write(n[:])
		io.WriteString(h, s.path)
		binary.BigEndian.PutUint64(n[:], uint64(len(s.data)))
		h.Write(n[:])
		h.Write(s.data)
	}
	return hex.EncodeToString(h.Sum(nil))
}
