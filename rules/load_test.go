package rules

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/actions/forward"
	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// testHandlers is what the host passes to Load: the Federation handler's
// real schema, plus a handler with an option type the loader does not know.
func testHandlers() map[string]plugin.Description {
	return map[string]plugin.Description{
		forward.HandlerIdentifier: forward.Description(),
		"Test": {Identifier: "Test", Actions: []plugin.ActionSpec{{Name: "act", Options: []plugin.OptionSpec{
			{Name: "weird", Type: plugin.OptionType(99)},
			{Name: "count", Type: plugin.OptionInt},
		}}}},
	}
}

func mustLoad(t testing.TB, path string) *Set {
	t.Helper()
	s, err := Load(path, testHandlers())
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return s
}

func ruleNames(rs []*Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const oneRule = `servers:
  child:
    url: https://child.example.org
rules:
  - name: %NAME%
    event: validate_check
    handler: Federation
    action: forward
    options: {eduMFA: child}
`

func ruleFile(name string) string { return strings.ReplaceAll(oneRule, "%NAME%", name) }

func TestLoad_ValidDirectory(t *testing.T) {
	s := mustLoad(t, "testdata/valid")

	wantFiles := []string{filepath.Join("testdata", "valid", "10-servers.yaml"), filepath.Join("testdata", "valid", "20-federate.yaml")}
	if got := s.Files(); !slices.Equal(got, wantFiles) {
		t.Errorf("Files() = %v, want %v (ignored_test.yaml is a test file)", got, wantFiles)
	}
	if got, want := s.Summary(), "3 rules (2 active), 2 servers, events: validate_check, validate_triggerchallenge"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}

	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	wantServers := []plugin.Server{
		{Identifier: "child", URLs: []string{"http://127.0.0.1:5001"}, TLSVerify: false, Timeout: DefaultServerTimeout,
			Description: "the child of the 2.9.5 captures"},
		{Identifier: "child-b", URLs: []string{"https://b1.example.org/edumfa", "https://b2.example.org/edumfa"}, TLSVerify: true,
			CAFile: abs("testdata/valid/certs/ca.pem"), CertFile: abs("testdata/valid/certs/client.pem"),
			KeyFile: abs("testdata/valid/certs/client.key"), Timeout: 2500 * time.Millisecond},
	}
	if got := s.Servers(); !reflect.DeepEqual(got, wantServers) {
		t.Errorf("Servers() =\n%+v\nwant\n%+v", got, wantServers)
	}
	if srv, ok := s.Server("child-b"); !ok || !reflect.DeepEqual(srv, wantServers[1]) {
		t.Errorf("Server(child-b) = %+v, %v", srv, ok)
	}
	if _, ok := s.Server("nope"); ok {
		t.Error("Server(nope) found")
	}
	// Servers hands out copies: a caller cannot change the set.
	s.Servers()[0].URLs[0] = "http://evil"
	if got := s.Servers()[0].URLs[0]; got != "http://127.0.0.1:5001" {
		t.Errorf("Servers() shares its URLs: %q", got)
	}

	fed, ok := s.Rule("federate-rejected")
	if !ok {
		t.Fatal("rule federate-rejected missing")
	}
	want := &Rule{
		Name: "federate-rejected", File: wantFiles[1], Line: 3, Events: []string{"validate_check"},
		Position: Post, Ordering: 10, Active: true, Handler: "Federation", Action: "forward",
		Options:   map[string]any{"eduMFA": "child", "realm": "childrealm", "forward_client_ip": true},
		OnError:   OnErrorKeep,
		Condition: "response.json.?result.?value.orValue(true) == false",
	}
	checkRule(t, fed, want)

	pre, _ := s.Rule("federate-unknown-users")
	checkRule(t, pre, &Rule{
		Name: "federate-unknown-users", File: wantFiles[1], Line: 14,
		Events:   []string{"validate_check", "validate_triggerchallenge"},
		Position: Pre, Active: true, Handler: "Federation", Action: "forward",
		Options: map[string]any{"eduMFA": "child-b"}, OnError: OnErrorKeep,
		Condition: "request.all_data.?realm.orValue(\"\") == \"childrealm\" &&\nipIn(g.client_ip, \"10.0.0.0/8, -10.0.0.13\")\n",
	})

	admin, _ := s.Rule("token-admin")
	checkRule(t, admin, &Rule{
		Name: "token-admin", File: wantFiles[1], Line: 26, Events: []string{"*"}, Position: Post,
		Active: false, Handler: "Federation", Action: "forward",
		Options: map[string]any{"eduMFA": "child-b", "forward_authorization_token": true},
		OnError: OnErrorKeep, Condition: "true",
	})

	if got := ruleNames(s.All()); !slices.Equal(got, []string{"federate-unknown-users", "token-admin", "federate-rejected"}) {
		t.Errorf("All() = %v", got)
	}
	if got := ruleNames(s.Rules("validate_check", Post)); !slices.Equal(got, []string{"federate-rejected"}) {
		t.Errorf("Rules(validate_check, post) = %v (token-admin is inactive)", got)
	}
	if got := ruleNames(s.Rules("validate_triggerchallenge", Pre)); !slices.Equal(got, []string{"federate-unknown-users"}) {
		t.Errorf("Rules(validate_triggerchallenge, pre) = %v", got)
	}
}

