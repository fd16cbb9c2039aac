package rules

import (
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// checkOptions types the rule's options per the action's schema: unknown
// options, wrong YAML types, missing required options and references to
// servers that the set does not define are problems.
func checkOptions(d *ruleDef, spec plugin.ActionSpec, servers map[string]serverDef) map[string]any {
	sc := d.sc
	out := map[string]any{}
	optPair, hasOptions := d.fields["options"]
	if hasOptions {
		ps, ok := sc.pairs(optPair.value, "options")
		if !ok {
			return out // reported; "missing required" would only repeat it
		}
		names := make([]string, len(spec.Options))
		for i, o := range spec.Options {
			names[i] = o.Name
		}
		for _, p := range ps {
			name := p.key.Value
			o, ok := spec.Option(name)
			if !ok {
				sc.errorf(p.key.Line, "unknown option %q of %s/%s%s (known: %s)", name, d.r.Handler, spec.Name, suggest(name, names), strings.Join(names, ", "))
				continue
			}
			label := "option " + name
			switch o.Type {
			case plugin.OptionString:
				if s, ok := sc.str(p, label); ok {
					out[name] = s
				}
			case plugin.OptionBool:
				if b, ok := sc.boolean(p, label); ok {
					out[name] = b
				}
			case plugin.OptionInt:
				if i, ok := sc.integer(p, label); ok {
					out[name] = i
				}
			case plugin.OptionServer:
				s, ok := sc.str(p, label)
				if !ok {
					break
				}
				if _, defined := servers[s]; !defined {
					sc.errorf(p.value.Line, "%s: unknown server %q%s (defined: %s)", label, s, suggest(s, serverIDs(servers)), orNone(serverIDs(servers)))
					break
				}
				out[name] = s
			default:
				sc.errorf(p.key.Line, "%s: handler %s declares an unsupported option type %d", label, d.r.Handler, int(o.Type))
			}
		}
	}
	line := d.r.Line
	if hasOptions {
		line = optPair.key.Line
	}
	for _, o := range spec.Options {
		if !o.Required {
			continue
		}
		if _, given := optionGiven(d, o.Name); !given {
			sc.errorf(line, "missing required option %s (%s)", o.Name, o.Type)
		}
	}
	return out
}

// optionGiven says whether the rule sets the option at all (well-typed or
// not: a wrongly typed option is reported once, not also as missing).
func optionGiven(d *ruleDef, name string) (pair, bool) {
	optPair, ok := d.fields["options"]
	if !ok {
		return pair{}, false
	}
	m := resolve(optPair.value)
	if m == nil || m.Kind != yaml.MappingNode {
		return pair{}, false
	}
	for _, p := range d.sc.mappingPairs(m, "options", 0, false) {
		if p.key.Value == name {
			return p, true
		}
	}
	return pair{}, false
}

func serverIDs(servers map[string]serverDef) []string {
	ids := make([]string, 0, len(servers))
	for id := range servers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
