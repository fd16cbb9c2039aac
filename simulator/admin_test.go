package simulator

import (
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/envelope"
)

func TestAuth_AdminGetsTokenOthersGet4031(t *testing.T) {
	_, srv := start(t, ChildConfig())
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
		msg    string
	}{
		{"wrong password", url.Values{"username": {AdminName}, "password": {"nope"}}, 401, "4031", "Authentication failure. Wrong credentials"},
		{"unknown admin", url.Values{"username": {"root"}, "password": {AdminPassword}}, 401, "4031", "Authentication failure. Wrong credentials"},
		{"no username", url.Values{"password": {AdminPassword}}, 401, "4032", "Authentication failure. Missing Username"},
	}
	for _, tt := range tests {
		a := postForm(t, srv, "/auth", ua, tt.form)
		o := a.json(t)
		if a.StatusCode != tt.status || path(t, o, "result", "error", "code") != json.Number(tt.code) ||
			path(t, o, "result", "error", "message") != tt.msg || path(t, o, "detail") != nil || path(t, o, "id") != json.Number("1") {
			t.Errorf("%s: %d %s", tt.name, a.StatusCode, a.body)
		}
	}
	a := postForm(t, srv, "/auth", ua, url.Values{"username": {AdminName}, "password": {AdminPassword}})
	o := a.json(t)
	if path(t, o, "result", "value", "role") != "admin" || path(t, o, "result", "value", "username") != AdminName ||
		strings.Count(str(path(t, o, "result", "value", "token")), ".") != 2 {
		t.Errorf("login: %s", a.body)
	}
	if _, ok := o.Get("versionnumber"); !ok {
		t.Error("success envelope without versionnumber")
	}
}

func TestAdminEndpoints_NeedAnIssuedToken(t *testing.T) {
	_, srv := start(t, ChildConfig())
	_, otherSrv := start(t, ParentConfig())
	foreign := adminToken(t, otherSrv)
	tests := []struct {
		name, auth string
		code       string
	}{
		{"no header", "", "4033"},
		{"not a JWT", "garbage", "4304"},
		{"token of another simulator", foreign, "4304"},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.auth != "" {
			hdr = []string{"Authorization", tt.auth}
		}
		for _, p := range []string{"/token/", "/system/"} {
			a := getWith(t, srv, p, hdr...)
			if a.StatusCode != 401 || path(t, a.json(t), "result", "error", "code") != json.Number(tt.code) {
				t.Errorf("%s %s: %d %s", tt.name, p, a.StatusCode, a.body)
			}
		}
	}
}

func TestTokenListAndInit_EnrolledTokenAuthenticates(t *testing.T) {
	sim, srv := start(t, ChildConfig())
	tok := adminToken(t, srv)
	a := getWith(t, srv, "/token/?user=carol", "Authorization", tok)
	o := a.json(t)
	if path(t, o, "result", "value", "count") != json.Number("2") || path(t, o, "result", "value", "current") != json.Number("1") {
		t.Errorf("carol's tokens: %s", a.body)
	}
	list := path(t, o, "result", "value", "tokens").([]any)
	first, _ := list[0].(envelope.Object)
	var keys []string
	for _, m := range first {
		keys = append(keys, m.Key)
	}
	if got, want := strings.Join(keys, " "), "active count count_window description failcount id info locked maxfail otplen realms resolver revoked rollout_state serial sync_window tokengroup tokentype user_editable user_id user_realm username"; got != want {
		t.Errorf("token dict keys:\n got %s\nwant %s", got, want)
	}
	if path(t, first, "serial") != "CHHOTP-CAROL" || path(t, first, "username") != "carol" {
		t.Errorf("first token: %v", first)
	}
	a = postForm(t, srv, "/token/init", ua, url.Values{"type": {"hotp"}, "serial": {"NEW-1"}, "user": {"bob"},
		"pin": {"np"}, "otpkey": {"3132333435363738393031323334353637383930"}}, "Authorization", tok)
	if path(t, a.json(t), "result", "value") != true || str(path(t, a.json(t), "detail", "serial")) != "NEW-1" {
		t.Fatalf("init: %s", a.body)
	}
	a = postForm(t, srv, "/validate/check", ua, url.Values{"user": {"bob"}, "pass": {"np755224"}})
	if str(path(t, a.json(t), "detail", "serial")) != "NEW-1" {
		t.Errorf("enrolled token: %s", a.body)
	}
	a = getWith(t, srv, "/token/?serial=NEW*", "Authorization", tok)
	if path(t, a.json(t), "result", "value", "count") != json.Number("1") {
		t.Errorf("serial filter: %s", a.body)
	}
	sim.Reset()
	a = getWith(t, srv, "/token/?serial=NEW*", "Authorization", tok)
	if path(t, a.json(t), "result", "value", "count") != json.Number("0") {
		t.Errorf("after Reset: %s", a.body)
	}
}

