package rules

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestAllData(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	type m = map[string]any
	tests := []struct {
		name                     string
		method, query, ctype, ua string
		body                     string
		vars                     map[string]string
		want                     m
	}{
		{name: "GET query", method: "GET", query: "user=bob&pass=bob-child", want: m{"user": "bob", "pass": "bob-child"}},
		{name: "POST form", method: "POST", ctype: form, body: "user=bob&pass=bob-child", want: m{"user": "bob", "pass": "bob-child"}},
		{name: "POST query beats form", method: "POST", query: "realm=q", ctype: form, body: "realm=f&user=bob",
			want: m{"realm": "q", "user": "bob"}},
		{name: "GET form overrides query", method: "GET", query: "realm=q&user=bob", ctype: form, body: "realm=f",
			want: m{"realm": "f", "user": "bob"}},
		{name: "first value of a repeated key", method: "POST", query: "a=1&a=2", ctype: form, body: "b=3&b=4",
			want: m{"a": "1", "b": "3"}},
		{name: "GET form, first value", method: "GET", ctype: form, body: "a=1&a=2", want: m{"a": "1"}},
		{name: "blank values and bare keys", method: "GET", query: "a=&b&&c=1", want: m{"a": "", "b": "", "c": "1"}},
		{name: "plus is a space, keys decoded", method: "GET", query: "us%65r=a+b&x=a%2Bb", want: m{"user": "a b", "x": "a+b"}},
		{name: "JSON keeps types", method: "POST", ctype: "application/json",
			body: `{"user": "bob", "otplen": 6, "ratio": 0.5, "flag": true, "list": [1, "a"], "obj": {"k": null}, "none": null}`,
			want: m{"user": "bob", "otplen": int64(6), "ratio": 0.5, "flag": true, "list": []any{int64(1), "a"},
				"obj": map[string]any{"k": nil}, "none": nil}},
		{name: "JSON overrides query", method: "POST", query: "realm=q&x=1", ctype: "application/json; charset=utf-8", body: `{"realm": "j"}`,
			want: m{"realm": "j", "x": "1"}},
		{name: "+json media type", method: "POST", ctype: "application/merge-patch+json", body: `{"a": 1}`, want: m{"a": int64(1)}},
		{name: "JSON values are not unquoted", method: "POST", ctype: "application/json", body: `{"pass": "p%41"}`,
			want: m{"pass": "p%41"}},
		{name: "JSON body without JSON content type", method: "POST", ctype: "text/plain", body: `{"user": "bob"}`,
			want: m{"user": "bob"}},
		{name: "JSON body without content type", method: "POST", body: `{"user": "bob"}`, want: m{"user": "bob"}},
		{name: "form content type is never JSON", method: "POST", ctype: form, body: `{"user": "bob"}`,
			want: m{`{"user": "bob"}`: ""}},
		{name: "malformed JSON ignored", method: "POST", query: "a=1", ctype: "application/json", body: `{"user": `,
			want: m{"a": "1"}},
		{name: "JSON list ignored", method: "POST", ctype: "application/json", body: `[1, 2]`, want: m{}},
		{name: "path variables override", method: "DELETE", query: "serial=q", ctype: form, body: "serial=f",
			vars: map[string]string{"serial": "HOTP%31"}, want: m{"serial": "HOTP1"}},
		{name: "path variables override JSON", method: "POST", ctype: "application/json", body: `{"serial": 5}`,
			vars: map[string]string{"serial": "S"}, want: m{"serial": "S"}},
		// The second unquote (check_unquote) and the User-Agents it spares.
		{name: "second unquote", method: "POST", ctype: form, body: "pass=p%2541", ua: "FreeRADIUS",
			want: m{"pass": "pA"}},
		{name: "second unquote, no User-Agent", method: "GET", query: "pass=p%2541", want: m{"pass": "pA"}},
		{name: "simpleSAMLphp is not unquoted", method: "GET", query: "pass=p%2541", ua: "simpleSAMLphp/2.1 (Linux)",
			want: m{"pass": "p%41"}},
		{name: "eduMFA-LDAP-Proxy is not unquoted", method: "GET", query: "pass=p%2541", ua: "eduMFA-LDAP-Proxy",
			want: m{"pass": "p%41"}},
		{name: "eduMFA-cp is not unquoted", method: "GET", query: "pass=p%2541", ua: "eduMFA-cp/1.0",
			want: m{"pass": "p%41"}},
		{name: "product token is the leading run", method: "GET", query: "pass=p%2541", ua: "eduMFA-cp.exe/2",
			want: m{"pass": "p%41"}},
		{name: "a longer product is not spared", method: "GET", query: "pass=p%2541", ua: "simpleSAMLphpX/1",
			want: m{"pass": "pA"}},
		{name: "odd first character: regex fails, no unquote", method: "GET", query: "pass=p%2541", ua: "(compatible)",
			want: m{"pass": "p%41"}},
		{name: "plus survives the second unquote", method: "GET", query: "pass=a%2Bb", want: m{"pass": "a+b"}},
		{name: "malformed escapes stay", method: "GET", query: "pass=100%25&x=%zz&y=%", want: m{"pass": "100%", "x": "%zz", "y": "%"}},
		{name: "UTF-8 decoded, invalid bytes replaced", method: "GET", query: "u=%C3%BC&v=%C3&w=%E2%82x",
			want: m{"u": "ü", "v": "\uFFFD", "w": "\uFFFDx"}},
		{name: "multipart fields, files skipped", method: "POST", ctype: "multipart/form-data; boundary=XX",
			body: "--XX\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nbob\r\n" +
				"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.csv\"\r\n\r\nserial,key\r\n--XX--\r\n",
			want: m{"user": "bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AllData(tt.method, tt.query, tt.ctype, []byte(tt.body), tt.ua, tt.vars)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("AllData = %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// readRequest parses a captured request of testdata/fixtures.
func readRequest(t testing.TB, name string) (*http.Request, []byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/fixtures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return req, body
}

func TestAllData_Fixtures(t *testing.T) {
	for _, name := range []string{"form.request.http", "json.request.http"} {
		req, body := readRequest(t, name)
		got := AllData(req.Method, req.URL.RawQuery, req.Header.Get("Content-Type"), body, req.UserAgent(), nil)
		want := map[string]any{"user": "bob", "pass": "bob-child"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: AllData = %v, want %v", name, got, want)
		}
	}
}

func TestPyUnquote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a%20b+c", "a b+c"},
		{"%41%42", "AB"},
		{"%4", "%4"},
		{"%%41", "%A"},
		{"ü%C3%BC", "üü"},
		{"%F0%9F%98%80", "😀"},
		{"%F0%9F%98", "\uFFFD"},             // one maximal subpart, one U+FFFD
		{"%ED%A0%80", "\uFFFD\uFFFD\uFFFD"}, // a surrogate: ED is followed by an invalid byte
		{"%80%80", "\uFFFD\uFFFD"},
		{"%C0%AF", "\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		if got := pyUnquote(tt.in); got != tt.want {
			t.Errorf("pyUnquote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSecondUnquote(t *testing.T) {
	for ua, want := range map[string]bool{
		"":                         true,
		"FreeRADIUS":               true,
		"python-requests/2.28.1":   true,
		"simpleSAMLphp":            false,
		"simpleSAMLphp/2.3":        false,
		"eduMFA-LDAP-Proxy/1.0":    false,
		"eduMFA-cp/1.1 (Windows)":  false,
		"edumfa-cp":                true, // case-sensitive
		" simpleSAMLphp":           false,
		"Mozilla/5.0 (X11; Linux)": true,
	} {
		if got := secondUnquote(ua); got != want {
			t.Errorf("secondUnquote(%q) = %v, want %v", ua, got, want)
		}
	}
	if strings.Contains(pyUnquote("100%"), "\uFFFD") {
		t.Error("a trailing % must stay literal")
	}
}
