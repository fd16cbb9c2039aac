package examples

import (
	"context"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/actions/forward"
	"github.com/edumfa-federation/edumfa-federation/plugin"
	"github.com/edumfa-federation/edumfa-federation/rules"
)

// The example rules load against the real Federation schema, and each
// condition means what its comments say. (dev's test runs them end to end.)
func TestExampleRules(t *testing.T) {
	set, err := rules.Load("rules", map[string]plugin.Description{forward.HandlerIdentifier: forward.Description()})
	if err != nil {
		t.Fatal(err)
	}
	rule := func(name string) *rules.Rule {
		r, ok := set.Rule(name)
		if !ok {
			t.Fatalf("no rule %q", name)
		}
		return r
	}
	post := func(path string, status int, json map[string]any, origin string) *rules.Input {
		return &rules.Input{
			Request:  rules.RequestInput{Method: "POST", Path: path, AllData: map[string]any{"user": "bob", "pass": "x"}},
			Response: &rules.ResponseInput{Status: status, JSON: json},
			G:        rules.GInput{Event: "validate_check", Origin: origin},
		}
	}
	pre := func(allData map[string]any) *rules.Input {
		return &rules.Input{Request: rules.RequestInput{Method: "POST", Path: "/validate/check", AllData: allData}, G: rules.GInput{Event: "validate_check"}}
	}
	reject := map[string]any{"result": map[string]any{"status": true, "value": false}}
	accept := map[string]any{"result": map[string]any{"status": true, "value": true}}
	err904 := map[string]any{"result": map[string]any{"status": false, "error": map[string]any{"code": int64(904), "message": "ERR904: User <bob@parentrealm> does not exist."}}}
	samlReject := map[string]any{"result": map[string]any{"status": true, "value": map[string]any{"auth": false, "attributes": map[string]any{}}}}
	samlAccept := map[string]any{"result": map[string]any{"status": true, "value": map[string]any{"auth": true}}}

	tests := []struct {
		rule string
		in   *rules.Input
		want bool
	}{
		{"federate-on-reject", post("/validate/check", 200, reject, ""), true},
		{"federate-on-reject", post("/validate/check", 200, accept, ""), false},
		{"federate-on-reject", post("/validate/check", 200, reject, "http://child/validate/check"), false},
		{"federate-on-reject", post("/validate/check", 400, err904, ""), false},
		{"federate-on-reject", post("/validate/samlcheck", 200, samlReject, ""), true},
		{"federate-on-reject", post("/validate/samlcheck", 200, samlAccept, ""), false},
		{"federate-on-reject", post("/validate/radiuscheck", 400, map[string]any{}, ""), false},
		{"federate-unknown-user", post("/validate/check", 400, err904, ""), true},
		{"federate-unknown-user", post("/validate/check", 200, reject, ""), false},
		{"federate-unknown-user", post("/validate/check", 400, err904, "http://child/validate/check"), false},
		{"route-childrealm", pre(map[string]any{"user": "bob", "realm": "childrealm"}), true},
		{"route-childrealm", pre(map[string]any{"user": "bob@childrealm"}), true},
		{"route-childrealm", pre(map[string]any{"user": "bob"}), false},
		{"route-childrealm", pre(map[string]any{"user": "bob@parentrealm"}), false},
		{"admin-childrealm", pre(map[string]any{"realm": "childrealm"}), true},
		{"admin-childrealm", pre(map[string]any{}), false},
	}
	for _, tt := range tests {
		got, err := rule(tt.rule).Eval(context.Background(), tt.in)
		if err != nil || got != tt.want {
			t.Errorf("%s on %s %v: got %v (%v), want %v", tt.rule, tt.in.Request.Path, tt.in.Response, got, err, tt.want)
		}
	}
}
