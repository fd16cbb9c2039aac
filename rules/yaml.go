package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// yaml.v3 applies KnownFields only when decoding into structs, and a decoded
// struct has lost its line numbers. So rule files are decoded into yaml.Node
// trees and walked here: every unknown key, wrong type and duplicate is
// reported at its own line.

// pair is one key/value of a YAML mapping.
type pair struct {
	key, value *yaml.Node
}

// scope reports problems for one place of one file: a file's top level, a
// server, or a rule.
type scope struct {
	rep  *report
	src  *source
	rule string
	// prefix starts every reason, e.g. `server "child": `.
	prefix string
}

func (sc scope) errorf(line int, format string, args ...any) {
	sc.rep.add(sc.src, line, sc.rule, sc.prefix+fmt.Sprintf(format, args...))
}

// parseDocuments decodes every YAML document of data. A syntax error is
// reported with the best line yaml.v3 lets us know, and ends the file.
func parseDocuments(sc scope, data []byte) []*yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			line, reason := yamlErrorLine(err.Error(), data)
			sc.errorf(line, "YAML syntax: %s", reason)
			return nil
		}
		docs = append(docs, &doc)
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the messages of yaml.v3's parser (as opposed to its
// scanner). For those yaml.v3 prints the 0-based line of the mark, for
// scanner errors the 1-based one.
var yamlParserProblems = []string{
	"did not find expected <",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or",
	"found duplicate %",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// yamlErrorLine turns a yaml.v3 error message into a 1-based line and the
// message without its "yaml: line N:" prefix.
func yamlErrorLine(msg string, data []byte) (int, string) {
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		for _, p := range yamlParserProblems {
			if strings.HasPrefix(m[2], p) {
				line++
				break
			}
		}
		return line, m[2]
	}
	reason := strings.TrimPrefix(msg, "yaml: ")
	if name, ok := strings.CutPrefix(reason, "unknown anchor '"); ok {
		name, _, _ = strings.Cut(name, "'")
		if i := bytes.Index(data, []byte("*"+name)); i >= 0 {
			return 1 + bytes.Count(data[:i], []byte("\n")), reason
		}
	}
	if i := firstUnreadable(data); i >= 0 {
		return 1 + bytes.Count(data[:i], []byte("\n")), reason
	}
	// yaml.v3 leaves out the line when the mark is on the first line.
	return 1, reason
}

// firstUnreadable returns the offset of the first byte YAML refuses to read
// (invalid UTF-8 or a control character), or -1.
func firstUnreadable(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || (r >= 0x80 && r < 0xa0 && r != 0x85) {
			return i
		}
		i += size
	}
	return -1
}

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names the YAML type of a node, with the value for scalars, for
// messages like `want bool, got string "True"`.
func describe(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.DocumentNode:
		return "document"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch tag := n.ShortTag(); tag {
	case "!!null":
		return "null"
	case "!!str":
		return "string " + strconv.Quote(v)
	case "!!bool", "!!int", "!!float", "!!timestamp":
		return strings.TrimPrefix(tag, "!!") + " " + v
	default:
		return tag + " " + strconv.Quote(v)
	}
}

// pairs returns the pairs of mapping n in order, with YAML merge keys (<<)
// expanded (explicit keys win) and duplicate keys reported. A null node is
// an empty mapping. ok is false when n is not a mapping.
func (sc scope) pairs(n *yaml.Node, what string) ([]pair, bool) {
	if isNull(n) {
		return nil, true
	}
	m := resolve(n)
	if m.Kind != yaml.MappingNode {
		sc.errorf(n.Line, "%s: want a mapping, got %s", what, describe(n))
		return nil, false
	}
	return sc.mappingPairs(m, what, 0, true), true
}

// Merge keys (<<) can nest and repeat aliases, so their expansion is
// bounded like yaml.v3 bounds alias expansion when decoding into values.
const (
	// maxMergeDepth bounds merges of merges (<<: *a where a merges b ...);
	// deeper is a mistake or a cycle.
	maxMergeDepth = 16
	// maxMergeSteps bounds the mappings expanded by merges in one load.
	maxMergeSteps = 100_000
)

// mappingPairs lists the pairs of mapping m, merges expanded. Only the
// mapping written at the place being checked reports its own duplicates;
// mappings reached through a merge are reported where they are written.
func (sc scope) mappingPairs(m *yaml.Node, what string, depth int, report bool) []pair {
	seen := map[string]int{}
	var out, merged []pair
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, sc.mergePairs(v, what, depth+1)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			if report {
				sc.errorf(k.Line, "%s: keys must be plain strings, got %s", what, describe(k))
			}
			continue
		}
		if first, dup := seen[k.Value]; dup {
			if report {
				sc.errorf(k.Line, "%s: duplicate key %q (first at line %d)", what, k.Value, first)
			}
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{k, v})
	}
	for _, p := range merged {
		if _, dup := seen[p.key.Value]; !dup {
			seen[p.key.Value] = p.key.Line
			out = append(out, p)
		}
	}
	return out
}

