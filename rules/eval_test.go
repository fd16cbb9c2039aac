package rules

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// compileRule compiles a condition into a rule, failing the test on a
// compile problem.
func compileRule(t testing.TB, cond string, pos Position) *Rule {
	t.Helper()
	prg, issues := compileCondition(cond, pos)
	if issues != nil {
		t.Fatalf("compile %q: %+v", cond, issues)
	}
	return &Rule{Name: "test", File: "t.yaml", Line: 1, Condition: cond, Position: pos, prg: prg}
}

// checkEval compares an Eval result; kind 0 means no error expected.
func checkEval(t *testing.T, cond string, got bool, err error, want bool, kind EvalErrorKind) {
	t.Helper()
	if kind != 0 {
		var ee *EvalError
		if !errors.As(err, &ee) || ee.Kind != kind {
			t.Errorf("%s: err = %v, want a %s error", cond, err, kind)
		}
		if got {
			t.Errorf("%s: true despite the error", cond)
		}
		return
	}
	if err != nil || got != want {
		t.Errorf("%s = %v, %v; want %v", cond, got, err, want)
	}
}

// readResponse parses a captured eduMFA answer of testdata/fixtures into
// what the host gives post rules.
func readResponse(t testing.TB, name string) *ResponseInput {
	t.Helper()
	raw, err := os.ReadFile("testdata/fixtures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &ResponseInput{Status: resp.StatusCode, Headers: HeaderMap(resp.Header), JSON: ParseResponseJSON(body)}
}

func fixtureInput(t testing.TB, response string) *Input {
	req, body := readRequest(t, "form.request.http")
	return &Input{
		Request: RequestInput{
			Method: req.Method, Path: req.URL.Path, RemoteAddr: "127.0.0.2",
			Headers: HeaderMap(req.Header),
			AllData: AllData(req.Method, req.URL.RawQuery, req.Header.Get("Content-Type"), body, req.UserAgent(), nil),
		},
		Response: readResponse(t, response),
		G:        GInput{ClientIP: "127.0.0.2", Event: "validate_check", RequestID: "r-1"},
	}
}

// The CEL variables on real eduMFA bodies: success, reject, the ERR904
// error envelope with "detail": null, a challenge, a federated answer.
func TestEval_FixtureBodies(t *testing.T) {
	tests := []struct {
		fixture, cond string
		want          bool
		kind          EvalErrorKind
	}{
		{"success.response.http", `response.status == 200`, true, 0},
		{"success.response.http", `response.json.result.value == true`, true, 0},
		{"success.response.http", `response.json.result.authentication == "ACCEPT"`, true, 0},
		{"success.response.http", `response.json.detail.otplen == 6`, true, 0},
		{"success.response.http", `response.json.detail.otplen == 6.0`, true, 0},
		{"success.response.http", `response.json.detail.otplen + 1 == 7`, true, 0},
		{"success.response.http", `response.json.detail.otplen > 5`, true, 0},
		{"success.response.http", `response.json.detail.threadid == 139765621962432`, true, 0},
		{"success.response.http", `response.json.time > 1796306464.0`, true, 0},
		{"success.response.http", `response.json.detail.serial.startsWith("CHSP")`, true, 0},
		{"success.response.http", `response.headers["content-type"] == "application/json"`, true, 0},
		{"success.response.http", `response.json.versionnumber == "2.9.5"`, true, 0},
		{"success.response.http", `request.all_data.user == "bob" && request.method == "POST"`, true, 0},

		{"reject.response.http", `response.json.result.value == false`, true, 0},
		{"reject.response.http", `response.json.result.status && response.json.result.authentication == "REJECT"`, true, 0},
		{"reject.response.http", `response.json.detail.message == "wrong otp pin"`, true, 0},
		{"reject.response.http", `has(response.json.detail.serial)`, false, 0},
		{"reject.response.http", `response.json.detail.serial == "x"`, false, EvalMissing},

		{"err904.response.http", `response.status == 400`, true, 0},
		{"err904.response.http", `response.json.result.error.code == 904`, true, 0},
		{"err904.response.http", `response.json.result.error.message.startsWith("ERR904")`, true, 0},
		{"err904.response.http", `has(response.json.detail)`, false, 0},
		{"err904.response.http", `"detail" in response.json`, false, 0},
		{"err904.response.http", `response.json.?detail.?message.orValue("") == ""`, true, 0},
		{"err904.response.http", `response.json.?result.?value.orValue(false) == false`, true, 0},
		{"err904.response.http", `has(response.json.result.value)`, false, 0},
		// An error envelope has no result.value: the rule fails, not the request.
		{"err904.response.http", `response.json.result.value == false`, false, EvalMissing},
		{"err904.response.http", `response.json.detail.message == "x"`, false, EvalMissing},
		// CEL's && and || are commutative on errors: a false (true) side wins.
		{"err904.response.http", `response.json.result.value == false && response.status == 200`, false, 0},
		{"err904.response.http", `response.status == 400 || response.json.result.value`, true, 0},

		{"challenge.response.http", `response.json.result.authentication == "CHALLENGE"`, true, 0},
		{"challenge.response.http", `response.json.result.value == false && size(response.json.detail.multi_challenge) == 0`, true, 0},
		{"challenge.response.http", `response.json.detail.transaction_id == "13872207432955390201"`, true, 0},
		{"challenge.response.http", `response.json.detail.type in ["hotp", "totp"]`, true, 0},

		{"federated.response.http", `response.json.detail.origin == "http://127.0.0.1:5001/validate/check"`, true, 0},
		{"federated.response.http", `response.json.detail.origin.startsWith(g.origin)`, true, 0},
	}
	for _, tt := range tests {
		r := compileRule(t, tt.cond, Post)
		got, err := r.Eval(t.Context(), fixtureInput(t, tt.fixture))
		checkEval(t, tt.fixture+": "+tt.cond, got, err, tt.want, tt.kind)
	}
}

// Every variable of the environment, and the extensions it enables.
func TestEval_Variables(t *testing.T) {
	in := &Input{
		Request: RequestInput{
			Method: "POST", Path: "/validate/check", RemoteAddr: "192.0.2.10",
			Headers: HeaderMap(http.Header{"User-Agent": {"FreeRADIUS"}, "X-Multi": {"a", "b"}}),
			AllData: map[string]any{"user": "alice@staff", "realm": "staff"},
		},
		Response: &ResponseInput{Status: 200, JSON: map[string]any{}},
		G:        GInput{ClientIP: "10.0.0.7", Event: "validate_check", RequestID: "abc", Hops: 1},
	}
	tests := []struct {
		cond string
		want bool
		kind EvalErrorKind
	}{
		{`request.method == "POST" && request.path == "/validate/check"`, true, 0},
		{`request.remote_addr == "192.0.2.10"`, true, 0},
		{`request.headers["user-agent"] == "FreeRADIUS"`, true, 0},
		{`request.headers["x-multi"] == "a, b"`, true, 0},
		{`request.headers.authorization != ""`, false, EvalMissing},
		{`!("authorization" in request.headers)`, true, 0},
		{`g.client_ip == "10.0.0.7" && g.event == "validate_check" && g.request_id == "abc"`, true, 0},
		{`g.hops + 1 == 2 && g.hops < 3`, true, 0},
		{`g.origin == ""`, true, 0},
		{`!has(g.origin) && has(g.client_ip) && has(request.headers)`, true, 0},
		{`size(response.json) == 0`, true, 0},
		// A dyn condition must produce a bool when it runs.
		{`request.all_data.user`, false, EvalNotBool},
	}
	for _, tt := range tests {
		r := compileRule(t, tt.cond, Post)
		got, err := r.Eval(t.Context(), in)
		checkEval(t, tt.cond, got, err, tt.want, tt.kind)
	}
}

// Form values are strings; JSON values keep their types. CEL compares
// across types without error (a string is never equal to a number).
func TestEval_FormStringsVsJSONTypes(t *testing.T) {
	formIn := &Input{Request: RequestInput{AllData: AllData("POST", "", "application/x-www-form-urlencoded",
		[]byte("otplen=6&flag=true&user=bob"), "", nil)}}
	jsonIn := &Input{Request: RequestInput{AllData: AllData("POST", "", "application/json",
		[]byte(`{"otplen": 6, "flag": true, "user": "bob", "ratio": 1.5}`), "", nil)}}
	tests := []struct {
		in   *Input
		cond string
		want bool
		kind EvalErrorKind
	}{
		{formIn, `request.all_data.otplen == "6"`, true, 0},
		{formIn, `request.all_data.otplen == 6`, false, 0},
		{formIn, `int(request.all_data.otplen) == 6`, true, 0},
		{formIn, `request.all_data.flag == "true"`, true, 0},
		{formIn, `request.all_data.flag == true`, false, 0},
		{formIn, `request.all_data.flag`, false, EvalNotBool},
		{formIn, `request.all_data.otplen + 1 == 7`, false, EvalFailed},
		{jsonIn, `request.all_data.otplen == 6`, true, 0},
		{jsonIn, `request.all_data.otplen == "6"`, false, 0},
		{jsonIn, `request.all_data.otplen + 1 == 7`, true, 0},
		{jsonIn, `request.all_data.flag`, true, 0},
		{jsonIn, `request.all_data.flag == "true"`, false, 0},
		{jsonIn, `request.all_data.ratio > 1`, true, 0},
		{jsonIn, `request.all_data.user == "bob"`, true, 0},
	}
	for _, tt := range tests {
		r := compileRule(t, tt.cond, Post)
		got, err := r.Eval(t.Context(), tt.in)
		checkEval(t, tt.cond, got, err, tt.want, tt.kind)
	}
}

func TestEval_PreRulesHaveNoResponse(t *testing.T) {
	r := compileRule(t, `request.all_data.?realm.orValue("") == "staff"`, Pre)
	in := &Input{Request: RequestInput{AllData: map[string]any{"realm": "staff"}}}
	if ok, err := r.Eval(t.Context(), in); !ok || err != nil {
		t.Errorf("pre rule = %v, %v", ok, err)
	}
	// A post rule run without a response fails rather than panics.
	post := compileRule(t, `response.status == 200`, Post)
	if ok, err := post.Eval(t.Context(), in); ok || err == nil {
		t.Errorf("post rule without response = %v, %v", ok, err)
	}
}

// A condition that runs too long is stopped by the request's context.
func TestEval_StoppedByContext(t *testing.T) {
	// About 90k loop steps: under the cost limit, so only the context can
	// stop it early.
	const slow = `lists.range(300).all(i, lists.range(300).all(j, i + j >= 0))`
	r := compileRule(t, slow, Post)
	if ok, err := r.Eval(t.Context(), &Input{}); !ok || err != nil {
		t.Fatalf("without deadline: %v, %v; want true", ok, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Millisecond)
	defer cancel()
	start := time.Now()
	ok, err := r.Eval(ctx, &Input{})
	checkEval(t, slow+" (2ms deadline)", ok, err, false, EvalCancelled)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v despite the deadline", d)
	}

	done, cancelNow := context.WithCancel(t.Context())
	cancelNow()
	ok, err = r.Eval(done, &Input{})
	checkEval(t, slow+" (cancelled)", ok, err, false, EvalCancelled)
	r.logger = slog.New(slog.DiscardHandler)
	if r.Match(done, &Input{}) || r.EvalErrors() != 1 {
		t.Error("Match true, or not counted, on a cancelled context")
	}
}

func TestEval_CostLimit(t *testing.T) {
	const huge = `lists.range(5000).all(i, lists.range(5000).all(j, i + j >= 0))`
	r := compileRule(t, huge, Post)
	ok, err := r.Eval(t.Context(), &Input{})
	checkEval(t, huge, ok, err, false, EvalCostLimit)
	// lists.range is bounded before it allocates.
	r = compileRule(t, `size(lists.range(100000000)) > 0`, Post)
	ok, err = r.Eval(t.Context(), &Input{})
	checkEval(t, "lists.range(1e8)", ok, err, false, EvalFailed)
}

// Match turns evaluation errors into false, counts them, and logs at most
// once a minute per rule, without request values.
func TestMatch_CountsAndRateLimitsLogs(t *testing.T) {
	var buf bytes.Buffer
	r := compileRule(t, `response.json.result.value == false`, Post)
	r.logger = slog.New(slog.NewTextHandler(&buf, nil))
	in := fixtureInput(t, "err904.response.http")
	in.Request.AllData["pass"] = "s3cret-pin"
	in.Request.Headers["authorization"] = "Bearer tok3n"

	for range 3 {
		if r.Match(t.Context(), in) {
			t.Fatal("Match true on a missing key")
		}
	}
	if got := r.EvalErrors(); got != 3 {
		t.Errorf("EvalErrors() = %d, want 3", got)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), buf.String())
	}
	for _, want := range []string{`rule=test`, `kind=missing`, `detail="no such key: value"`, `errors_total=1`, `request_id=r-1`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line lacks %s: %s", want, lines[0])
		}
	}

	// A minute later the next failure logs again, with what was suppressed.
	r.lastLogNs.Add(-int64(evalLogInterval))
	r.Match(t.Context(), in)
	lines = strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "suppressed=2") || !strings.Contains(lines[1], "errors_total=4") {
		t.Errorf("second log line: %q", lines[len(lines)-1])
	}
	if s := buf.String(); strings.Contains(s, "s3cret") || strings.Contains(s, "tok3n") {
		t.Errorf("log leaks request values: %s", s)
	}

	// A matching evaluation is neither counted nor logged.
	ok := compileRule(t, `response.status == 400`, Post)
	ok.logger = r.logger
	if !ok.Match(t.Context(), in) || ok.EvalErrors() != 0 {
		t.Error("a good condition was counted")
	}
}