func checkRule(t *testing.T, got, want *Rule) {
	t.Helper()
	if got == nil {
		t.Fatalf("rule %q missing", want.Name)
	}
	g := []any{got.Name, got.File, got.Line, got.Events, got.Position, got.Ordering, got.Active, got.Handler, got.Action, got.Options, got.OnError, got.Condition}
	w := []any{want.Name, want.File, want.Line, want.Events, want.Position, want.Ordering, want.Active, want.Handler, want.Action, want.Options, want.OnError, want.Condition}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("rule %q =\n%#v\nwant\n%#v", want.Name, g, w)
	}
	if got.prg == nil {
		t.Errorf("rule %q has no compiled condition", want.Name)
	}
}

// Every error kind of the issue, with its file:line. Each file holds one
// kind (several instances); a load reports all of them at once.
func TestLoad_Errors(t *testing.T) {
	abs, err := filepath.Abs("testdata/errors/missing-ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		want []string
	}{
		{"top.yaml", []string{
			`testdata/errors/top.yaml:4: unknown key "rule" (did you mean "rules"?)`,
		}},
		{"syntax.yaml", []string{
			`testdata/errors/syntax.yaml:3: YAML syntax: did not find expected ',' or ']'`,
		}},
		{"keys.yaml", []string{
			`testdata/errors/keys.yaml:9: rule "typo": unknown key "conditon" (did you mean "condition"?)`,
			`testdata/errors/keys.yaml:12: rules[1]: missing name`,
		}},
		{"servers.yaml", []string{
			`testdata/errors/servers.yaml:5: server "ftp": url: want an http or https URL, got "ftp://child.example.org"`,
			`testdata/errors/servers.yaml:8: server "both": url and urls: set only one of them`,
			`testdata/errors/servers.yaml:9: server "none": url: missing (one of url or urls is required)`,
			`testdata/errors/servers.yaml:12: server "creds": url: must not contain user or password`,
			`testdata/errors/servers.yaml:14: server "query": url: must not have a query or fragment (the request path and query are appended), got "https://child.example.org/?x=1"`,
			`testdata/errors/servers.yaml:18: server "dupnode": urls: "https://a.example.org" listed twice`,
			`testdata/errors/servers.yaml:21: server "badtls": tls: want bool, got string "yes"`,
			`testdata/errors/servers.yaml:22: server "badtls": unknown key "verify"`,
			`testdata/errors/servers.yaml:25: server "slow": timeout: want a duration such as "10s" or "500ms", got int 10`,
			`testdata/errors/servers.yaml:28: server "neg": timeout: want a positive duration such as "10s" or "500ms", got "-1s"`,
			`testdata/errors/servers.yaml:31: server "noca": ca_file: cannot read ` + abs + `: no such file or directory`,
			`testdata/errors/servers.yaml:32: server "halfcert": cert_file and key_file: set both or neither`,
			`testdata/errors/servers.yaml:35: server identifier "with space" must be non-empty and without spaces`,
		}},
		{"events.yaml", []string{
			`testdata/errors/events.yaml:6: rule "saml": unknown event "validate_samlcheck": /validate/samlcheck raises validate_check; use request.path to tell them apart`,
			`testdata/errors/events.yaml:13: rule "poll": unknown event "validate_polltransaction" (did you mean "validate_poll_transaction"?)`,
			`testdata/errors/events.yaml:18: rule "star": event: "*" already means every event; list it alone`,
			`testdata/errors/events.yaml:23: rule "none": event: empty list`,
		}},
		{"handler.yaml", []string{
			`testdata/errors/handler.yaml:7: rule "bad-handler": unknown handler "Federaton" (known: Federation, Test)`,
			`testdata/errors/handler.yaml:12: rule "bad-action": unknown action "forwards" of handler Federation (known: forward)`,
			`testdata/errors/handler.yaml:13: rule "no-action": missing action`,
		}},
		{"options.yaml", []string{
			`testdata/errors/options.yaml:11: rule "unknown-option": unknown option "forward_ip" of Federation/forward (known: eduMFA, realm, resolver, forward_client_ip, forward_authorization_token)`,
			`testdata/errors/options.yaml:18: rule "quoted-bool": option forward_client_ip: want bool, got string "True"`,
			`testdata/errors/options.yaml:19: rule "quoted-bool": option forward_authorization_token: want bool, got string "yes"`,
			`testdata/errors/options.yaml:20: rule "quoted-bool": option realm: want string, got int 5`,
			`testdata/errors/options.yaml:26: rule "unknown-server": option eduMFA: unknown server "chlid" (did you mean "child"?) (defined: child)`,
			`testdata/errors/options.yaml:31: rule "missing-server": missing required option eduMFA (server)`,
			`testdata/errors/options.yaml:33: rule "no-options": missing required option eduMFA (server)`,
		}},
		{"option_type.yaml", []string{
			`testdata/errors/option_type.yaml:7: rule "odd-schema": option weird: handler Test declares an unsupported option type 99`,
			`testdata/errors/option_type.yaml:8: rule "odd-schema": option count: want int, got string "3"`,
		}},
		{"fields.yaml", []string{
			`testdata/errors/fields.yaml:7: rule "fields": position: want pre or post, got "before"`,
			`testdata/errors/fields.yaml:8: rule "fields": ordering: want int, got string "first"`,
			`testdata/errors/fields.yaml:9: rule "fields": active: want bool, got string "false"`,
			`testdata/errors/fields.yaml:10: rule "fields": on_error: want keep or error, got "ignore"`,
		}},
		{"cel.yaml", []string{
			`testdata/errors/cel.yaml:7: rule "parse-error": condition: column 30: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}`,
			`testdata/errors/cel.yaml:13: rule "type-error": condition: column 17: found no matching overload for '_==_' applied to '(int, string)'`,
			`testdata/errors/cel.yaml:19: rule "not-bool": condition must be bool, got string`,
			`testdata/errors/cel.yaml:26: rule "pre-response": condition: response is not available in pre rules`,
			// A literal block keeps its lines: the typo is on the second one.
			`testdata/errors/cel.yaml:34: rule "unknown-field": condition: column 2: undefined field 'clientip'`,
			`testdata/errors/cel.yaml:41: rule "bad-literals": condition: column 22: invalid regular expression: error parsing regexp: missing closing ): ` + "`(`",
			`testdata/errors/cel.yaml:41: rule "bad-literals": condition: column 48: ipIn: invalid network "10.0.0.0/33"`,
			`testdata/errors/cel.yaml:47: rule "empty-condition": condition: empty (leave it out to match always)`,
		}},
		{"dup", []string{
			`testdata/errors/dup/b.yaml:4: server "child": defined twice (first at testdata/errors/dup/a.yaml:2)`,
			`testdata/errors/dup/b.yaml:7: rule "same": duplicate rule name (first at testdata/errors/dup/a.yaml:5)`,
			`testdata/errors/dup/b.yaml:12: rule "same": duplicate rule name (first at testdata/errors/dup/a.yaml:5)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s, err := Load(filepath.Join("testdata", "errors", tt.file), testHandlers())
			if s != nil {
				t.Errorf("Load returned a set despite problems")
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v (%T), want *LoadError", err, err)
			}
			got := make([]string, len(le.Problems))
			for i, p := range le.Problems {
				got[i] = filepath.ToSlash(p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if err.Error() != strings.Join(problemStrings(le.Problems), "\n") {
				t.Errorf("Error() does not join the problems one per line:\n%s", err)
			}
		})
	}
}

func problemStrings(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func TestLoad_MoreYAMLErrors(t *testing.T) {
	tests := []struct {
		name, content string
		want          []string
	}{
		{"duplicate key", "servers:\n  child:\n    url: https://a.example.org\n    url: https://b.example.org\n",
			[]string{`f.yaml:4: server "child": server: duplicate key "url" (first at line 3)`}},
		{"rules not a list", "rules:\n  name: a\n", []string{`f.yaml:2: rules: want a list of rules, got mapping`}},
		{"rule not a mapping", "rules:\n  - just-a-string\n", []string{`f.yaml:2: rules[0]: want a mapping, got string "just-a-string"`}},
		{"top level list", "- name: a\n", []string{`f.yaml:1: a rule file is a mapping with servers: and rules:, got list`}},
		{"servers not a mapping", "servers: [a]\n", []string{`f.yaml:1: servers: want a mapping, got list`}},
		{"tab indentation", "rules:\n  - name: a\n\tevent: x\n", []string{`f.yaml:2: YAML syntax: found a tab character that violates indentation`}},
		{"error on the first line", "a: b: c\n", []string{`f.yaml:1: YAML syntax: mapping values are not allowed in this context`}},
		{"unknown anchor", "servers:\n  x: 1\nrules: *nope\n", []string{`f.yaml:3: YAML syntax: unknown anchor 'nope' referenced`}},
		{"control character", "servers:\n  a:\n    description: \"\x01\"\n", []string{`f.yaml:3: YAML syntax: control characters are not allowed`}},
		{"name not a string", "rules:\n  - name: [a]\n    event: auth\n    handler: Federation\n    action: forward\n",
			[]string{
				`f.yaml:2: rules[0]: name: want string, got list`,
				`f.yaml:2: rules[0]: missing required option eduMFA (server)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"f.yaml": tt.content})
			_, err := Load(dir, testHandlers())
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want *LoadError", err)
			}
			got := problemStrings(le.Problems)
			for i := range got {
				got[i] = strings.TrimPrefix(got[i], dir+string(filepath.Separator))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoad_AllOrNothing(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.yaml": ruleFile("good"),
		"b.yaml": "rules:\n  - name: bad\n    event: validate_check\n    handler: Federation\n    action: forward\n    options: {eduMFA: child}\n    condition: response.json ==\n",
	})
	s, err := Load(dir, testHandlers())
	if s != nil || err == nil {
		t.Fatalf("Load = %v, %v; want no set and an error", s, err)
	}
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != 1 || le.Problems[0].Rule != "bad" || le.Problems[0].Line != 7 {
		t.Errorf("problems = %+v", err)
	}
}

