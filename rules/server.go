package rules

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// DefaultServerTimeout bounds one attempt to a child server whose `timeout`
// is not set.
const DefaultServerTimeout = 10 * time.Second

// serverKeys are the keys of one entry of `servers:`, as in eduMFA's
// "eduMFA servers" plus what a production client needs (nodes, CA, client
// certificate, timeout).
var serverKeys = []string{"url", "urls", "tls", "ca_file", "cert_file", "key_file", "timeout", "description"}

// serverDef is a server with the place it is defined.
type serverDef struct {
	srv  plugin.Server
	src  *source
	line int
}

// parseServers reads a `servers:` mapping. Servers with problems are
// reported and left out.
func parseServers(sc scope, n *yaml.Node) []serverDef {
	ps, _ := sc.pairs(n, "servers")
	var out []serverDef
	for _, p := range ps {
		id := p.key.Value
		if p.key.ShortTag() != "!!str" {
			sc.errorf(p.key.Line, "server identifier must be a string, got %s", describe(p.key))
			continue
		}
		if id == "" || strings.IndexFunc(id, unicode.IsSpace) >= 0 {
			sc.errorf(p.key.Line, "server identifier %q must be non-empty and without spaces", id)
			continue
		}
		ssc := sc
		ssc.prefix = fmt.Sprintf("server %q: ", id)
		if srv, ok := parseServer(ssc, id, p); ok {
			out = append(out, serverDef{srv: srv, src: sc.src, line: p.key.Line})
		}
	}
	return out
}

func parseServer(sc scope, id string, def pair) (plugin.Server, bool) {
	srv := plugin.Server{Identifier: id, TLSVerify: true, Timeout: DefaultServerTimeout}
	n, line := def.value, def.key.Line
	before := len(sc.rep.items)
	f, ok := sc.fields(n, "server", serverKeys)
	if !ok {
		return srv, false
	}
	if isNull(n) {
		sc.errorf(line, "url: missing (one of url or urls is required)")
		return srv, false
	}
	u, hasURL := f["url"]
	us, hasURLs := f["urls"]
	switch {
	case hasURL && hasURLs:
		sc.errorf(us.key.Line, "url and urls: set only one of them")
	case hasURL:
		if s, ok := sc.str(u, "url"); ok {
			if clean, err := checkServerURL(s); err != nil {
				sc.errorf(u.value.Line, "url: %v", err)
			} else {
				srv.URLs = []string{clean}
			}
		}
	case hasURLs:
		list, lines, ok := sc.stringList(us, "urls")
		if ok && len(list) == 0 {
			sc.errorf(us.value.Line, "urls: empty list")
		}
		seen := map[string]bool{}
		for i, s := range list {
			clean, err := checkServerURL(s)
			switch {
			case err != nil:
				sc.errorf(lines[i], "urls: %v", err)
			case seen[clean]:
				sc.errorf(lines[i], "urls: %q listed twice", clean)
			default:
				seen[clean] = true
				srv.URLs = append(srv.URLs, clean)
			}
		}
	default:
		sc.errorf(line, "url: missing (one of url or urls is required)")
	}
	if p, ok := f["tls"]; ok {
		srv.TLSVerify, _ = sc.boolean(p, "tls")
	}
	for _, file := range []struct {
		key string
		dst *string
	}{{"ca_file", &srv.CAFile}, {"cert_file", &srv.CertFile}, {"key_file", &srv.KeyFile}} {
		if p, ok := f[file.key]; ok {
			*file.dst = serverFile(sc, p, file.key)
		}
	}
	_, hasCert := f["cert_file"]
	_, hasKey := f["key_file"]
	if hasCert != hasKey {
		sc.errorf(line, "cert_file and key_file: set both or neither")
	}
	if p, ok := f["timeout"]; ok {
		srv.Timeout = serverTimeout(sc, p)
	}
	if p, ok := f["description"]; ok {
		srv.Description, _ = sc.str(p, "description")
	}
	return srv, !sc.rep.hasNewSince(before)
}

// checkServerURL checks a child's base URL and returns it without trailing
// slashes (the request path is appended to it).
func checkServerURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("not a URL: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("want an http or https URL, got %q", raw)
	case u.Opaque != "" || u.Host == "":
		return "", fmt.Errorf("no host in %q", raw)
	case u.User != nil:
		// Credentials in URLs end up in logs; say so without echoing them.
		return "", errors.New("must not contain user or password")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("must not have a query or fragment (the request path and query are appended), got %q", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u.String(), nil
}

// serverFile reads a file path option, resolves it against the directory of
// the rule file and checks that the file can be opened now: a missing CA or
// key is a load error, not a failure on the first forwarded login.
func serverFile(sc scope, p pair, key string) string {
	s, ok := sc.str(p, key)
	if !ok {
		return ""
	}
	if s == "" {
		sc.errorf(p.value.Line, "%s: empty path", key)
		return ""
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(sc.src.dir, s)
	}
	// The plugin process may run elsewhere: hand it absolute paths.
	if abs, err := filepath.Abs(s); err == nil {
		s = abs
	}
	f, err := os.Open(s)
	if err != nil {
		sc.errorf(p.value.Line, "%s: cannot read %s: %v", key, s, pathErr(err))
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		sc.errorf(p.value.Line, "%s: %s is not a regular file", key, s)
		return ""
	}
	return s
}

func serverTimeout(sc scope, p pair) time.Duration {
	n, ok := scalarOf(p, "!!str")
	if !ok {
		sc.errorf(p.value.Line, "timeout: want a duration such as \"10s\" or \"500ms\", got %s", describe(p.value))
		return DefaultServerTimeout
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil || d <= 0 {
		sc.errorf(p.value.Line, "timeout: want a positive duration such as \"10s\" or \"500ms\", got %q", n.Value)
		return DefaultServerTimeout
	}
	return d
}
