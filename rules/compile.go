package rules

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
)

// celIssue is one problem of a condition, at a 1-based line and column of
// its CEL text (0 when it concerns the whole condition).
type celIssue struct {
	line, col int
	msg       string
}

// errResponseInPre is the reason given for `response` in a pre rule.
const errResponseInPre = "response is not available in pre rules"

// compileCondition parses, type-checks and plans a condition once. A
// condition must have type bool; dyn (e.g. `request.all_data.flag`) is
// accepted and checked at run time.
func compileCondition(src string, pos Position) (cel.Program, []celIssue) {
	e, err := envs()
	if err != nil {
		return nil, []celIssue{{msg: fmt.Sprintf("internal error: CEL environment: %v", err)}}
	}
	env := e.post
	if pos == Pre {
		// Pre rules compile without `response`, so a reference to it is
		// an undeclared one, reported in the author's terms below.
		env = e.pre
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		var out []celIssue
		responseSeen := false
		for _, ce := range iss.Errors() {
			msg := ce.Message
			if pos == Pre && isUndeclaredResponse(msg) {
				if responseSeen {
					continue
				}
				responseSeen = true
				out = append(out, celIssue{msg: errResponseInPre})
				continue
			}
			out = append(out, celIssue{line: ce.Location.Line(), col: ce.Location.Column() + 1, msg: msg})
		}
		return nil, out
	}
	if t := ast.OutputType(); t.Kind() != types.BoolKind && t.Kind() != types.DynKind {
		return nil, []celIssue{{msg: "condition must be bool, got " + t.String()}}
	}
	prg, err := env.Program(ast,
		cel.InterruptCheckFrequency(celInterruptCheckFrequency),
		cel.CostLimit(celCostLimit),
		cel.MemoryLimit(celMemoryLimit),
		cel.EvalOptions(cel.OptOptimize),
	)
	if err != nil {
		return nil, []celIssue{{msg: err.Error()}}
	}
	return prg, nil
}

// isUndeclaredResponse recognises cel-go's message for a reference to the
// undeclared variable response (cel-go may name the whole selection, e.g.
// 'response.json.detail').
func isUndeclaredResponse(msg string) bool {
	rest, ok := strings.CutPrefix(msg, "undeclared reference to '")
	return ok && (strings.HasPrefix(rest, varResponse+"'") || strings.HasPrefix(rest, varResponse+"."))
}
