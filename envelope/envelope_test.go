package envelope

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// normalised drops "signature" and zeroes "time", the two members that
// differ between any two eduMFA answers to the same request.
func normalised(t *testing.T, body []byte) []byte {
	t.Helper()
	o, err := DecodeObject(body)
	if err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	o.Delete("signature")
	if _, ok := o.Get("time"); !ok {
		t.Fatalf("no time member in %s", body)
	}
	o.Set("time", 0)
	out, err := Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var eduMFA295 = Maker{Version: "eduMFA 2.9.5", VersionNumber: "2.9.5"}

func TestMaker_ErrorHasTheShapeOfEduMFAErrors(t *testing.T) {
	tests := []struct {
		fixture string
		code    int
		message string
	}{
		{"c04-child-post-unknown-user.response.http", CodeUser, ErrText(CodeUser, "User <nobody@childrealm> does not exist.")},
		{"c05-child-post-missing-pass.response.http", CodeParameter, ErrText(CodeParameter, "Missing parameter: 'pass'")},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got := normalised(t, eduMFA295.Error(tt.code, tt.message, nil))
			want := normalised(t, fixtureBody(t, tt.fixture))
			if !bytes.Equal(got, want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestMaker_SuccessHasTheShapeOfEduMFAAnswers(t *testing.T) {
	child := eduMFA295
	child.ThreadID = 139765621962432
	parent := eduMFA295
	parent.ThreadID = 139953660999360
	tests := []struct {
		fixture string
		got     []byte
	}{
		{"c01-child-post-bob-right-pin.response.http", child.Success(2, true,
			map[string]any{"message": "matching 1 tokens", "otplen": 6, "serial": "CHSP-BOB", "type": "spass"})},
		{"c02-child-post-bob-wrong-pin.response.http", child.Success(2, false, map[string]any{"message": "wrong otp pin"})},
		{"p01-parent-post-bob-parent-pin.response.http", parent.Success(2, true,
			map[string]any{"type": "spass", "serial": "PASP-BOB", "otplen": 6, "message": "matching 1 tokens"})},
		{"k03-child-get-system-config.response.http", child.Success(1, map[string]any{
			"IncFailCountOnFalsePin": "True", "OverrideAuthorizationClient": "127.0.0.1", "PrependPin": "True",
			"ReturnSamlAttributes": "True", "__timestamp__": "1796306436", "splitAtSign": "True"}, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, want := normalised(t, tt.got), normalised(t, fixtureBody(t, tt.fixture))
			if !bytes.Equal(got, want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestSuccess_AuthenticationFollowsEduMFA(t *testing.T) {
	tests := []struct {
		name   string
		id     int
		value  any
		detail map[string]any
		want   string // "" = no authentication member
	}{
		{"accept", 2, true, nil, AuthAccept},
		{"reject", 2, false, map[string]any{"message": "wrong otp pin"}, AuthReject},
		{"challenge", 2, false, map[string]any{"multi_challenge": []any{map[string]any{"transaction_id": "1"}}}, AuthChallenge},
		{"empty multi_challenge is no challenge", 2, false, map[string]any{"multi_challenge": []any{}}, AuthReject},
		{"declined", 2, false, map[string]any{"challenge_status": "declined"}, AuthDeclined},
		{"pending", 2, false, map[string]any{"challenge_status": "pending"}, AuthReject},
		{"triggerchallenge count", 2, 2, nil, AuthAccept},
		{"triggerchallenge zero", 2, 0, nil, AuthReject},
		{"samlcheck dict is always truthy", 2, map[string]any{"auth": false, "attributes": map[string]any{}}, nil, AuthAccept},
		{"id 1 has none", 1, true, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := DecodeObject(Success(tt.id, tt.value, tt.detail))
			if err != nil {
				t.Fatal(err)
			}
			r, _ := o.Get("result")
			got, _ := r.(Object).Get("authentication")
			if got == nil {
				got = ""
			}
			if got != tt.want {
				t.Errorf("authentication = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGatewayEnvelopes_NameTheGatewayAndAddNoThreadID(t *testing.T) {
	fixed := func() time.Time { return time.Unix(1796306464, 31903000) }
	m := gateway
	m.Now = fixed
	got := string(m.Success(2, true, map[string]any{"message": "ok"}))
	want := `{"detail": {"message": "ok"}, "id": 2, "jsonrpc": "2.0", "result": {"authentication": "ACCEPT", "status": true, "value": true}, "time": 1796306464.031903, "version": "eduMFA federation gateway 0.1.0", "versionnumber": "0.1.0"}`
	if got != want {
		t.Errorf("Success =\n%s\nwant\n%s", got, want)
	}
	got = string(m.Error(CodeUpstreamTimeout, "child \"child-a\" did not answer within 5s", map[string]any{}))
	want = `{"detail": null, "id": 1, "jsonrpc": "2.0", "result": {"error": {"code": -504, "message": "child \"child-a\" did not answer within 5s"}, "status": false}, "time": 1796306464.031903, "version": "eduMFA federation gateway 0.1.0"}`
	if got != want {
		t.Errorf("Error =\n%s\nwant\n%s", got, want)
	}
	if body := Success(1, "x", nil); bytes.Contains(body, []byte(`"detail"`)) {
		t.Errorf("empty detail not omitted: %s", body)
	}
}

func TestMaker_ErrorDetailGetsThreadID(t *testing.T) {
	m := eduMFA295
	m.ThreadID = 7
	o, _ := DecodeObject(m.Error(CodeAuthWrongCredentials, "Authentication failure. Wrong credentials", map[string]any{"x": 1}))
	d, _ := o.Get("detail")
	if id, _ := d.(Object).Get("threadid"); id != json.Number("7") {
		t.Errorf("detail = %v, want threadid 7", d)
	}
}

func TestSuccessObject_KeepsAppendedDetailMembersLast(t *testing.T) {
	detail := append(SortedObject(map[string]any{"multi_challenge": []any{Object{{"serial", "S"}}}, "type": "hotp"}),
		Member{"preferred_client_mode", "interactive"})
	body := string(eduMFA295.SuccessObject(2, false, detail))
	if !strings.HasPrefix(body, `{"detail": {"multi_challenge": [{"serial": "S"}], "type": "hotp", "preferred_client_mode": "interactive"}, "id": 2`) {
		t.Errorf("body = %s", body)
	}
	if !strings.Contains(body, `"authentication": "CHALLENGE"`) {
		t.Errorf("not a challenge: %s", body)
	}
}

func TestSuccess_UnencodableValueBecomesInternalError(t *testing.T) {
	o, err := DecodeObject(Success(1, make(chan int), nil))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := o.Get("result")
	e, _ := r.(Object).Get("error")
	if c, _ := e.(Object).Get("code"); c != json.Number("-500") {
		t.Errorf("result = %v, want error -500", r)
	}
}

func TestStatus_MapsCodesToEduMFAStatuses(t *testing.T) {
	tests := map[int]int{
		CodeParameter: 400, CodeUser: 400, CodeConfig: 400, 101: 400,
		CodeAuthWrongCredentials: 401, CodeAuthMissingHeader: 401, CodeAuthDecoding: 401, CodeAuth: 401,
		CodePolicy: 403, CodeNotFound: 404, CodeInternal: 500, CodeDatabase: 500,
		CodeUpstreamUnreachable: 502, CodeUpstreamTLS: 502, CodeUpstreamTimeout: 504, CodeLoopDetected: 508, -1: 500,
	}
	for code, want := range tests {
		if got := Status(code); got != want {
			t.Errorf("Status(%d) = %d, want %d", code, got, want)
		}
	}
}
