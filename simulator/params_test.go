package simulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestSecondUnquote_DependsOnUserAgentProductToken(t *testing.T) {
	tests := map[string]bool{
		"":                           true,
		"curl/8.5.0":                 true,
		"python-requests/2.28.1":     true,
		"FreeRADIUS":                 true,
		"simpleSAMLphp/1.0":          false,
		"simpleSAMLphp":              false,
		"eduMFA-LDAP-Proxy/2.0 (x)":  false,
		"eduMFA-cp/1.0":              false,
		"simplesamlphp/1.0":          true, // case matters
		"Mozilla/5.0 (X11; Linux)":   true,
		"(compatible) simpleSAMLphp": false, // no product token: eduMFA's regex fails
	}
	for ua, want := range tests {
		if got := secondUnquote(ua); got != want {
			t.Errorf("secondUnquote(%q) = %v, want %v", ua, got, want)
		}
	}
}

func TestUnquote_LikePythonURLLib(t *testing.T) {
	tests := []struct {
		in   string
		plus bool
		want string
	}{
		{"p%41b", false, "pAb"},
		{"a+b", false, "a+b"},
		{"a+b", true, "a b"},
		{"100%", false, "100%"},
		{"%zz%4", false, "%zz%4"},
		{"%C3%BC", false, "ü"},
		{"%FF", false, "\uFFFD"},
	}
	for _, tt := range tests {
		if got := unquote(tt.in, tt.plus); got != tt.want {
			t.Errorf("unquote(%q, %v) = %q, want %q", tt.in, tt.plus, got, tt.want)
		}
	}
}

func newRequest(method, target, contentType, body, userAgent string) *http.Request {
	r, _ := http.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Header.Set("User-Agent", userAgent)
	return r
}

func TestAllData_FollowsEduMFAsPrecedence(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name string
		req  *http.Request
		body string
		want map[string]any
	}{
		{"POST: query beats form, first value wins",
			newRequest("POST", "http://x/validate/check?user=q&user=q2", form, "", "curl/8"),
			"user=f&pass=a&pass=b", map[string]any{"user": "q", "pass": "a"}},
		{"GET: form overrides query",
			newRequest("GET", "http://x/validate/check?user=q&pass=p", form, "", "curl/8"),
			"user=f", map[string]any{"user": "f", "pass": "p"}},
		{"second unquote for ordinary clients, + kept",
			newRequest("POST", "http://x/validate/check", form, "", "curl/8"),
			"pass=p%2541%2Bb+c", map[string]any{"pass": "pA+b c"}},
		{"no second unquote for simpleSAMLphp",
			newRequest("POST", "http://x/validate/check", form, "", "simpleSAMLphp/2.0"),
			"pass=p%2541%2Bb+c", map[string]any{"pass": "p%41+b c"}},
		{"JSON body overrides, types kept, never unquoted",
			newRequest("POST", "http://x/validate/check?user=q", "application/json", "", "FreeRADIUS"),
			`{"user": "bob", "pass": "p%41", "n": 1, "b": true, "l": [1], "o": {"k": null}}`,
			map[string]any{"user": "bob", "pass": "p%41", "n": json.Number("1"), "b": true, "l": []any{json.Number("1")}, "o": map[string]any{"k": nil}}},
		{"other content type tried as JSON",
			newRequest("POST", "http://x/validate/check", "text/plain", "", "curl/8"),
			`{"user": "bob"}`, map[string]any{"user": "bob"}},
		{"other content type, not JSON, ignored",
			newRequest("POST", "http://x/validate/check?a=1", "text/plain", "", "curl/8"),
			`user=bob`, map[string]any{"a": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := allData(tt.req, []byte(tt.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("allData = %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestAllData_BadJSONAndViewArgs(t *testing.T) {
	r := newRequest("POST", "http://x/validate/check", "application/json", "", "curl/8")
	if _, err := allData(r, []byte(`{"user":`), nil); err != errBadJSON {
		t.Errorf("bad JSON: err = %v", err)
	}
	if _, err := allData(r, []byte(`[1]`), nil); err != errNotObject {
		t.Errorf("JSON array: err = %v", err)
	}
	r = newRequest("GET", "http://x/validate/polltransaction/1?transaction_id=2", "", "", "curl/8")
	got, _ := allData(r, nil, map[string]string{"transaction_id": "1%32"})
	if got["transaction_id"] != "12" {
		t.Errorf("view arg = %v, want it to override and be unquoted", got["transaction_id"])
	}
}

// The gateway must forward a client's bytes unchanged: a double-encoded
// password then reaches eduMFA as the client meant it. This is the
// simulator behaviour that test relies on.
func TestValidate_DoubleEncodedPasswordDependsOnUserAgent(t *testing.T) {
	cfg := ChildConfig()
	cfg.Users["erin"] = User{PIN: "p%41b", Serial: "CHSP-ERIN"}
	sim, srv := start(t, cfg)
	form := url.Values{"user": {"erin"}, "pass": {"p%41b"}} // encodes as pass=p%2541b

	a := postForm(t, srv, "/validate/check", "curl/8.5.0", form)
	if v := path(t, a.json(t), "result", "value"); v != false {
		t.Errorf("curl: value = %v, want false (eduMFA decodes p%%41b to pAb)", v)
	}
	if p := sim.Requests()[0].Params["pass"]; p != "pAb" {
		t.Errorf("curl: pass seen as %q, want pAb", p)
	}
	if !strings.Contains(string(sim.Requests()[0].Body), "pass=p%2541b") {
		t.Errorf("body sent: %s", sim.Requests()[0].Body)
	}

	a = postForm(t, srv, "/validate/check", "simpleSAMLphp/1.0", form)
	if v := path(t, a.json(t), "result", "value"); v != true {
		t.Errorf("simpleSAMLphp: value = %v, want true; %s", v, a.body)
	}
}
