package simulator

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/envelope"
)

const ua = "simulator-test/1.0"

func challengeConfig() Config {
	cfg := ChildConfig()
	u := cfg.Users["carol"]
	u.Challenge = true
	cfg.Users["carol"] = u
	return cfg
}

func TestValidate_ChallengeResponseFlow(t *testing.T) {
	_, srv := start(t, challengeConfig())
	a := postForm(t, srv, "/validate/check", ua, url.Values{"user": {"carol"}, "pass": {"carolotp"}})
	o := a.json(t)
	if got := path(t, o, "result", "authentication"); got != envelope.AuthChallenge {
		t.Fatalf("authentication = %v: %s", got, a.body)
	}
	tid := str(path(t, o, "detail", "transaction_id"))
	if len(tid) != 20 {
		t.Errorf("transaction_id %q, want 20 digits", tid)
	}
	detail := path(t, o, "detail").(envelope.Object)
	var keys []string
	for _, m := range detail {
		keys = append(keys, m.Key)
	}
	wantKeys := "client_mode message messages multi_challenge serial threadid transaction_id transaction_ids type preferred_client_mode"
	if strings.Join(keys, " ") != wantKeys {
		t.Errorf("detail keys %v, want %s (sorted, then preferred_client_mode)", keys, wantKeys)
	}
	if got := comparable(t, a.body, []string{"detail", "transaction_id"}, []string{"detail", "threadid"}); !strings.Contains(got,
		`"message": "please enter otp: ", "messages": ["please enter otp: "], "multi_challenge": [{"client_mode": "interactive", "message": "please enter otp: ", "serial": "CHHOTP-CAROL", "transaction_id": "`+tid+`", "type": "hotp"}]`) {
		t.Errorf("challenge detail: %s", got)
	}

	// A wrong answer keeps the challenge open.
	a = postForm(t, srv, "/validate/check", ua, url.Values{"user": {"carol"}, "pass": {"000000"}, "transaction_id": {tid}})
	if got := str(path(t, a.json(t), "detail", "message")); got != "Response did not match the challenge." {
		t.Errorf("wrong answer: %q", got)
	}
	// The OTP alone answers it.
	a = postForm(t, srv, "/validate/check", ua, url.Values{"user": {"carol"}, "pass": {"755224"}, "transaction_id": {tid}})
	o = a.json(t)
	if path(t, o, "result", "authentication") != envelope.AuthAccept || str(path(t, o, "detail", "message")) != "Found matching challenge" ||
		str(path(t, o, "detail", "serial")) != "CHHOTP-CAROL" {
		t.Errorf("answer: %s", a.body)
	}
	// The transaction is gone afterwards.
	a = postForm(t, srv, "/validate/check", ua, url.Values{"user": {"carol"}, "pass": {"287082"}, "transaction_id": {tid}})
	if got := str(path(t, a.json(t), "detail", "message")); got != "wrong otp pin" {
		t.Errorf("reused transaction: %q", got)
	}
}

func TestValidate_HOTPWrongValueAndReplay(t *testing.T) {
	_, srv := start(t, ChildConfig())
	a := postForm(t, srv, "/validate/check", ua, url.Values{"user": {"dave"}, "pass": {"daveotp000000"}})
	o := a.json(t)
	if str(path(t, o, "detail", "message")) != "wrong otp value" || str(path(t, o, "detail", "serial")) != "CHHOTP-DAVE" ||
		path(t, o, "detail", "otplen") != json.Number("6") || path(t, o, "result", "authentication") != envelope.AuthReject {
		t.Errorf("wrong OTP: %s", a.body)
	}
	postForm(t, srv, "/validate/check", ua, url.Values{"user": {"dave"}, "pass": {"daveotp006951"}})
	a = postForm(t, srv, "/validate/check", ua, url.Values{"user": {"dave"}, "pass": {"daveotp006951"}})
	if got := str(path(t, a.json(t), "detail", "message")); got != "wrong otp value. previous otp used again" {
		t.Errorf("replay: %q", got)
	}
}

