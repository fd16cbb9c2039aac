package rules

import (
	"reflect"
	"regexp"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"
)

// Limits of the CEL environment. A condition runs inside the request that
// triggered it, so each one is bounded in size, time and cost.
const (
	// celCostLimit bounds one evaluation in CEL cost units (about one per
	// field access, comparison or loop step). A typical condition costs
	// under 20; 1e6 is about 0.1 s of CPU (Kubernetes uses the same
	// per-call limit), and a condition that exceeds it is stopped and
	// counts as false.
	celCostLimit = 1_000_000
	// celMemoryLimit bounds the values one evaluation builds, in cel-go's
	// size units (one per list or map element, one per 10 bytes of a
	// string): about 40 MB. The cost limit counts steps, not bytes, so
	// without it `lists.range(10000).map(i, request.all_data.pass)` with a
	// 1 MB password would build a 10 GB list within its cost budget.
	celMemoryLimit = 4_000_000
	// celInterruptCheckFrequency is how many comprehension steps run
	// between two looks at the request's context, so a deadline or a
	// client disconnect stops a long condition.
	celInterruptCheckFrequency = 100
	// celMaxConditionBytes bounds the text of one condition.
	celMaxConditionBytes = 16 << 10
	// celMaxRangeSize bounds lists.range(n), which allocates n elements
	// before the cost limit can see them.
	celMaxRangeSize = 10_000
)

// Names of the CEL variables.
const (
	varRequest  = "request"
	varResponse = "response"
	varG        = "g"
)

// celEnvs holds the two environments: pre rules see no `response`.
type celEnvs struct {
	pre, post *cel.Env
}

// envs is built once: an Env is immutable and safe for concurrent use, and
// every rule set compiles against the same declarations.
var envs = sync.OnceValues(func() (*celEnvs, error) {
	pre, err := newEnv(false)
	if err != nil {
		return nil, err
	}
	post, err := newEnv(true)
	if err != nil {
		return nil, err
	}
	return &celEnvs{pre: pre, post: post}, nil
})

// newEnv declares request and g (and response for post rules) as native Go
// structs: a typo such as `g.client` or `response.stauts` is a load error,
// `response.status` and `g.hops` are ints, while everything under
// `request.all_data`, `request.headers` and `response.json` is looked up at
// run time.
func newEnv(withResponse bool) (*cel.Env, error) {
	opts := []cel.EnvOption{
		ext.NativeTypes(
			reflect.TypeFor[RequestInput](),
			reflect.TypeFor[ResponseInput](),
			reflect.TypeFor[GInput](),
			ext.ParseStructTags(true),
		),
		cel.Variable(varRequest, cel.ObjectType("rules.RequestInput")),
		cel.Variable(varG, cel.ObjectType("rules.GInput")),
		ext.Strings(),
		ext.Encoders(),
		ext.Math(),
		ext.Lists(ext.ListsMaxRangeSize(celMaxRangeSize)),
		ext.Sets(),
		ext.Bindings(),
		cel.OptionalTypes(),
		ipInLib(),
		cel.ParserExpressionSizeLimit(celMaxConditionBytes),
		cel.ASTValidators(literalValidator{}, cel.ValidateDurationLiterals(), cel.ValidateTimestampLiterals()),
	}
	if withResponse {
		opts = append(opts, cel.Variable(varResponse, cel.ObjectType("rules.ResponseInput")))
	}
	return cel.NewEnv(opts...)
}

// ipInLib declares ipIn(ip, list): list is eduMFA's client_ip syntax
// ("10.0.0.0/8,-10.0.0.13") or a list of such entries. See IPIn.
//
//	ipIn(g.client_ip, "10.0.0.0/8, -10.0.0.13")
//	ipIn(g.client_ip, ["192.0.2.0/24", "2001:db8::/32"])
func ipInLib() cel.EnvOption {
	return cel.Function("ipIn",
		cel.Overload("ipIn_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
			cel.BinaryBinding(ipInString)),
		cel.Overload("ipIn_string_list_string", []*cel.Type{cel.StringType, cel.ListType(cel.StringType)}, cel.BoolType,
			cel.BinaryBinding(ipInList)),
	)
}

func ipInString(ip, list ref.Val) ref.Val {
	s, ok1 := ip.(types.String)
	l, ok2 := list.(types.String)
	if !ok1 || !ok2 {
		return types.MaybeNoSuchOverloadErr(list)
	}
	in, err := IPIn(string(s), string(l))
	if err != nil {
		return types.WrapErr(err)
	}
	return types.Bool(in)
}

func ipInList(ip, list ref.Val) ref.Val {
	s, ok1 := ip.(types.String)
	l, ok2 := list.(traits.Lister)
	if !ok1 || !ok2 {
		return types.MaybeNoSuchOverloadErr(list)
	}
	addr, err := parseClientIP(string(s))
	if err != nil {
		return types.WrapErr(err)
	}
	var m ipMatch
	for it := l.Iterator(); it.HasNext() == types.True; {
		e, ok := it.Next().(types.String)
		if !ok {
			return types.NewErr("ipIn: list entries must be strings")
		}
		if err := m.add(addr, string(e)); err != nil {
			return types.WrapErr(err)
		}
	}
	return types.Bool(m.result())
}

// literalValidator reports bad constant arguments at load time, where the
// author sees them with a line, instead of letting the rule fail on every
// request: regular expressions of matches() and the networks of ipIn().
type literalValidator struct{}

func (literalValidator) Name() string { return "rules.literals" }

func (literalValidator) Validate(_ *cel.Env, _ cel.ValidatorConfig, a *ast.AST, iss *cel.Issues) {
	root := ast.NavigateAST(a)
	for _, call := range ast.MatchDescendants(root, ast.FunctionMatcher("matches")) {
		c := call.AsCall()
		args := c.Args()
		idx := 1
		if c.IsMemberFunction() {
			idx = 0
		}
		if len(args) <= idx {
			continue
		}
		if s, ok := stringLiteral(args[idx]); ok {
			if _, err := regexp.Compile(s); err != nil {
				iss.ReportErrorAtID(args[idx].ID(), "invalid regular expression: %v", err)
			}
		}
	}
	for _, call := range ast.MatchDescendants(root, ast.FunctionMatcher("ipIn")) {
		args := call.AsCall().Args()
		if len(args) != 2 {
			continue
		}
		if s, ok := stringLiteral(args[0]); ok {
			if _, err := parseClientIP(s); err != nil {
				iss.ReportErrorAtID(args[0].ID(), "%v", err)
			}
		}
		var lits []ast.Expr
		if args[1].Kind() == ast.ListKind {
			lits = args[1].AsList().Elements()
		} else {
			lits = []ast.Expr{args[1]}
		}
		for _, lit := range lits {
			if s, ok := stringLiteral(lit); ok {
				if err := checkIPList(s); err != nil {
					iss.ReportErrorAtID(lit.ID(), "%v", err)
				}
			}
		}
	}
}

func stringLiteral(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}
