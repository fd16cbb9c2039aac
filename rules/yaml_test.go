package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestYAMLErrorLine(t *testing.T) {
	data := []byte("a: 1\nb: *x\nc: \x01\n")
	tests := []struct {
		msg    string
		line   int
		reason string
	}{
		// Scanner errors: yaml.v3 prints the 1-based line.
		{"yaml: line 3: found character that cannot start any token", 3, "found character that cannot start any token"},
		// Parser errors: it prints the 0-based line of the mark.
		{"yaml: line 2: did not find expected key", 3, "did not find expected key"},
		{"yaml: unknown anchor 'x' referenced", 2, "unknown anchor 'x' referenced"},
		{"yaml: control characters are not allowed", 3, "control characters are not allowed"},
		{"yaml: mapping values are not allowed in this context", 1, "mapping values are not allowed in this context"},
	}
	for _, tt := range tests {
		src := data
		if tt.line == 1 {
			src = []byte("a: b: c\n")
		}
		line, reason := yamlErrorLine(tt.msg, src)
		if line != tt.line || reason != tt.reason {
			t.Errorf("yamlErrorLine(%q) = %d, %q; want %d, %q", tt.msg, line, reason, tt.line, tt.reason)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := map[string]string{
		`"True"`:                `string "True"`,
		`True`:                  `bool True`,
		`yes`:                   `string "yes"`,
		`5`:                     `int 5`,
		`1.5`:                   `float 1.5`,
		`~`:                     `null`,
		`[a]`:                   `list`,
		`{a: 1}`:                `mapping`,
		`2024-01-01`:            `timestamp 2024-01-01`,
		`!custom x`:             `!custom "x"`,
		strings.Repeat("a", 50): `string "` + strings.Repeat("a", 37) + `..."`,
	}
	for src, want := range tests {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte("v: "+src), &doc); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := describe(doc.Content[0].Content[1]); got != want {
			t.Errorf("describe(%s) = %q, want %q", src, got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"name", "event", "condition", "on_error"}
	tests := map[string]string{
		"conditon": ` (did you mean "condition"?)`,
		"Event":    ` (did you mean "event"?)`,
		"onerror":  ` (did you mean "on_error"?)`,
		"verify":   ``,
		"":         ``,
	}
	for in, want := range tests {
		if got := suggest(in, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
	if d := editDistance("kitten", "sitting"); d != 3 {
		t.Errorf("editDistance = %d, want 3", d)
	}
}

func TestConditionLine(t *testing.T) {
	var doc yaml.Node
	src := "a: x == 1\nb: |\n  x &&\n  y\nc: >-\n  x &&\n  y\nd: \"x\"\n"
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Content[0]
	tests := []struct {
		node    *yaml.Node
		celLine int
		want    int
	}{
		{m.Content[1], 1, 1}, // plain
		{m.Content[3], 1, 3}, // literal: first content line
		{m.Content[3], 2, 4}, // literal: second line
		{m.Content[3], 0, 3}, // whole condition: first content line
		{m.Content[5], 1, 6}, // folded into one CEL line
		{m.Content[7], 1, 8}, // quoted
	}
	for _, tt := range tests {
		if got := conditionLine(tt.node, tt.celLine); got != tt.want {
			t.Errorf("conditionLine(line %d, style %v, %d) = %d, want %d", tt.node.Line, tt.node.Style, tt.celLine, got, tt.want)
		}
	}
}

func TestMerge_Bounded(t *testing.T) {
	// Each level merges the previous one ten times: 10^8 expansions if
	// unbounded.
	var sb strings.Builder
	sb.WriteString("servers:\n  l0: &l0 {url: https://a.example.org}\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&sb, "  l%d: &l%d\n    <<: [", i, i)
		for j := range 10 {
			if j > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "*l%d", i-1)
		}
		sb.WriteString("]\n")
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"m.yaml": sb.String()})
	start := time.Now()
	_, err := Load(dir, testHandlers())
	if err == nil || !strings.Contains(err.Error(), "merges (<<) expand to more than 100000 mappings") {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}
