package rules

import (
	"slices"
	"testing"
)

// testdata/order: a.yaml then b.yaml (name order); ordering ascending, ties
// in file order, "*" rules in every event, inactive rules only in All().
func TestSet_OrderingAndFileOrder(t *testing.T) {
	s := mustLoad(t, "testdata/order")
	tests := []struct {
		event string
		pos   Position
		want  []string
	}{
		{"validate_check", Post, []string{"b-0", "a-10", "a-star-10", "b-10", "a-20"}},
		{"validate_check", Pre, []string{"b-pre"}},
		{"token_init", Post, []string{"a-star-10", "b-10"}},
		{"auth", Post, []string{"a-star-10"}},
		{"auth", Pre, nil},
		{"no_such_event", Post, nil},
		{"", Post, nil},
		{"validate_check", Position("during"), nil},
	}
	for _, tt := range tests {
		if got := ruleNames(s.Rules(tt.event, tt.pos)); !slices.Equal(got, tt.want) {
			t.Errorf("Rules(%q, %q) = %v, want %v", tt.event, tt.pos, got, tt.want)
		}
	}
	wantAll := []string{"b-pre", "a-inactive", "b-0", "a-10", "a-star-10", "b-10", "a-20"}
	if got := ruleNames(s.All()); !slices.Equal(got, wantAll) {
		t.Errorf("All() = %v, want %v", got, wantAll)
	}
	if got, want := s.Summary(), "7 rules (6 active), 1 server, events: validate_check, *, token_init"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	// The shared slice is clipped: appending to it cannot reorder the set.
	list := s.Rules("validate_check", Post)
	_ = append(list, &Rule{Name: "intruder"})
	if got := ruleNames(s.Rules("validate_check", Post)); len(got) != 5 {
		t.Errorf("append leaked into the set: %v", got)
	}
}

func TestSet_EvalErrorsSums(t *testing.T) {
	s := mustLoad(t, "testdata/order")
	s.All()[0].evalErrors.Add(2)
	s.All()[3].evalErrors.Add(1)
	if got := s.EvalErrors(); got != 3 {
		t.Errorf("EvalErrors() = %d, want 3", got)
	}
}
