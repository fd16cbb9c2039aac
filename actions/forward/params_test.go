package forward

import (
	"errors"
	"net/http"
	"os"
	"testing"
)

const (
	ctForm = "application/x-www-form-urlencoded"
	ctJSON = "application/json"
)

func TestRewriteParams(t *testing.T) {
	realm := paramEdits{set: []param{{"realm", "childrealm"}}, remove: []string{"client"}, userRealm: "childrealm"}
	clientIP := paramEdits{set: []param{{"client", "192.0.2.7"}}}
	dropClient := paramEdits{remove: []string{"client"}}
	tests := []struct {
		name      string
		method    string
		query     string
		ct        string
		body      string
		edits     paramEdits
		wantQuery string
		wantBody  string
	}{
		{name: "no edits: nothing touched",
			method: "POST", query: "a=%41", ct: ctForm, body: "user=bob&pass=%25",
			wantQuery: "a=%41", wantBody: "user=bob&pass=%25"},
		{name: "POST form: absent realm goes to the body",
			method: "POST", ct: ctForm, body: "user=bob&pass=p%2541%2Bb%26c+%C3%BC", edits: realm,
			wantBody: "user=bob&pass=p%2541%2Bb%26c+%C3%BC&realm=childrealm"},
		{name: "POST form: realm in the query is changed there",
			method: "POST", query: "realm=parent", ct: ctForm, body: "user=bob", edits: realm,
			wantQuery: "realm=childrealm", wantBody: "user=bob"},
		{name: "POST form: realm in both places changed in both",
			method: "POST", query: "realm=parent", ct: ctForm, body: "realm=other&user=bob", edits: realm,
			wantQuery: "realm=childrealm", wantBody: "realm=childrealm&user=bob"},
		{name: "GET: absent realm goes to the query",
			method: "GET", query: "user=alice@parentrealm&pass=x%2B1", edits: realm,
			wantQuery: "user=alice@childrealm&pass=x%2B1&realm=childrealm"},
		{name: "POST without body: query",
			method: "POST", query: "user=bob", edits: realm,
			wantQuery: "user=bob&realm=childrealm"},
		{name: "GET with a form body: present key edited in the body, absent one in the query",
			method: "GET", query: "user=bob", ct: ctForm, body: "client=10.0.0.1&pass=x",
			edits:     paramEdits{set: []param{{"realm", "r"}}, remove: []string{"client"}},
			wantQuery: "user=bob&realm=r", wantBody: "pass=x"},
		{name: "client removed from query and body",
			method: "POST", query: "client=1.1.1.1", ct: ctForm, body: "user=bob&client=2.2.2.2", edits: dropClient,
			wantQuery: "", wantBody: "user=bob"},
		{name: "forward_client_ip replaces a client-chosen client",
			method: "POST", ct: ctForm, body: "client=6.6.6.6&user=bob", edits: clientIP,
			wantBody: "client=192.0.2.7&user=bob"},
		{name: "JSON: members edited, others byte-identical",
			method: "POST", ct: ctJSON, body: `{"user": "bob@parentrealm", "pass": "p%41+b&c \u00fc", "client": "127.0.0.1"}`,
			edits:    realm,
			wantBody: `{"user": "bob@childrealm", "pass": "p%41+b&c \u00fc", "realm": "childrealm"}`},
		{name: "JSON with forward_client_ip",
			method: "POST", ct: ctJSON, body: `{"user": "bob", "pass": "x", "client": "127.0.0.1"}`, edits: clientIP,
			wantBody: `{"user": "bob", "pass": "x", "client": "192.0.2.7"}`},
		{name: "JSON object without JSON content type is still JSON to eduMFA",
			method: "POST", ct: "text/plain", body: `{"user":"bob"}`, edits: clientIP,
			wantBody: `{"user":"bob","client":"192.0.2.7"}`},
		{name: "JSON array: body untouched, keys in the query",
			method: "POST", ct: ctJSON, body: `[1,2]`, edits: clientIP,
			wantQuery: "client=192.0.2.7", wantBody: `[1,2]`},
		{name: "PUT form",
			method: "PUT", ct: ctForm, body: "user=bob", edits: paramEdits{set: []param{{"resolver", "r1"}}},
			wantBody: "user=bob&resolver=r1"},
		{name: "DELETE with JSON body",
			method: "DELETE", ct: ctJSON, body: `{"serial": "S1"}`, edits: paramEdits{set: []param{{"realm", "r"}}},
			wantBody: `{"serial": "S1", "realm": "r"}`},
		{name: "multipart: set keys go to the query, body untouched",
			method: "POST", ct: "multipart/form-data; boundary=XX",
			body:      "--XX\r\nContent-Disposition: form-data; name=\"realm\"\r\n\r\nparent\r\n--XX--\r\n",
			edits:     paramEdits{set: []param{{"realm", "child"}}},
			wantQuery: "realm=child",
			wantBody:  "--XX\r\nContent-Disposition: form-data; name=\"realm\"\r\n\r\nparent\r\n--XX--\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.ct != "" {
				h.Set("Content-Type", tt.ct)
			}
			q, b, err := rewriteParams(tt.method, tt.query, h, []byte(tt.body), tt.edits)
			if err != nil {
				t.Fatal(err)
			}
			if q != tt.wantQuery {
				t.Errorf("query = %q, want %q", q, tt.wantQuery)
			}
			if string(b) != tt.wantBody {
				t.Errorf("body = %q, want %q", b, tt.wantBody)
			}
		})
	}
}