func TestLoad_SkipsNonRuleFiles(t *testing.T) {
	dir := t.TempDir()
	broken := "rules: [this is not\n"
	writeFiles(t, dir, map[string]string{
		"a.yaml":              ruleFile("a"),
		"sub/c.yaml":          strings.Replace(ruleFile("c"), "servers:\n  child:", "servers:\n  child-c:", 1),
		"x_test.yaml":         broken,
		".hidden.yaml":        broken,
		"b.yaml~":             broken,
		".b.yaml.swp":         broken,
		"b.yaml.swp":          broken,
		".git/config.yaml":    broken,
		"..2026_12_03/a.yaml": broken,
		"notes.yml":           broken,
		"README.md":           broken,
	})
	s := mustLoad(t, dir)
	want := []string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "sub", "c.yaml")}
	if got := s.Files(); !slices.Equal(got, want) {
		t.Errorf("Files() = %v, want %v", got, want)
	}
	if got := ruleNames(s.All()); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("rules = %v", got)
	}
}

// The layout of a Kubernetes ConfigMap volume: visible symlinks into a
// dot-directory that is swapped atomically. Each file is read once, through
// its link; relative paths resolve next to the link.
func TestLoad_Symlinks(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "..2026_12_03_14_00_00.1")
	writeFiles(t, data, map[string]string{
		"rules.yaml": strings.Replace(ruleFile("linked"), "    url: https://child.example.org\n",
			"    url: https://child.example.org\n    ca_file: ca.pem\n", 1),
		"ca.pem": "not checked",
	})
	for _, link := range [][2]string{
		{"..2026_12_03_14_00_00.1", "..data"},
		{filepath.Join("..data", "rules.yaml"), "rules.yaml"},
		{filepath.Join("..data", "ca.pem"), "ca.pem"},
		{".", "loop"}, // a directory link back to itself is walked once
	} {
		if err := os.Symlink(link[0], filepath.Join(dir, link[1])); err != nil {
			t.Fatal(err)
		}
	}
	s := mustLoad(t, dir)
	if got, want := s.Files(), []string{filepath.Join(dir, "rules.yaml")}; !slices.Equal(got, want) {
		t.Errorf("Files() = %v, want %v", got, want)
	}
	srv, _ := s.Server("child")
	if want := filepath.Join(dir, "ca.pem"); srv.CAFile != want {
		t.Errorf("CAFile = %q, want %q", srv.CAFile, want)
	}

	// A single file given by a symlink.
	writeFiles(t, data, map[string]string{"single.yaml": ruleFile("single")})
	single := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.Symlink(filepath.Join(data, "single.yaml"), single); err != nil {
		t.Fatal(err)
	}
	if s := mustLoad(t, single); len(s.All()) != 1 {
		t.Errorf("single linked file: %d rules", len(s.All()))
	}

	// A dangling link named like a rule file is an error, not a silent skip.
	if err := os.Symlink(filepath.Join(dir, "gone.yaml"), filepath.Join(dir, "dangling.yaml")); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir, testHandlers())
	var le *LoadError
	if !errors.As(err, &le) || !strings.HasSuffix(le.Problems[0].String(), "dangling.yaml: cannot read: no such file or directory") {
		t.Errorf("dangling link: %v", err)
	}
}