func TestSystem_ConfigWithCookieAndNoCache(t *testing.T) {
	_, srv := start(t, ChildConfig())
	a := getWith(t, srv, "/system/", "Authorization", adminToken(t, srv))
	if a.StatusCode != 200 || a.Header.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(a.Header.Get("Set-Cookie"), "edumfa_simulator=child-simulator") {
		t.Errorf("headers: %d %v", a.StatusCode, a.Header)
	}
	if path(t, a.json(t), "result", "value", "OverrideAuthorizationClient") != "127.0.0.1" {
		t.Errorf("value: %s", a.body)
	}
}

func TestRouting_WerkzeugDefaultsForUnknownRoutesMethodsAndSlashes(t *testing.T) {
	sim, srv := start(t, ChildConfig())
	a := getWith(t, srv, "/nope")
	if a.StatusCode != 404 || a.Header.Get("Content-Type") != "text/html; charset=utf-8" || a.Header.Get("Cache-Control") != "" ||
		!strings.Contains(string(a.body), "<title>404 Not Found</title>") {
		t.Errorf("404: %d %v %s", a.StatusCode, a.Header, a.body)
	}
	a = getWith(t, srv, "/auth")
	if a.StatusCode != 405 || a.Header.Get("Allow") != "OPTIONS, POST" {
		t.Errorf("405: %d %v", a.StatusCode, a.Header)
	}
	a = getWith(t, srv, "/token?page=2")
	if a.StatusCode != 308 || a.Header.Get("Location") != srv.URL+"/token/?page=2" {
		t.Errorf("308: %d %v", a.StatusCode, a.Header)
	}
	postForm(t, srv, "/validate/check", ua, url.Values{"user": {"bob"}, "pass": {"bob-child"}})
	for _, r := range sim.Requests() {
		if r.Status == 0 {
			t.Errorf("request %s without status", r.Path)
		}
	}
	if n := len(sim.Requests()); n != 4 {
		t.Errorf("%d requests recorded, want 4", n)
	}
	for _, a := range []answer{getWith(t, srv, "/nope"), getWith(t, srv, "/validate/check?user=bob&pass=bob-child")} {
		if a.Header.Get(HeaderSimulator) != "child simulator" {
			t.Errorf("%s header missing", HeaderSimulator)
		}
	}
}

func TestMalformedJSON_WerkzeugBadRequest(t *testing.T) {
	_, srv := start(t, ChildConfig())
	req := newRequest("POST", srv.URL+"/validate/check", "application/json", `{"user": "bob",`, "FreeRADIUS")
	a := do(t, req)
	if a.StatusCode != 400 || !strings.Contains(string(a.body), "Failed to decode JSON object") {
		t.Errorf("%d %s", a.StatusCode, a.body)
	}
}

func TestConcurrentRequests_AreSafe(t *testing.T) {
	sim, srv := start(t, ChildConfig())
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 5 {
				postForm(t, srv, "/validate/check", ua, url.Values{"user": {"dave"}, "pass": {"daveotp123456"}})
			}
		}()
	}
	for range 8 {
		<-done
	}
	if n := len(sim.Requests()); n != 40 {
		t.Errorf("%d requests recorded", n)
	}
}

func TestLogs_NameTheSimulatorAndNoParameters(t *testing.T) {
	var buf strings.Builder
	cfg := ChildConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	_, srv := start(t, cfg)
	getWith(t, srv, "/validate/check?user=bob&pass=bob-child")
	line := buf.String()
	if !strings.Contains(line, `simulator="child simulator"`) || !strings.Contains(line, "path=/validate/check") || !strings.Contains(line, "status=200") {
		t.Errorf("log line: %s", line)
	}
	if strings.Contains(line, "bob-child") {
		t.Errorf("log line leaks the password: %s", line)
	}
}
