package rules

import (
	"strings"
	"testing"
)

func TestCompileCondition(t *testing.T) {
	tests := []struct {
		cond string
		pos  Position
		want []string // issue messages; nil: compiles
	}{
		{`true`, Post, nil},
		{`request.all_data.flag`, Post, nil}, // dyn: checked when it runs
		{`response.json.?result.?value.orValue(false) == false`, Post, nil},
		{`request.path`, Post, []string{"condition must be bool, got string"}},
		{`g.hops`, Post, []string{"condition must be bool, got int"}},
		{`request.headers`, Post, []string{"condition must be bool, got map(string, string)"}},
		{`response.json.?detail`, Post, []string{"condition must be bool, got optional_type(dyn)"}},
		{`response.status == 200`, Pre, []string{errResponseInPre}},
		// Several references give one message, other problems still show.
		{`response.status == 200 || response.json.x || g.nope`, Pre, []string{errResponseInPre, "undefined field 'nope'"}},
		{`has(response.json.detail)`, Pre, []string{errResponseInPre}},
		{`responses == 1`, Pre, []string{"undeclared reference to 'responses'"}},
		{`request.all_data.user.matches("[")`, Post, []string{"invalid regular expression: error parsing regexp: missing closing ]: `[`"}},
		{`matches(request.path, "(?<name>x)")`, Post, nil},
		// Constant sub-expressions are folded at load, so their errors show there.
		{`int("abc") == 1`, Post, []string{"type conversion error from 'string' to 'int'"}},
		{`timestamp("yesterday") < timestamp("2026-01-01T00:00:00Z")`, Post, []string{"invalid timestamp argument"}},
		{strings.Repeat("x", celMaxConditionBytes+1), Post, []string{"expression code point size exceeds limit: size: 16385, limit 16384"}},
	}
	for _, tt := range tests {
		prg, issues := compileCondition(tt.cond, tt.pos)
		var got []string
		for _, is := range issues {
			got = append(got, is.msg)
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("compile(%.60q, %s) = %q, want %q", tt.cond, tt.pos, got, tt.want)
		}
		if (prg == nil) != (tt.want != nil) {
			t.Errorf("compile(%.60q): program %v with issues %v", tt.cond, prg != nil, got)
		}
	}
}
