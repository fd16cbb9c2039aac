package rules

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a rule set, located in its source file.
type Problem struct {
	// File is the file as read (the rules path joined with the file's
	// relative name); empty when the problem concerns the rules path itself.
	File string
	// Line is 1-based; 0 when the problem concerns the file as a whole.
	Line int
	// Rule is the name of the rule the problem is in; empty when it is not
	// inside a (named) rule, e.g. a server or a YAML syntax error.
	Rule string
	// Reason says what is wrong, in words a rule author understands.
	Reason string
}

// String formats the problem as `file:line: rule "name": reason`, leaving
// out the parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", p.Rule)
	}
	b.WriteString(p.Reason)
	return b.String()
}

// Error is String, so that a Problem can be used as an error.
func (p Problem) Error() string { return p.String() }

// LoadError is returned by Load when the rule set has problems. It lists all
// of them, in file order and then line order.
type LoadError struct {
	Problems []Problem
}

// Error joins the problems, one per line.
func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
