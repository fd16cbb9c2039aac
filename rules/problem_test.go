package rules

import "testing"

func TestProblem_String(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.yaml", Line: 3, Rule: "r", Reason: "bad"}, `a.yaml:3: rule "r": bad`},
		{Problem{File: "a.yaml", Line: 3, Reason: "bad"}, `a.yaml:3: bad`},
		{Problem{File: "a.yaml", Reason: "bad"}, `a.yaml: bad`},
		{Problem{Reason: "bad"}, `bad`},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want || tt.p.Error() != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