// Values that cel-go quotes in its errors never reach the log.
func TestMatch_RedactsValues(t *testing.T) {
	var buf bytes.Buffer
	in := &Input{Request: RequestInput{AllData: map[string]any{"pass": "s3cret-pin", "k": "s3cret-key"}}}
	for _, cond := range []string{
		`int(request.all_data.pass) == 1`,
		`request.all_data[request.all_data.k] == "x"`,
		`request.all_data.pass + 1 == 2`,
	} {
		r := compileRule(t, cond, Pre)
		r.logger = slog.New(slog.NewTextHandler(&buf, nil))
		if r.Match(t.Context(), in) {
			t.Errorf("%s matched", cond)
		}
		var ee *EvalError
		if _, err := r.Eval(t.Context(), in); !errors.As(err, &ee) {
			t.Errorf("%s: err = %v", cond, err)
		}
	}
	if s := buf.String(); strings.Contains(s, "s3cret") || strings.Count(s, "\n") != 3 {
		t.Errorf("log:\n%s", s)
	}
}

func TestEval_Concurrent(t *testing.T) {
	s := mustLoad(t, "testdata/valid")
	r, _ := s.Rule("federate-rejected")
	in := fixtureInput(t, "reject.response.http")
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 200 {
				ok = ok && r.Match(context.Background(), in)
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("federate-rejected did not match the reject fixture")
		}
	}
}

// TestEval_MemoryLimit: the cost limit counts steps, not bytes; a
// condition that builds a huge value from request data is stopped by the
// memory limit before it exhausts the machine.
func TestEval_MemoryLimit(t *testing.T) {
	const bomb = `lists.range(10000).map(i, string(request.all_data.?pass.orValue(""))).join("").size() > 0`
	r := compileRule(t, bomb, Pre)
	in := &Input{Request: RequestInput{AllData: map[string]any{"pass": strings.Repeat("x", 1<<20)}}}
	start := time.Now()
	ok, err := r.Eval(t.Context(), in)
	if ok || err == nil {
		t.Fatalf("the memory bomb evaluated: %v %v", ok, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stopped only after %v", d)
	}
	// An ordinary condition over the same big value still works.
	r = compileRule(t, `size(string(request.all_data.pass)) == 1048576`, Pre)
	if ok, err := r.Eval(t.Context(), in); !ok || err != nil {
		t.Fatalf("big value, small condition: %v %v", ok, err)
	}
}