func TestLoad_EmptySets(t *testing.T) {
	dir := t.TempDir()
	s := mustLoad(t, dir)
	if got, want := s.Summary(), "0 rules (0 active), 0 servers, events: none"; got != want {
		t.Errorf("empty dir: Summary() = %q, want %q", got, want)
	}
	if s.Rules("validate_check", Post) != nil || len(s.Files()) != 0 {
		t.Error("empty dir has rules or files")
	}
	writeFiles(t, dir, map[string]string{
		"servers.yaml": "servers:\n  child:\n    url: https://child.example.org\n",
		"empty.yaml":   "",
		"comment.yaml": "# nothing yet\n",
		"null.yaml":    "rules:\n",
	})
	s = mustLoad(t, dir)
	if got, want := s.Summary(), "0 rules (0 active), 1 server, events: none"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	if len(s.Files()) != 4 {
		t.Errorf("Files() = %v", s.Files())
	}
}

func TestLoad_MissingPath(t *testing.T) {
	_, err := Load("testdata/does-not-exist", testHandlers())
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v", err)
	}
	if got, want := le.Error(), "testdata/does-not-exist: cannot read rules path: no such file or directory"; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
}

func TestLoad_MergeKeysAndDocuments(t *testing.T) {
	s := mustLoad(t, "testdata/merge.yaml")
	base, _ := s.Rule("base")
	merged, _ := s.Rule("merged")
	second, _ := s.Rule("second-document")
	if base == nil || merged == nil || second == nil {
		t.Fatalf("rules = %v", ruleNames(s.All()))
	}
	checkRule(t, merged, &Rule{
		Name: "merged", File: "testdata/merge.yaml", Line: 14, Events: []string{"validate_check"}, Position: Pre,
		Active: true, Handler: "Federation", Action: "forward", OnError: OnErrorError, Condition: "true",
		Options: map[string]any{"eduMFA": "child", "realm": "childrealm", "forward_client_ip": true},
	})
	if !reflect.DeepEqual(base.Options, map[string]any{"eduMFA": "child", "realm": "childrealm"}) {
		t.Errorf("base options changed by the merge: %v", base.Options)
	}
	if second.Events[0] != "token_init" {
		t.Errorf("second document: %+v", second)
	}
}