func TestValidate_ParameterAndUserErrors(t *testing.T) {
	_, srv := start(t, ChildConfig())
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
		msg    string
	}{
		{"neither user nor serial", url.Values{"pass": {"x"}}, 400, "905", "ERR905: You need to specify a serial or a user."},
		{"percent in user", url.Values{"user": {"bo%b"}, "pass": {"x"}}, 400, "905", "ERR905: Invalid user."},
		{"wildcard serial", url.Values{"serial": {"CH*"}, "pass": {"x"}}, 400, "905", "ERR905: Invalid serial number."},
		{"unknown realm suffix stays in the login", url.Values{"user": {"bob@other"}, "pass": {"x"}}, 400, "904", "ERR904: User <bob@other@childrealm> does not exist."},
		{"explicit realm wins", url.Values{"user": {"bob@childrealm"}, "realm": {"Other"}, "pass": {"x"}}, 400, "904", "ERR904: User <bob@other> does not exist."},
		{"unknown serial", url.Values{"serial": {"NOPE"}, "pass": {"x"}}, 404, "601", "The requested token could not be found."},
		{"serial of another user", url.Values{"user": {"bob"}, "serial": {"CHSP-CAROL"}, "pass": {"x"}}, 400, "905", "ERR905: Given serial does not belong to given user!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := postForm(t, srv, "/validate/check", ua, tt.form)
			o := a.json(t)
			if a.StatusCode != tt.status || path(t, o, "result", "error", "code") != json.Number(tt.code) ||
				path(t, o, "result", "error", "message") != tt.msg || path(t, o, "detail") != nil {
				t.Errorf("got %d %s", a.StatusCode, a.body)
			}
		})
	}
}

func TestValidate_UserAtRealmAndSerialAuthentication(t *testing.T) {
	_, srv := start(t, ChildConfig())
	for _, form := range []url.Values{
		{"user": {"bob@ChildRealm"}, "pass": {"bob-child"}},
		{"user": {`childrealm\bob`}, "pass": {"bob-child"}},
		{"serial": {"CHSP-BOB"}, "pass": {"bob-child"}},
		{"user": {"bob"}, "serial": {"CHSP-BOB"}, "pass": {"bob-child"}},
	} {
		a := postForm(t, srv, "/validate/check", ua, form)
		if path(t, a.json(t), "result", "value") != true {
			t.Errorf("%v: %s", form, a.body)
		}
	}
}

func TestRadiusCheck_EmptyBody204Or400AndErrorsAsJSON(t *testing.T) {
	_, srv := start(t, ChildConfig())
	tests := []struct {
		pass   string
		user   string
		status int
		ctype  string
	}{
		{"bob-child", "bob", 204, "text/plain; charset=utf-8"},
		{"wrong", "bob", 400, "text/plain; charset=utf-8"},
		{"x", "nobody", 400, "application/json"},
	}
	for _, tt := range tests {
		a := postForm(t, srv, "/validate/radiuscheck", ua, url.Values{"user": {tt.user}, "pass": {tt.pass}})
		if a.StatusCode != tt.status || a.Header.Get("Content-Type") != tt.ctype || a.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s/%s: %d %q %q", tt.user, tt.pass, a.StatusCode, a.Header.Get("Content-Type"), a.Header.Get("Cache-Control"))
		}
		if tt.ctype != "application/json" && len(a.body) != 0 {
			t.Errorf("%s/%s: body %q, want empty", tt.user, tt.pass, a.body)
		}
	}
}

func TestSamlCheck_ValueIsAuthAndAttributesAuthenticationAlwaysAccept(t *testing.T) {
	cfg := ChildConfig()
	u := cfg.Users["bob"]
	u.Attributes = map[string]string{"email": "bob@example.org"}
	cfg.Users["bob"] = u
	_, srv := start(t, cfg)

	a := postForm(t, srv, "/validate/samlcheck", ua, url.Values{"user": {"bob"}, "pass": {"bob-child"}})
	got := comparable(t, a.body)
	want := `"result": {"authentication": "ACCEPT", "status": true, "value": {"attributes": {"email": "bob@example.org", "givenname": null, "mobile": null, "phone": null, "realm": "childrealm", "resolver": "simulated", "surname": null, "username": "bob"}, "auth": true}}`
	if !strings.Contains(got, want) {
		t.Errorf("accepted samlcheck: %s", got)
	}
	a = postForm(t, srv, "/validate/samlcheck", ua, url.Values{"user": {"bob"}, "pass": {"wrong"}})
	if got := comparable(t, a.body); !strings.Contains(got, `"result": {"authentication": "ACCEPT", "status": true, "value": {"attributes": {}, "auth": false}}`) {
		t.Errorf("rejected samlcheck (eduMFA still says ACCEPT): %s", got)
	}
}

