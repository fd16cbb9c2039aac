package rules

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Every route of spec §1, with its method(s) and path variables.
func TestEventFor_EveryRoute(t *testing.T) {
	type vars = map[string]string
	tests := []struct {
		method, path, event string
		vars                vars
	}{
		{"GET", "/validate/check", "validate_check", nil},
		{"POST", "/validate/check", "validate_check", nil},
		{"GET", "/validate/radiuscheck", "validate_check", nil},
		{"POST", "/validate/radiuscheck", "validate_check", nil},
		{"GET", "/validate/samlcheck", "validate_check", nil},
		{"POST", "/validate/samlcheck", "validate_check", nil},
		{"GET", "/validate/triggerchallenge", "validate_triggerchallenge", nil},
		{"POST", "/validate/triggerchallenge", "validate_triggerchallenge", nil},
		{"GET", "/validate/polltransaction", "validate_poll_transaction", nil},
		{"GET", "/validate/polltransaction/08151234", "validate_poll_transaction", vars{"transaction_id": "08151234"}},
		{"POST", "/validate/offlinerefill", "validate_offlinerefill", nil},
		{"POST", "/auth", "auth", nil},
		{"POST", "/token/init", "token_init", nil},
		{"GET", "/token/challenges/", "token_getchallenges", nil},
		{"GET", "/token/challenges/HOTP1", "token_getchallenges", vars{"serial": "HOTP1"}},
		{"GET", "/token/", "token_list", nil},
		{"POST", "/token/assign", "token_assign", nil},
		{"POST", "/token/unassign", "token_unassign", nil},
		{"POST", "/token/revoke", "token_revoke", nil},
		{"POST", "/token/revoke/HOTP1", "token_revoke", vars{"serial": "HOTP1"}},
		{"POST", "/token/enable", "token_enable", nil},
		{"POST", "/token/enable/HOTP1", "token_enable", vars{"serial": "HOTP1"}},
		{"POST", "/token/disable", "token_disable", nil},
		{"POST", "/token/disable/HOTP1", "token_disable", vars{"serial": "HOTP1"}},
		{"DELETE", "/token/HOTP1", "token_delete", vars{"serial": "HOTP1"}},
		{"POST", "/token/reset", "token_reset", nil},
		{"POST", "/token/reset/HOTP1", "token_reset", vars{"serial": "HOTP1"}},
		{"POST", "/token/resync", "token_resync", nil},
		{"POST", "/token/resync/HOTP1", "token_resync", vars{"serial": "HOTP1"}},
		{"POST", "/token/setpin", "token_setpin", nil},
		{"POST", "/token/setpin/HOTP1", "token_setpin", vars{"serial": "HOTP1"}},
		{"POST", "/token/setrandompin", "token_setrandompin", nil},
		{"POST", "/token/setrandompin/HOTP1", "token_setrandompin", vars{"serial": "HOTP1"}},
		{"POST", "/token/description", "token_set", nil},
		{"POST", "/token/description/HOTP1", "token_set", vars{"serial": "HOTP1"}},
		{"POST", "/token/set", "token_set", nil},
		{"POST", "/token/set/HOTP1", "token_set", vars{"serial": "HOTP1"}},
		{"POST", "/token/realm/HOTP1", "token_realm", vars{"serial": "HOTP1"}},
		{"POST", "/token/load/tokens.csv", "token_load", vars{"filename": "tokens.csv"}},
		{"POST", "/token/copypin", "token_copypin", nil},
		{"POST", "/token/copyuser", "token_copyuser", nil},
		{"POST", "/token/lost/HOTP1", "token_lost", vars{"serial": "HOTP1"}},
		{"GET", "/token/getserial/755224", "token_getserial", vars{"otp": "755224"}},
		{"POST", "/token/info/HOTP1/color", "token_info", vars{"serial": "HOTP1", "key": "color"}},
		{"DELETE", "/token/info/HOTP1/color", "token_info", vars{"serial": "HOTP1", "key": "color"}},
		{"POST", "/token/info/HOTP1", "token_info", vars{"serial": "HOTP1"}},
		{"POST", "/token/group/HOTP1/staff", "token_assign_group", vars{"serial": "HOTP1", "groupname": "staff"}},
		{"POST", "/token/group/HOTP1", "token_assign_group", vars{"serial": "HOTP1"}},
		{"DELETE", "/token/group/HOTP1/staff", "token_unassign_group", vars{"serial": "HOTP1", "groupname": "staff"}},
		{"POST", "/tokengroup/staff", "tokengroup_add", vars{"groupname": "staff"}},
		{"GET", "/tokengroup/", "tokengroup_list", nil},
		{"GET", "/tokengroup/staff", "tokengroup_list", vars{"groupname": "staff"}},
		{"DELETE", "/tokengroup/staff", "tokengroup_delete", vars{"groupname": "staff"}},
		{"POST", "/serviceid/mail", "serviceid_add", vars{"name": "mail"}},
		{"GET", "/serviceid/", "serviceid_list", nil},
		{"GET", "/serviceid/mail", "serviceid_list", vars{"name": "mail"}},
		{"DELETE", "/serviceid/mail", "serviceid_delete", vars{"name": "mail"}},
		{"GET", "/user/", "user_list", nil},
		{"POST", "/user", "user_add", nil},
		{"POST", "/user/", "user_add", nil},
		{"PUT", "/user", "user_update", nil},
		{"PUT", "/user/", "user_update", nil},
		{"DELETE", "/user/ldap/bob", "user_delete", vars{"resolvername": "ldap", "username": "bob"}},
		{"POST", "/user/attribute", "set_custom_user_attribute", nil},
		{"GET", "/user/attribute", "get_user_attribute", nil},
		{"GET", "/user/editable_attributes/", "get_editable_attributes", nil},
		{"DELETE", "/user/attribute/department/bob/staff", "delete_custom_user_attribute",
			vars{"attrkey": "department", "username": "bob", "realm": "staff"}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		event, pv, ok := EventFor(tt.method, tt.path)
		if !ok || event != tt.event || !maps.Equal(pv, tt.vars) {
			t.Errorf("EventFor(%s %s) = %q, %v, %v; want %q, %v", tt.method, tt.path, event, pv, ok, tt.event, tt.vars)
		}
		seen[tt.event] = true
	}
	// The table above covers every event name, and every route.
	if len(seen) != 42 {
		t.Errorf("table covers %d events, want 42", len(seen))
	}
	nRoutes := 0
	for _, r := range routes {
		nRoutes += len(strings.Fields(r.methods))
	}
	if nRoutes != len(tests) {
		t.Errorf("%d method/route pairs in the event table, %d tested", nRoutes, len(tests))
	}
}

func TestEventFor_NoEvent(t *testing.T) {
	tests := []struct{ method, path string }{
		{"PUT", "/validate/check"},            // wrong method
		{"DELETE", "/validate/check"},         // wrong method
		{"GET", "/validate/check/"},           // Flask: 404, no trailing slash on this route
		{"GET", "/token"},                     // Flask: 308 redirect to /token/
		{"GET", "/user"},                      // only POST/PUT on /user
		{"DELETE", "/token/"},                 // empty <serial>
		{"GET", "/token/challenges"},          // redirect
		{"GET", "/validate/polltransaction/"}, // empty <transaction_id>
		{"POST", "/token/info/HOTP1/a/b"},     // too many segments
		{"OPTIONS", "/validate/check"},        // answered by Flask, no view
		{"GET", "/system/"},                   // raises no event
		{"GET", "/validate//check"},           // Werkzeug merges slashes by redirecting
		{"GET", ""},
		{"GET", "validate/check"},
		{"POST", "/Validate/Check"}, // routes are case-sensitive
	}
	for _, tt := range tests {
		if event, pv, ok := EventFor(tt.method, tt.path); ok || event != "" || pv != nil {
			t.Errorf("EventFor(%s %q) = %q, %v, %v; want no event", tt.method, tt.path, event, pv, ok)
		}
	}
}

func TestEventFor_MethodNormalisation(t *testing.T) {
	// Flask runs the GET view for HEAD; methods arrive upper-cased.
	for _, m := range []string{"HEAD", "get", "head"} {
		if e, _, ok := EventFor(m, "/validate/check"); !ok || e != "validate_check" {
			t.Errorf("EventFor(%s /validate/check) = %q, %v", m, e, ok)
		}
	}
	if _, _, ok := EventFor("HEAD", "/auth"); ok {
		t.Error("HEAD /auth raised an event; /auth is POST only")
	}
	// A static route that does not allow the method does not hide a
	// variable route that does (Werkzeug matches per method).
	if e, pv, ok := EventFor("DELETE", "/token/init"); !ok || e != "token_delete" || pv["serial"] != "init" {
		t.Errorf("DELETE /token/init = %q, %v, %v; want token_delete of serial init", e, pv, ok)
	}
}

func TestEvents(t *testing.T) {
	evs := Events()
	if len(evs) != 42 || !sort.StringsAreSorted(evs) || len(slices.Compact(slices.Clone(evs))) != 42 {
		t.Fatalf("Events() = %d names, sorted %v: %v", len(evs), sort.StringsAreSorted(evs), evs)
	}
	for _, bad := range []string{"validate_samlcheck", "validate_radiuscheck", "validate_polltransaction", "*"} {
		if slices.Contains(evs, bad) {
			t.Errorf("Events() lists %q, which eduMFA never raises", bad)
		}
	}
	evs[0] = "changed"
	if Events()[0] == "changed" {
		t.Error("Events() shares its slice")
	}
}
