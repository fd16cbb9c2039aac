package rules

import (
	"strings"
	"testing"
)

func TestIPIn(t *testing.T) {
	tests := []struct {
		ip, list string
		want     bool
		err      string
	}{
		// IPv4, as eduMFA's client_ip condition.
		{"10.0.0.7", "10.0.0.0/8", true, ""},
		{"11.0.0.7", "10.0.0.0/8", false, ""},
		{"10.0.0.7", "10.0.0.0/8,-10.0.0.13", true, ""},
		{"10.0.0.13", "10.0.0.0/8,-10.0.0.13", false, ""},
		{"10.0.0.13", "10.0.0.0/8, !10.0.0.13", false, ""},
		{"10.0.0.13", "-10.0.0.13, 10.0.0.0/8", false, ""}, // order does not matter
		{"192.0.2.5", "10.0.0.0/8, 192.0.2.5", true, ""},   // a single address is a host
		{"192.0.2.6", "192.0.2.5", false, ""},
		{"192.0.2.77", "192.0.2.0/255.255.255.0", true, ""}, // netmask notation
		{"192.0.3.1", "192.0.2.0/255.255.255.0", false, ""},
		{"10.1.2.3", "10.1.2.0/8", true, ""}, // host bits in the network are ignored
		{"10.0.0.7", " , 10.0.0.0/8 ,, ", true, ""},
		// Only exclusions, or nothing, never match.
		{"10.0.0.7", "-10.0.0.13", false, ""},
		{"10.0.0.7", "", false, ""},
		// IPv6.
		{"2001:db8::1", "2001:db8::/32", true, ""},
		{"2001:db8::1", "2001:db8::/32,-2001:db8::1", false, ""},
		{"2001:db9::1", "2001:db8::/32", false, ""},
		{"fe80::1%eth0", "fe80::/10", true, ""}, // zone ignored
		{"2001:db8::1", "0.0.0.0/0", false, ""}, // versions never mix
		{"10.0.0.7", "::/0", false, ""},
		// IPv4-mapped IPv6 is the IPv4 address it carries.
		{"::ffff:10.0.0.7", "10.0.0.0/8", true, ""},
		{"::ffff:10.0.0.13", "10.0.0.0/8,-10.0.0.13", false, ""},
		{"10.0.0.7", "::ffff:10.0.0.0/104", true, ""},
		{"10.0.0.7", "-::ffff:10.0.0.7, 10.0.0.0/8", false, ""},
		{"::ffff:10.0.0.7", "::ffff:0:0/96", true, ""},
		// Errors.
		{"", "10.0.0.0/8", false, `ipIn: invalid IP address ""`},
		{"10.0.0", "10.0.0.0/8", false, `ipIn: invalid IP address "10.0.0"`},
		{"10.0.0.1", "10.0.0.0/33", false, `ipIn: invalid network "10.0.0.0/33"`},
		{"10.0.0.1", "10.0.0.0/8,-bogus", false, `ipIn: invalid network "bogus"`},
		{"10.0.0.1", "10.0.0.0/255.0.255.0", false, `ipIn: invalid network "10.0.0.0/255.0.255.0"`},
		{"10.0.0.1", "fe80::1%eth0", false, `ipIn: invalid network "fe80::1%eth0"`},
	}
	for _, tt := range tests {
		got, err := IPIn(tt.ip, tt.list)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("IPIn(%q, %q) error = %v, want %q", tt.ip, tt.list, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("IPIn(%q, %q) = %v, %v; want %v", tt.ip, tt.list, got, err, tt.want)
		}
	}
}

// ipIn in conditions: the string form, the list form, and dyn arguments.
func TestIPIn_CEL(t *testing.T) {
	tests := []struct {
		cond, ip string
		want     bool
		kind     EvalErrorKind
	}{
		{`ipIn(g.client_ip, "10.0.0.0/8,-10.0.0.13")`, "10.0.0.7", true, 0},
		{`ipIn(g.client_ip, "10.0.0.0/8,-10.0.0.13")`, "10.0.0.13", false, 0},
		{`ipIn(g.client_ip, "10.0.0.0/8,-10.0.0.13")`, "::ffff:10.0.0.7", true, 0},
		{`ipIn(g.client_ip, ["2001:db8::/32", "-2001:db8::1"])`, "2001:db8::2", true, 0},
		{`ipIn(g.client_ip, ["2001:db8::/32", "-2001:db8::1"])`, "2001:db8::1", false, 0},
		{`ipIn(g.client_ip, ["10.0.0.0/8, -10.0.0.13"])`, "10.0.0.13", false, 0},
		{`ipIn(request.all_data.client, "192.0.2.0/24")`, "", true, 0},
		{`g.client_ip == "" || ipIn(g.client_ip, "10.0.0.0/8")`, "", true, 0},
		// An unparsable client address fails the rule, it does not match.
		{`ipIn(g.client_ip, "10.0.0.0/8")`, "not-an-ip", false, EvalFailed},
		{`!ipIn(g.client_ip, "10.0.0.0/8")`, "not-an-ip", false, EvalFailed},
		// A network list computed at run time is checked at run time.
		{`ipIn(g.client_ip, request.all_data.nets)`, "10.0.0.1", false, EvalFailed},
		{`ipIn(request.all_data.port, "10.0.0.0/8")`, "10.0.0.1", false, EvalFailed},
	}
	for _, tt := range tests {
		r := compileRule(t, tt.cond, Post)
		in := &Input{
			Request: RequestInput{AllData: map[string]any{"client": "192.0.2.77", "nets": "10.0.0.0/8,garbage", "port": int64(5)}},
			G:       GInput{ClientIP: tt.ip},
		}
		got, err := r.Eval(t.Context(), in)
		checkEval(t, tt.cond, got, err, tt.want, tt.kind)
	}
}

func TestIPIn_LiteralsCheckedAtLoad(t *testing.T) {
	for _, cond := range []string{
		`ipIn(g.client_ip, "10.0.0.0/8,-10.0.0.300")`,
		`ipIn(g.client_ip, ["10.0.0.0/8", "nonsense"])`,
		`ipIn("10.0.0", g.client_ip)`,
	} {
		_, issues := compileCondition(cond, Post)
		if len(issues) != 1 || !strings.HasPrefix(issues[0].msg, "ipIn: invalid") {
			t.Errorf("%s: issues = %+v, want one ipIn error", cond, issues)
		}
	}
}
