package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/actions/forward"
	"github.com/edumfa-federation/edumfa-federation/plugin"
	"github.com/edumfa-federation/edumfa-federation/rules"
)

// TestCheckSetAgainst: a new plugin is checked against the rule set in
// force when the files on disk do not load; every rule that the new schema
// no longer fits is named with file:line.
func TestCheckSetAgainst(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "10.yaml")
	if err := os.WriteFile(file, []byte(`servers:
  child: {url: "http://127.0.0.1:1"}
rules:
  - name: forward-all
    event: validate_check
    handler: Federation
    action: forward
    options: {eduMFA: child, realm: r, forward_client_ip: true}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(dir, map[string]plugin.Description{"Federation": forward.Description()})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(a *plugin.ActionSpec)) plugin.Description {
		d := forward.Description()
		d.Version = "v9"
		a := d.Actions[0]
		a.Options = append([]plugin.OptionSpec(nil), a.Options...)
		f(&a)
		d.Actions = []plugin.ActionSpec{a}
		return d
	}
	drop := func(name string) func(a *plugin.ActionSpec) {
		return func(a *plugin.ActionSpec) {
			for i, o := range a.Options {
				if o.Name == name {
					a.Options = append(a.Options[:i], a.Options[i+1:]...)
					return
				}
			}
		}
	}
	retype := func(name string, typ plugin.OptionType) func(a *plugin.ActionSpec) {
		return func(a *plugin.ActionSpec) {
			for i := range a.Options {
				if a.Options[i].Name == name {
					a.Options[i].Type = typ
				}
			}
		}
	}
	at := file + `:4: rule "forward-all": handler Federation v9: `
	for _, tc := range []struct {
		name string
		desc plugin.Description
		want string // "" for fits
	}{
		{"same schema", forward.Description(), ""},
		{"new optional option", edit(func(a *plugin.ActionSpec) {
			a.Options = append(a.Options, plugin.OptionSpec{Name: "extra", Type: plugin.OptionInt})
		}), ""},
		{"new required option", edit(func(a *plugin.ActionSpec) {
			a.Options = append(a.Options, plugin.OptionSpec{Name: "extra", Type: plugin.OptionInt, Required: true})
		}), at + "missing required option extra (int)"},
		{"option removed", edit(drop("realm")), at + `unknown option "realm" of forward`},
		{"option retyped", edit(retype("forward_client_ip", plugin.OptionString)), at + "option forward_client_ip must be a string"},
		{"server option now a string", edit(retype("eduMFA", plugin.OptionString)), ""},
		{"action renamed", edit(func(a *plugin.ActionSpec) { a.Name = "relay" }), file + `:4: rule "forward-all": handler Federation v9 has no action "forward"`},
	} {
		err := checkSetAgainst(set, "Federation", tc.desc)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := checkSetAgainst(set, "Other", plugin.Description{}); err != nil {
		t.Errorf("rules of another handler: %v", err)
	}
}

// TestBearerMatches: only the exact token under the Bearer scheme (any
// case) passes.
func TestBearerMatches(t *testing.T) {
	const token = "s3cret"
	for header, want := range map[string]bool{
		"Bearer s3cret": true, "bearer s3cret": true, "BEARER  s3cret ": true,
		"": false, "Bearer": false, "Bearer ": false, "Bearer s3cre": false, "Bearer s3cret2": false,
		"Basic s3cret": false, "s3cret": false, "Bearers3cret": false,
	} {
		if got := bearerMatches(header, token); got != want {
			t.Errorf("%q: %v, want %v", header, got, want)
		}
	}
}