func TestLoad_Hash(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.yaml": ruleFile("a")})
	h1 := mustLoad(t, dir).Hash()
	if h2 := mustLoad(t, dir).Hash(); h1 != h2 || len(h1) != 64 {
		t.Errorf("hash not stable: %s %s", h1, h2)
	}
	writeFiles(t, dir, map[string]string{"a.yaml": ruleFile("a") + "# comment\n"})
	h3 := mustLoad(t, dir).Hash()
	if h3 == h1 {
		t.Error("hash unchanged after an edit")
	}
	if hp, err := HashPath(dir); err != nil || hp != h3 {
		t.Errorf("HashPath = %s, %v; want the loaded set's %s", hp, err, h3)
	}
	// Same bytes under another file name: another set.
	if err := os.Rename(filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	if h4 := mustLoad(t, dir).Hash(); h4 == h3 {
		t.Error("hash unchanged after a rename")
	}
	// HashPath reads, it does not check: a broken file still hashes.
	writeFiles(t, dir, map[string]string{"c.yaml": "rules: [broken\n"})
	if hp, err := HashPath(dir); err != nil || len(hp) != 64 {
		t.Errorf("HashPath of a broken set = %q, %v", hp, err)
	}
	if _, err := HashPath(filepath.Join(dir, "missing")); err == nil {
		t.Error("HashPath of a missing path: no error")
	}
}

func TestLoad_DefaultOnError(t *testing.T) {
	s := mustLoad(t, "testdata/order")
	for _, r := range s.All() {
		want := OnErrorKeep
		if r.Position == Pre {
			want = OnErrorError
		}
		if r.OnError != want {
			t.Errorf("rule %s (%s): on_error = %s, want %s", r.Name, r.Position, r.OnError, want)
		}
	}
}
