package rules

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"cel.dev/cel-go/cel"
	"gopkg.in/yaml.v3"
)

// Position says when a rule runs, as eduMFA's event handler position.
type Position string

// Positions of a rule.
const (
	// Pre rules run before the request reaches the parent eduMFA; they see
	// no `response`.
	Pre Position = "pre"
	// Post rules run on the parent's (or a previous rule's) answer.
	Post Position = "post"
)

// OnError says what the host does when a rule's action fails (the child is
// unreachable, times out, ...).
type OnError string

// Choices for on_error.
const (
	// OnErrorKeep keeps the current response (the parent's answer); the
	// default for post rules.
	OnErrorKeep OnError = "keep"
	// OnErrorError answers the client with an error envelope; the default
	// for pre rules, which have no answer to keep.
	OnErrorError OnError = "error"
)

// Rule is one compiled rule. The exported fields are read-only after Load;
// a Rule is safe for concurrent use.
type Rule struct {
	// Name is unique in the set; it names the rule in logs and audit.
	Name string
	// File and Line locate the rule's definition.
	File string
	Line int
	// Events are eduMFA event names, or just "*" (AllEvents) for all.
	Events   []string
	Position Position
	// Ordering sorts rules ascending; ties keep file order.
	Ordering int
	Active   bool
	// Handler is the handler plugin's identifier, Action one of its actions.
	Handler string
	Action  string
	// Options are typed per the action's schema: string, bool or int64 (a
	// server option is the server's identifier, a string).
	Options   map[string]any
	OnError   OnError
	Condition string

	prg        cel.Program
	evalErrors atomic.Uint64
	lastLogNs  atomic.Int64
	suppressed atomic.Uint64
	logger     *slog.Logger // nil: slog.Default(); set by tests
}

// ruleKeys are the keys of one rule.
var ruleKeys = []string{"name", "event", "position", "ordering", "active", "condition", "handler", "action", "options", "on_error"}

// ruleDef is a rule being loaded: the Rule plus the YAML it came from.
type ruleDef struct {
	r      *Rule
	sc     scope
	fields map[string]pair
	// ok is false when a field could not be read; the rule is still checked
	// as far as possible, to report everything at once.
	ok bool
}

// notAnEvent explains event names that look right but that eduMFA never
// raises.
var notAnEvent = map[string]string{
	"validate_samlcheck":   "/validate/samlcheck raises validate_check; use request.path to tell them apart",
	"validate_radiuscheck": "/validate/radiuscheck raises validate_check; use request.path to tell them apart",
}

