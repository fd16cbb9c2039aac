package rules

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// topKeys are the keys of a rule file.
var topKeys = []string{"servers", "rules"}

// Load reads, parses, compiles and checks the rule set at path: one YAML
// file, or a directory whose *.yaml files (not *_test.yaml, dotfiles,
// dot-directories or editor backups) together form one set, read in name
// order and through symlinks. handlers maps a handler identifier
// ("Federation") to the plugin.Description its plugin reported; a rule's
// action and options are checked against it.
//
// On any problem Load returns a *LoadError listing every problem, each as
// `file:line: rule "name": reason`; it never returns a partial set. An empty
// directory, or files without rules, give a valid set of 0 rules.
func Load(path string, handlers map[string]plugin.Description) (*Set, error) {
	l := &loader{rep: &report{}, handlers: handlers, servers: map[string]serverDef{}, names: map[string]*Rule{}}
	srcs := readSources(path, l.rep)
	for _, src := range srcs {
		l.parseFile(src)
	}
	for _, d := range l.defs {
		l.checkRule(d)
	}
	if !l.rep.empty() {
		return nil, &LoadError{Problems: l.rep.problems()}
	}
	return newSet(srcs, l.servers, l.defs), nil
}

// HashPath returns the Hash that a Set loaded from path would have, reading
// the files but parsing nothing. A watcher compares it with the current
// Set's Hash to skip reloads of unchanged files. A file that cannot be read
// gives a *LoadError.
func HashPath(path string) (string, error) {
	rep := &report{quiet: true}
	srcs := readSources(path, rep)
	if !rep.empty() {
		return "", &LoadError{Problems: rep.problems()}
	}
	return hashSources(srcs), nil
}

// loader is the state of one Load.
type loader struct {
	rep      *report
	handlers map[string]plugin.Description
	servers  map[string]serverDef
	names    map[string]*Rule
	defs     []*ruleDef
}

func (l *loader) parseFile(src *source) {
	sc := scope{rep: l.rep, src: src}
	for _, doc := range parseDocuments(sc, src.data) {
		if len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue
		}
		root := doc.Content[0]
		if r := resolve(root); r.Kind != yaml.MappingNode {
			sc.errorf(root.Line, "a rule file is a mapping with servers: and rules:, got %s", describe(root))
			continue
		}
		f, _ := sc.fields(root, "top level", topKeys)
		if p, ok := f["servers"]; ok {
			for _, s := range parseServers(sc, p.value) {
				l.addServer(sc, s)
			}
		}
		if p, ok := f["rules"]; ok {
			l.parseRules(sc, p)
		}
	}
}

func (l *loader) addServer(sc scope, s serverDef) {
	if first, dup := l.servers[s.srv.Identifier]; dup {
		sc.errorf(s.line, "server %q: defined twice (first at %s:%d)", s.srv.Identifier, first.src.path, first.line)
		return
	}
	l.servers[s.srv.Identifier] = s
}

func (l *loader) parseRules(sc scope, p pair) {
	if isNull(p.value) {
		return
	}
	seq := resolve(p.value)
	if seq.Kind != yaml.SequenceNode {
		sc.errorf(p.value.Line, "rules: want a list of rules, got %s", describe(p.value))
		return
	}
	for i, item := range seq.Content {
		d := parseRule(sc, item, i)
		if d == nil {
			continue
		}
		if d.r.Name != "" {
			if first, dup := l.names[d.r.Name]; dup {
				d.sc.errorf(d.r.Line, "duplicate rule name (first at %s:%d)", first.File, first.Line)
			} else {
				l.names[d.r.Name] = d.r
			}
		}
		l.defs = append(l.defs, d)
	}
}

// checkRule checks what needs the whole set (handlers, servers) and
// compiles the condition.
func (l *loader) checkRule(d *ruleDef) {
	sc := d.sc
	if d.r.Handler != "" {
		desc, ok := l.handlers[d.r.Handler]
		switch {
		case !ok:
			sc.errorf(d.fields["handler"].value.Line, "unknown handler %q (known: %s)", d.r.Handler, orNone(handlerNames(l.handlers)))
		case d.r.Action != "":
			spec, ok := desc.Action(d.r.Action)
			if !ok {
				sc.errorf(d.fields["action"].value.Line, "unknown action %q of handler %s (known: %s)", d.r.Action, d.r.Handler, orNone(actionNames(desc)))
				break
			}
			d.r.Options = checkOptions(d, spec, l.servers)
		}
	}
	if d.r.Options == nil {
		d.r.Options = map[string]any{}
	}

	prg, issues := compileCondition(d.r.Condition, d.r.Position)
	condNode := d.fields["condition"].value
	for _, is := range issues {
		line := d.r.Line
		if condNode != nil {
			line = conditionLine(condNode, is.line)
		}
		if is.col > 0 {
			sc.errorf(line, "condition: column %d: %s", is.col, is.msg)
		} else if strings.HasPrefix(is.msg, "condition ") {
			sc.errorf(line, "%s", is.msg)
		} else {
			sc.errorf(line, "condition: %s", is.msg)
		}
	}
	d.r.prg = prg
}

func handlerNames(h map[string]plugin.Description) []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func actionNames(d plugin.Description) []string {
	out := make([]string, len(d.Actions))
	for i, a := range d.Actions {
		out[i] = a.Name
	}
	return out
}

// plural is "1 rule", "2 rules".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