// The FreeRADIUS plugin's body (User-Agent FreeRADIUS, JSON, pass with %,
// +, & and \u00fc) keeps every byte but the members the options change.
func TestRewriteParams_FreeRADIUSBody(t *testing.T) {
	body, err := os.ReadFile("testdata/l03-freeradius-request.json")
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {ctJSON}, "User-Agent": {"FreeRADIUS"}}
	tests := []struct {
		name  string
		edits paramEdits
		want  string
	}{
		{"client removed", paramEdits{remove: []string{"client"}},
			`{"user": "bob", "pass": "p%41+b&c \u00fc"}`},
		{"client forwarded, realm set", paramEdits{set: []param{{"realm", "childrealm"}, {"client", "192.0.2.7"}}, userRealm: "childrealm"},
			`{"user": "bob", "pass": "p%41+b&c \u00fc", "client": "192.0.2.7", "realm": "childrealm"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, b, err := rewriteParams("POST", "", h, body, tt.edits)
			if err != nil {
				t.Fatal(err)
			}
			if q != "" || string(b) != tt.want {
				t.Errorf("got query %q body %s\nwant body %s", q, b, tt.want)
			}
		})
	}
}

func TestRewriteParams_MultipartClientRefused(t *testing.T) {
	h := http.Header{"Content-Type": {"multipart/form-data; boundary=XX"}}
	body := "--XX\r\nContent-Disposition: form-data; name=\"client\"\r\n\r\n6.6.6.6\r\n--XX--\r\n"
	_, _, err := rewriteParams("POST", "", h, []byte(body), paramEdits{remove: []string{"client"}})
	if !errors.Is(err, errMultipartParam) {
		t.Fatalf("err = %v, want errMultipartParam", err)
	}
}

func TestOptionsEdits(t *testing.T) {
	o := forwardOptions{realm: "r", resolver: "res", forwardClientIP: true}
	e := o.edits("192.0.2.1")
	if len(e.set) != 3 || e.set[2] != (param{"client", "192.0.2.1"}) || len(e.remove) != 0 || e.userRealm != "r" {
		t.Errorf("edits = %+v", e)
	}
	e = forwardOptions{}.edits("192.0.2.1")
	if len(e.set) != 0 || len(e.remove) != 1 || e.remove[0] != "client" || e.userRealm != "" {
		t.Errorf("edits without options = %+v", e)
	}
}

func TestParseOptions(t *testing.T) {
	if _, err := parseOptions(map[string]any{}); err == nil {
		t.Error("no server: want an error")
	}
	if _, err := parseOptions(map[string]any{OptionServer: "a", OptionForwardClientIP: "True"}); err == nil {
		t.Error("string for a bool: want an error")
	}
	o, err := parseOptions(map[string]any{OptionServer: "a", OptionRealm: "r", OptionForwardAuthorizationToken: true})
	if err != nil || o.server != "a" || o.realm != "r" || !o.forwardAuthorization || o.forwardClientIP {
		t.Errorf("parseOptions = %+v, %v", o, err)
	}
}

func TestRemoveParam(t *testing.T) {
	tests := []struct {
		name, method, query, ctype, body string
		wantQuery, wantBody              string
	}{
		{"query", "GET", "user=bob&client=1.2.3.4&pass=x%25", "", "", "user=bob&pass=x%25", ""},
		{"form", "POST", "", "application/x-www-form-urlencoded", "user=bob&client=1.2.3.4&pass=p%2541", "", "user=bob&pass=p%2541"},
		{"json", "POST", "", "application/json", `{"user": "bob", "client": "127.0.0.1", "pass": "p%41+b&c \u00fc"}`, "", `{"user": "bob", "pass": "p%41+b&c \u00fc"}`},
		{"absent", "POST", "a=1", "application/x-www-form-urlencoded", "user=bob", "a=1", "user=bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.ctype != "" {
				h.Set("Content-Type", tt.ctype)
			}
			q, b, err := RemoveParam(tt.method, tt.query, h, []byte(tt.body), "client")
			if err != nil {
				t.Fatal(err)
			}
			if q != tt.wantQuery || string(b) != tt.wantBody {
				t.Fatalf("got %q %q, want %q %q", q, b, tt.wantQuery, tt.wantBody)
			}
		})
	}
}