// parseRule reads the fields of rule number idx (0-based) of a file.
func parseRule(sc scope, n *yaml.Node, idx int) *ruleDef {
	m := resolve(n)
	if m == nil || m.Kind != yaml.MappingNode {
		sc.errorf(n.Line, "rules[%d]: want a mapping, got %s", idx, describe(n))
		return nil
	}
	d := &ruleDef{r: &Rule{File: sc.src.path, Line: n.Line, Active: true, Position: Post, Condition: "true"}, ok: true}
	// The name first, so that every other problem of the rule carries it.
	for _, p := range sc.mappingPairs(m, "rule", 0, false) {
		if p.key.Value == "name" {
			if s, ok := scalarOf(p, "!!str"); ok && strings.TrimSpace(s.Value) != "" {
				d.r.Name = s.Value
				sc.rule = s.Value
			}
		}
	}
	if sc.rule == "" {
		sc.prefix = fmt.Sprintf("rules[%d]: ", idx)
	}
	d.sc = sc
	f, _ := sc.fields(n, "rule", ruleKeys)
	d.fields = f
	bad := func() { d.ok = false }

	if p, ok := f["name"]; !ok {
		sc.errorf(n.Line, "missing name")
		bad()
	} else if s, ok := sc.str(p, "name"); !ok {
		bad()
	} else if strings.TrimSpace(s) == "" {
		sc.errorf(p.value.Line, "name: empty")
		bad()
	}

	if p, ok := f["event"]; !ok {
		sc.errorf(n.Line, "missing event (an eduMFA event name, a list of them, or \"*\")")
		bad()
	} else if evs, ok := parseEvents(sc, p); ok {
		d.r.Events = evs
	} else {
		bad()
	}

	if p, ok := f["position"]; ok {
		if s, ok := sc.str(p, "position"); !ok {
			bad()
		} else if Position(s) != Pre && Position(s) != Post {
			sc.errorf(p.value.Line, "position: want pre or post, got %q", s)
			bad()
		} else {
			d.r.Position = Position(s)
		}
	}
	d.r.OnError = OnErrorKeep
	if d.r.Position == Pre {
		d.r.OnError = OnErrorError
	}
	if p, ok := f["on_error"]; ok {
		if s, ok := sc.str(p, "on_error"); !ok {
			bad()
		} else if OnError(s) != OnErrorKeep && OnError(s) != OnErrorError {
			sc.errorf(p.value.Line, "on_error: want keep or error, got %q", s)
			bad()
		} else {
			d.r.OnError = OnError(s)
		}
	}

	if p, ok := f["ordering"]; ok {
		const maxOrdering = 1 << 31 // eduMFA stores it in an SQL INT
		if i, ok := sc.integer(p, "ordering"); !ok {
			bad()
		} else if i <= -maxOrdering || i >= maxOrdering {
			sc.errorf(p.value.Line, "ordering: %d out of range", i)
			bad()
		} else {
			d.r.Ordering = int(i)
		}
	}
	if p, ok := f["active"]; ok {
		if b, ok := sc.boolean(p, "active"); ok {
			d.r.Active = b
		} else {
			bad()
		}
	}
	if p, ok := f["condition"]; ok {
		if s, ok := conditionText(sc, p); ok {
			d.r.Condition = s
		} else {
			bad()
		}
	}
	for _, k := range []struct {
		key string
		dst *string
	}{{"handler", &d.r.Handler}, {"action", &d.r.Action}} {
		p, ok := f[k.key]
		if !ok {
			sc.errorf(n.Line, "missing %s", k.key)
			bad()
			continue
		}
		if s, ok := sc.str(p, k.key); ok {
			*k.dst = s
		} else {
			bad()
		}
	}
	return d
}

// parseEvents reads `event`: one name or a list; "*" stands for all.
func parseEvents(sc scope, p pair) ([]string, bool) {
	names, lines, ok := sc.stringList(p, "event")
	if !ok {
		return nil, false
	}
	if len(names) == 0 {
		sc.errorf(p.value.Line, "event: empty list")
		return nil, false
	}
	var out []string
	for i, name := range names {
		switch {
		case name == AllEvents:
			if len(names) > 1 {
				sc.errorf(lines[i], "event: \"*\" already means every event; list it alone")
				ok = false
			}
		case isEvent(name):
		case notAnEvent[name] != "":
			sc.errorf(lines[i], "unknown event %q: %s", name, notAnEvent[name])
			ok = false
			continue
		default:
			sc.errorf(lines[i], "unknown event %q%s", name, suggest(name, events.names))
			ok = false
			continue
		}
		if !contains(out, name) {
			out = append(out, name)
		}
	}
	return out, ok
}

// conditionText reads `condition`. An unquoted true or false is YAML bool;
// it is accepted as the CEL literal it reads as.
func conditionText(sc scope, p pair) (string, bool) {
	if n, ok := scalarOf(p, "!!bool"); ok {
		var b bool
		if n.Decode(&b) == nil {
			return fmt.Sprint(b), true
		}
	}
	s, ok := sc.str(p, "condition")
	if !ok {
		return "", false
	}
	if strings.TrimSpace(s) == "" {
		sc.errorf(p.value.Line, "condition: empty (leave it out to match always)")
		return "", false
	}
	return s, true
}

// conditionLine maps a line of a condition's CEL text to the file: a
// literal block (|) keeps its lines and starts below the indicator; folded
// and flow scalars are folded into one CEL line.
func conditionLine(n *yaml.Node, celLine int) int {
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		return n.Line + max(celLine, 1)
	case n.Style&yaml.FoldedStyle != 0:
		return n.Line + 1
	}
	return n.Line
}
