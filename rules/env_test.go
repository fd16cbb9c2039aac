package rules

import "testing"

// The cel-go extensions the environment enables: strings, encoders, math,
// lists, sets, bindings and optional types; matches() is built in.
func TestEnv_Extensions(t *testing.T) {
	in := &Input{
		Request: RequestInput{AllData: map[string]any{"user": "alice@staff", "realm": "staff"}},
		G:       GInput{ClientIP: "10.0.0.7", Event: "validate_check", Hops: 1},
	}
	tests := []struct {
		cond string
		want bool
		kind EvalErrorKind
	}{
		{`request.all_data.user.split("@")[1] == request.all_data.realm`, true, 0},
		{`request.all_data.user.upperAscii().lowerAscii() == "alice@staff"`, true, 0},
		{`"x".format([]) == "x" && "%s/%d".format(["a", 1]) == "a/1"`, true, 0},
		{`base64.encode(b"hi") == "aGk="`, true, 0},
		{`math.greatest(g.hops, 5) == 5 && math.abs(-2) == 2`, true, 0},
		{`lists.range(3) == [0, 1, 2] && [3, 1, 2].sort() == [1, 2, 3] && [1, 2, 3].slice(1, 2) == [2]`, true, 0},
		{`sets.contains(["validate_check", "auth"], [g.event])`, true, 0},
		{`cel.bind(u, request.all_data.user, u.endsWith("@" + request.all_data.realm))`, true, 0},
		{`request.all_data.?nope.orValue("dflt") == "dflt"`, true, 0},
		{`optional.of(1).hasValue() && !optional.none().hasValue()`, true, 0},
		{`request.all_data.user.matches("^alice@")`, true, 0},
	}
	for _, tt := range tests {
		r := compileRule(t, tt.cond, Pre)
		got, err := r.Eval(t.Context(), in)
		checkEval(t, tt.cond, got, err, tt.want, tt.kind)
	}
}

// Disabled or unknown functions are load errors, not run-time surprises.
func TestEnv_NotEnabled(t *testing.T) {
	for _, cond := range []string{
		`ip("10.0.0.1").family() == 4`, // ext.Network is not enabled: use ipIn
		`ipInAny(g.client_ip, ["10.0.0.0/8"])`,
	} {
		if _, issues := compileCondition(cond, Pre); len(issues) == 0 {
			t.Errorf("%s compiled", cond)
		}
	}
}
