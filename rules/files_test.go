package rules

import "testing"

func TestIsRuleFileName(t *testing.T) {
	for name, want := range map[string]bool{
		"rules.yaml":       true,
		"10-federate.yaml": true,
		"rules_test.yaml":  false,
		".rules.yaml":      false,
		".yaml":            false,
		"rules.yaml~":      false,
		".rules.yaml.swp":  false,
		"rules.yaml.swp":   false,
		"rules.yml":        false,
		"rules.YAML":       false,
		"rules.yaml.bak":   false,
		"rules.test.yaml":  true,
		"test_rules.yaml":  true,
		"rules_testx.yaml": true,
		"..data":           false,
		"notes.md":         false,
	} {
		if got := isRuleFileName(name); got != want {
			t.Errorf("isRuleFileName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestHashSources(t *testing.T) {
	a := []*source{{path: "a.yaml", data: []byte("xy")}, {path: "b.yaml", data: []byte("z")}}
	// The same bytes split differently between names and contents.
	b := []*source{{path: "a.yaml", data: []byte("x")}, {path: "b.yaml", data: []byte("yz")}}
	c := []*source{{path: "a.yamlx", data: []byte("y")}, {path: "b.yaml", data: []byte("z")}}
	ha, hb, hc := hashSources(a), hashSources(b), hashSources(c)
	if ha == hb || ha == hc || hb == hc {
		t.Errorf("hash collision: %s %s %s", ha, hb, hc)
	}
	if hashSources(nil) != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("hash of nothing = %s, want sha256 of empty input", hashSources(nil))
	}
}
