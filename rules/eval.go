package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// evalLogInterval is how often at most one rule logs its failing
// evaluations; the others are counted and reported with the next line.
const evalLogInterval = time.Minute

// EvalErrorKind classifies why a condition could not be evaluated.
type EvalErrorKind int

// Kinds of evaluation errors.
const (
	// EvalMissing: a key, field or index the condition reads is absent,
	// e.g. result.value of an error envelope.
	EvalMissing EvalErrorKind = iota + 1
	// EvalNotBool: a dyn condition yielded something other than a bool.
	EvalNotBool
	// EvalCancelled: the request's context ended (deadline, disconnect).
	EvalCancelled
	// EvalCostLimit: the condition exceeded the cost limit.
	EvalCostLimit
	// EvalFailed: any other run-time error (no matching overload for the
	// values at hand, a failed conversion, ipIn on a malformed address).
	EvalFailed
)

// String names the kind for logs and metrics.
func (k EvalErrorKind) String() string {
	switch k {
	case EvalMissing:
		return "missing"
	case EvalNotBool:
		return "not_bool"
	case EvalCancelled:
		return "cancelled"
	case EvalCostLimit:
		return "cost_limit"
	case EvalFailed:
		return "failed"
	}
	return "unknown"
}

// EvalError is a condition that could not be evaluated. Its message is
// cel-go's and may quote request data (a failed conversion names the value):
// do not log it; Match logs a redacted form.
type EvalError struct {
	Rule string
	Kind EvalErrorKind
	Err  error
}

// Error names the rule and the kind, then cel-go's message (which may quote
// request data).
func (e *EvalError) Error() string {
	return fmt.Sprintf("rule %q: condition: %s: %v", e.Rule, e.Kind, e.Err)
}

// Unwrap returns cel-go's error, e.g. an interpreter.EvalCancelledError.
func (e *EvalError) Unwrap() error { return e.Err }

// Eval evaluates the rule's condition and returns its raw result: an
// *EvalError when it could not be evaluated. ctx bounds the evaluation
// (checked every celInterruptCheckFrequency loop steps). Eval neither counts
// nor logs; the host calls Match.
func (r *Rule) Eval(ctx context.Context, in *Input) (bool, error) {
	if r.prg == nil {
		return false, &EvalError{Rule: r.Name, Kind: EvalFailed, Err: errors.New("rule has no compiled condition")}
	}
	if in == nil {
		return false, &EvalError{Rule: r.Name, Kind: EvalFailed, Err: errors.New("no input")}
	}
	out, _, err := r.prg.ContextEval(ctx, (*activation)(in))
	if err != nil {
		return false, &EvalError{Rule: r.Name, Kind: classify(ctx, err), Err: err}
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, &EvalError{Rule: r.Name, Kind: EvalNotBool, Err: fmt.Errorf("condition yielded %s, want bool", out.Type().TypeName())}
	}
	return bool(b), nil
}

func classify(ctx context.Context, err error) EvalErrorKind {
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) {
		if cancelled.Cause == interpreter.ContextCancelled {
			return EvalCancelled
		}
		return EvalCostLimit
	}
	if ctx.Err() != nil {
		return EvalCancelled
	}
	// cel-go's resolution errors are unexported; their messages are stable.
	msg := err.Error()
	for _, p := range []string{"no such key", "no such attribute", "index out of bounds", "no such field"} {
		if strings.HasPrefix(msg, p) {
			return EvalMissing
		}
	}
	return EvalFailed
}

// Match reports whether the rule applies to the request. A condition that
// cannot be evaluated (a missing key, the cost limit, a cancelled context, a
// non-bool result) does not match: it is counted in EvalErrors and logged at
// most once a minute per rule, without request values.
func (r *Rule) Match(ctx context.Context, in *Input) bool {
	ok, err := r.Eval(ctx, in)
	if err == nil {
		return ok
	}
	total := r.evalErrors.Add(1)
	now := time.Now().UnixNano()
	last := r.lastLogNs.Load()
	if now-last < int64(evalLogInterval) || !r.lastLogNs.CompareAndSwap(last, now) {
		r.suppressed.Add(1)
		return false
	}
	var ee *EvalError
	errors.As(err, &ee)
	logger := r.logger
	if logger == nil {
		logger = slog.Default()
	}
	attrs := []any{
		"rule", r.Name, "file", r.File, "line", r.Line,
		"kind", ee.Kind.String(), "detail", r.redact(ee),
		"errors_total", total, "suppressed", r.suppressed.Swap(0),
	}
	if in != nil {
		attrs = append(attrs, "event", in.G.Event, "request_id", in.G.RequestID)
	}
	logger.Warn("rules: condition failed, rule skipped", attrs...)
	return false
}

// EvalErrors is how many evaluations of this rule's condition failed in
// Match.
func (r *Rule) EvalErrors() uint64 { return r.evalErrors.Load() }

// redact returns what of an evaluation error can be logged. cel-go quotes
// values in some messages ("no such key: <key>", conversion errors), and
// keys may be computed from request data; only text the rule author wrote
// passes.
func (r *Rule) redact(ee *EvalError) string {
	switch ee.Kind {
	case EvalCancelled, EvalCostLimit, EvalNotBool:
		return ee.Err.Error()
	case EvalMissing:
		msg := ee.Err.Error()
		if _, key, ok := strings.Cut(msg, ": "); ok && key != "" && strings.Contains(r.Condition, key) {
			return msg
		}
		return "a key, field or index read by the condition is absent"
	}
	msg := ee.Err.Error()
	if strings.HasPrefix(msg, "no matching overload") || strings.HasPrefix(msg, "no such overload") {
		return "no such overload (a value has an unexpected type)"
	}
	return "evaluation error (details withheld: may contain request data)"
}