func TestTriggerChallenge_NeedsAdminAndCountsChallenges(t *testing.T) {
	_, srv := start(t, ChildConfig())
	a := postForm(t, srv, "/validate/triggerchallenge", ua, url.Values{"user": {"carol"}})
	if a.StatusCode != 401 || path(t, a.json(t), "result", "error", "code") != json.Number("4033") {
		t.Fatalf("without Authorization: %d %s", a.StatusCode, a.body)
	}
	tok := adminToken(t, srv)
	a = postForm(t, srv, "/validate/triggerchallenge", ua, url.Values{"user": {"carol"}}, "Authorization", tok)
	o := a.json(t)
	if path(t, o, "result", "value") != json.Number("1") || path(t, o, "result", "authentication") != envelope.AuthAccept ||
		str(path(t, o, "detail", "serial")) != "CHHOTP-CAROL" {
		t.Errorf("carol: %s", a.body)
	}
	a = postForm(t, srv, "/validate/triggerchallenge", ua, url.Values{"user": {"bob"}}, "Authorization", tok)
	want := `{"detail": {"messages": [], "multi_challenge": [], "threadid": 139765621962432, "transaction_ids": []}, "id": 2, "jsonrpc": "2.0", "result": {"authentication": "REJECT", "status": true, "value": 0}, "time": 0, "version": "eduMFA 2.9.5", "versionnumber": "2.9.5"}`
	if got := comparable(t, a.body); got != want {
		t.Errorf("bob (no challenge token):\n got %s\nwant %s", got, want)
	}
}

func TestPollTransaction_PendingAcceptDeclined(t *testing.T) {
	sim, srv := start(t, ChildConfig())
	a := getWith(t, srv, "/validate/polltransaction")
	if a.StatusCode != 400 || path(t, a.json(t), "result", "error", "message") != "ERR905: Missing parameter: 'transaction_id'" {
		t.Errorf("missing id: %d %s", a.StatusCode, a.body)
	}
	tok := adminToken(t, srv)
	a = postForm(t, srv, "/validate/triggerchallenge", ua, url.Values{"user": {"carol"}}, "Authorization", tok)
	tid := str(path(t, a.json(t), "detail", "transaction_id"))

	check := func(query, wantStatus, wantAuth string, wantValue bool) {
		t.Helper()
		o := getWith(t, srv, query).json(t)
		if path(t, o, "detail", "challenge_status") != wantStatus || path(t, o, "result", "authentication") != wantAuth ||
			path(t, o, "result", "value") != wantValue {
			t.Errorf("%s: %v", query, o)
		}
	}
	check("/validate/polltransaction?transaction_id="+tid, "pending", envelope.AuthReject, false)
	sim.DeclineTransaction(tid)
	check("/validate/polltransaction/"+tid, "declined", envelope.AuthDeclined, false)
	if !sim.ConfirmTransaction(tid) || sim.ConfirmTransaction("nope") {
		t.Error("ConfirmTransaction result")
	}
	check("/validate/polltransaction/"+tid, "accept", envelope.AuthAccept, true)
}

func TestSigning_NonceEchoedAndUnsignedMode(t *testing.T) {
	sim, srv := start(t, ChildConfig())
	a := postForm(t, srv, "/validate/check", ua, url.Values{"user": {"bob"}, "pass": {"bob-child"}, "nonce": {"abc"}})
	if !strings.Contains(string(a.body), `"versionnumber": "2.9.5", "nonce": "abc", "signature": "rsa_sha256_pss:`) {
		t.Errorf("nonce: %s", a.body)
	}
	if err := envelope.Verify(sim.PublicKey(), a.body); err != nil {
		t.Error(err)
	}
	cfg := ChildConfig()
	cfg.Unsigned = true
	unsigned, usrv := start(t, cfg)
	if unsigned.PublicKey() != nil {
		t.Error("unsigned simulator has a public key")
	}
	a = postForm(t, usrv, "/validate/check", ua, url.Values{"user": {"bob"}, "pass": {"bob-child"}, "nonce": {"abc"}})
	if strings.Contains(string(a.body), "signature") || strings.Contains(string(a.body), "nonce") {
		t.Errorf("unsigned: %s", a.body)
	}
}
