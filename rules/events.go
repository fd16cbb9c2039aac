package rules

import (
	"sort"
	"strings"
)

// AllEvents is the `event` value of a rule that runs for every event.
const AllEvents = "*"

// route is one Flask route of eduMFA that raises an event. Patterns use
// Flask's syntax: `<name>` is one non-empty path segment (no `/`).
type route struct {
	event   string
	methods string // space-separated
	pattern string
}

// routes are the 45 decorated views of eduMFA's API (spec §1: auth.py,
// validate.py, token.py, user.py, tokengroup.py, serviceid.py), 42 event
// names. Trailing slashes are significant, as in Flask: `/token` is a
// redirect to `/token/` and raises nothing.
var routes = []route{
	{"validate_check", "GET POST", "/validate/check"},
	{"validate_check", "GET POST", "/validate/radiuscheck"},
	{"validate_check", "GET POST", "/validate/samlcheck"},
	{"validate_triggerchallenge", "GET POST", "/validate/triggerchallenge"},
	{"validate_poll_transaction", "GET", "/validate/polltransaction"},
	{"validate_poll_transaction", "GET", "/validate/polltransaction/<transaction_id>"},
	{"validate_offlinerefill", "POST", "/validate/offlinerefill"},
	{"auth", "POST", "/auth"},

	{"token_init", "POST", "/token/init"},
	{"token_getchallenges", "GET", "/token/challenges/"},
	{"token_getchallenges", "GET", "/token/challenges/<serial>"},
	{"token_list", "GET", "/token/"},
	{"token_assign", "POST", "/token/assign"},
	{"token_unassign", "POST", "/token/unassign"},
	{"token_revoke", "POST", "/token/revoke"},
	{"token_revoke", "POST", "/token/revoke/<serial>"},
	{"token_enable", "POST", "/token/enable"},
	{"token_enable", "POST", "/token/enable/<serial>"},
	{"token_disable", "POST", "/token/disable"},
	{"token_disable", "POST", "/token/disable/<serial>"},
	{"token_delete", "DELETE", "/token/<serial>"},
	{"token_reset", "POST", "/token/reset"},
	{"token_reset", "POST", "/token/reset/<serial>"},
	{"token_resync", "POST", "/token/resync"},
	{"token_resync", "POST", "/token/resync/<serial>"},
	{"token_setpin", "POST", "/token/setpin"},
	{"token_setpin", "POST", "/token/setpin/<serial>"},
	{"token_setrandompin", "POST", "/token/setrandompin"},
	{"token_setrandompin", "POST", "/token/setrandompin/<serial>"},
	{"token_set", "POST", "/token/description"},
	{"token_set", "POST", "/token/description/<serial>"},
	{"token_set", "POST", "/token/set"},
	{"token_set", "POST", "/token/set/<serial>"},
	{"token_realm", "POST", "/token/realm/<serial>"},
	{"token_load", "POST", "/token/load/<filename>"},
	{"token_copypin", "POST", "/token/copypin"},
	{"token_copyuser", "POST", "/token/copyuser"},
	{"token_lost", "POST", "/token/lost/<serial>"},
	{"token_getserial", "GET", "/token/getserial/<otp>"},
	{"token_info", "POST DELETE", "/token/info/<serial>/<key>"},
	{"token_info", "POST", "/token/info/<serial>"},
	{"token_assign_group", "POST", "/token/group/<serial>/<groupname>"},
	{"token_assign_group", "POST", "/token/group/<serial>"},
	{"token_unassign_group", "DELETE", "/token/group/<serial>/<groupname>"},

	{"tokengroup_add", "POST", "/tokengroup/<groupname>"},
	{"tokengroup_list", "GET", "/tokengroup/"},
	{"tokengroup_list", "GET", "/tokengroup/<groupname>"},
	{"tokengroup_delete", "DELETE", "/tokengroup/<groupname>"},

	{"serviceid_add", "POST", "/serviceid/<name>"},
	{"serviceid_list", "GET", "/serviceid/"},
	{"serviceid_list", "GET", "/serviceid/<name>"},
	{"serviceid_delete", "DELETE", "/serviceid/<name>"},

	{"user_list", "GET", "/user/"},
	{"user_add", "POST", "/user"},
	{"user_add", "POST", "/user/"},
	{"user_update", "PUT", "/user"},
	{"user_update", "PUT", "/user/"},
	{"user_delete", "DELETE", "/user/<resolvername>/<username>"},
	{"set_custom_user_attribute", "POST", "/user/attribute"},
	{"get_user_attribute", "GET", "/user/attribute"},
	{"get_editable_attributes", "GET", "/user/editable_attributes/"},
	{"delete_custom_user_attribute", "DELETE", "/user/attribute/<attrkey>/<username>/<realm>"},
}

// dynRoute is a route with path variables, split into segments.
type dynRoute struct {
	event string
	segs  []string // literal segment, or "<name>"
}

// eventTable is routes compiled: static routes by "METHOD path", dynamic
// ones by method, static first as in Werkzeug's matcher.
type eventTable struct {
	static  map[string]string
	dynamic map[string][]dynRoute
	names   []string
}

var events = buildEventTable()

func buildEventTable() *eventTable {
	t := &eventTable{static: map[string]string{}, dynamic: map[string][]dynRoute{}}
	seen := map[string]bool{}
	for _, r := range routes {
		if !seen[r.event] {
			seen[r.event] = true
			t.names = append(t.names, r.event)
		}
		for _, m := range strings.Fields(r.methods) {
			if !strings.Contains(r.pattern, "<") {
				t.static[m+" "+r.pattern] = r.event
				continue
			}
			t.dynamic[m] = append(t.dynamic[m], dynRoute{event: r.event, segs: strings.Split(r.pattern[1:], "/")})
		}
	}
	sort.Strings(t.names)
	return t
}

// EventFor maps a request to the eduMFA event its view raises, with the
// path variables of the route (e.g. serial for DELETE /token/<serial>).
// path is the decoded URL path (net/http's URL.Path): Werkzeug routes on the
// decoded PATH_INFO. HEAD is routed like GET, as Flask runs the GET view for
// it. ok is false for requests that raise no event (unknown routes, wrong
// methods, redirects such as /token without its slash).
func EventFor(method, path string) (event string, pathVars map[string]string, ok bool) {
	method = strings.ToUpper(method)
	if method == "HEAD" {
		method = "GET"
	}
	if e, ok := events.static[method+" "+path]; ok {
		return e, nil, true
	}
	if !strings.HasPrefix(path, "/") {
		return "", nil, false
	}
	segs := strings.Split(path[1:], "/")
	for _, r := range events.dynamic[method] {
		if vars, ok := matchSegments(r.segs, segs); ok {
			return r.event, vars, true
		}
	}
	return "", nil, false
}

func matchSegments(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	for i, p := range pattern {
		if !strings.HasPrefix(p, "<") && p != segs[i] {
			return nil, false
		}
		if strings.HasPrefix(p, "<") && segs[i] == "" {
			return nil, false
		}
	}
	vars := map[string]string{}
	for i, p := range pattern {
		if strings.HasPrefix(p, "<") {
			vars[p[1:len(p)-1]] = segs[i]
		}
	}
	return vars, true
}

// Events returns the names of all 42 eduMFA events, sorted.
func Events() []string {
	return append([]string(nil), events.names...)
}

// isEvent says whether name is an eduMFA event.
func isEvent(name string) bool {
	i := sort.SearchStrings(events.names, name)
	return i < len(events.names) && events.names[i] == name
}