// mergePairs returns the pairs a merge key (<<) brings in: from one mapping
// or from a list of mappings, earlier ones winning.
func (sc scope) mergePairs(v *yaml.Node, what string, depth int) []pair {
	r := resolve(v)
	if depth > maxMergeDepth || r == nil {
		sc.errorf(v.Line, "%s: merge (<<) nested too deep", what)
		return nil
	}
	if sc.rep.mergeSteps++; sc.rep.mergeSteps > maxMergeSteps {
		if sc.rep.mergeSteps == maxMergeSteps+1 {
			sc.errorf(v.Line, "%s: merges (<<) expand to more than %d mappings", what, maxMergeSteps)
		}
		return nil
	}
	switch r.Kind {
	case yaml.MappingNode:
		return sc.mappingPairs(r, what, depth, false)
	case yaml.SequenceNode:
		var out []pair
		seen := map[string]bool{}
		for _, item := range r.Content {
			m := resolve(item)
			if m == nil || m.Kind != yaml.MappingNode {
				sc.errorf(item.Line, "%s: merge (<<) wants mappings, got %s", what, describe(item))
				continue
			}
			for _, p := range sc.mappingPairs(m, what, depth, false) {
				if !seen[p.key.Value] {
					seen[p.key.Value] = true
					out = append(out, p)
				}
			}
		}
		return out
	}
	sc.errorf(v.Line, "%s: merge (<<) wants a mapping, got %s", what, describe(v))
	return nil
}

// fields is pairs keyed by name, reporting keys that are not in known.
func (sc scope) fields(n *yaml.Node, what string, known []string) (map[string]pair, bool) {
	ps, ok := sc.pairs(n, what)
	if !ok {
		return nil, false
	}
	out := make(map[string]pair, len(ps))
	for _, p := range ps {
		if !contains(known, p.key.Value) {
			sc.errorf(p.key.Line, "unknown key %q%s", p.key.Value, suggest(p.key.Value, known))
			continue
		}
		out[p.key.Value] = p
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scalarOf returns the resolved scalar node of p's value if its tag is tag.
func scalarOf(p pair, tag string) (*yaml.Node, bool) {
	n := resolve(p.value)
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != tag {
		return nil, false
	}
	return n, true
}

// str reads a YAML string.
func (sc scope) str(p pair, name string) (string, bool) {
	n, ok := scalarOf(p, "!!str")
	if !ok {
		sc.errorf(p.value.Line, "%s: want string, got %s", name, describe(p.value))
		return "", false
	}
	return n.Value, true
}

// boolean reads a YAML bool (true/false; "yes", "on" and quoted values are
// strings in YAML 1.2 and refused).
func (sc scope) boolean(p pair, name string) (bool, bool) {
	n, ok := scalarOf(p, "!!bool")
	var b bool
	if ok && n.Decode(&b) == nil {
		return b, true
	}
	sc.errorf(p.value.Line, "%s: want bool, got %s", name, describe(p.value))
	return false, false
}

// integer reads a YAML int.
func (sc scope) integer(p pair, name string) (int64, bool) {
	n, ok := scalarOf(p, "!!int")
	var i int64
	if ok && n.Decode(&i) == nil {
		return i, true
	}
	if ok {
		sc.errorf(p.value.Line, "%s: integer %s out of range", name, n.Value)
		return 0, false
	}
	sc.errorf(p.value.Line, "%s: want int, got %s", name, describe(p.value))
	return 0, false
}

// stringList reads a string or a list of strings. Each returned string comes
// with the line it is on.
func (sc scope) stringList(p pair, name string) ([]string, []int, bool) {
	n := resolve(p.value)
	if n != nil && n.Kind == yaml.ScalarNode {
		s, ok := sc.str(p, name)
		return []string{s}, []int{p.value.Line}, ok
	}
	if n == nil || n.Kind != yaml.SequenceNode {
		sc.errorf(p.value.Line, "%s: want string or list of strings, got %s", name, describe(p.value))
		return nil, nil, false
	}
	var out []string
	var lines []int
	ok := true
	for _, item := range n.Content {
		s, good := sc.str(pair{p.key, item}, name)
		if !good {
			ok = false
			continue
		}
		out = append(out, s)
		lines = append(lines, item.Line)
	}
	return out, lines, ok
}

// suggest returns ` (did you mean "x"?)` for the closest known word within
// two edits, or "".
func suggest(word string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(word), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
