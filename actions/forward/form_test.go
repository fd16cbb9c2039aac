package forward

import "testing"

func TestForm_UntouchedFieldsKeepTheirBytes(t *testing.T) {
	for _, s := range []string{
		"",
		"user=bob&pass=bob-child",
		"pass=p%2541%2Bb%26c+%C3%BC&user=bob", // %, +, & and ü in a password
		"a=1&&b=2&",                           // empty fields
		"flag&x=%zz&y=+",                      // no '=', bad escape, lone plus
	} {
		if got := parseForm(s).String(); got != s {
			t.Errorf("parseForm(%q).String() = %q", s, got)
		}
	}
}

func TestForm_Edits(t *testing.T) {
	tests := []struct {
		name string
		in   string
		edit func(f *form)
		want string
	}{
		{"replace first, drop later duplicates",
			"realm=a&user=bob&realm=b", func(f *form) { f.set("realm", "child", true) },
			"realm=child&user=bob"},
		{"append when absent",
			"user=bob&pass=x", func(f *form) { f.set("realm", "child realm", true) },
			"user=bob&pass=x&realm=child+realm"},
		{"no append without add",
			"user=bob", func(f *form) { f.set("realm", "child", false) },
			"user=bob"},
		{"append to empty",
			"", func(f *form) { f.set("client", "192.0.2.1", true) },
			"client=192.0.2.1"},
		{"encoded key matches",
			"re%61lm=a&user=bob", func(f *form) { f.set("realm", "child", true) },
			"re%61lm=child&user=bob"},
		{"key without value",
			"realm&user=bob", func(f *form) { f.set("realm", "child", true) },
			"realm=child&user=bob"},
		{"value is query-escaped",
			"user=bob", func(f *form) { f.set("realm", "a&b=c", true) },
			"user=bob&realm=a%26b%3Dc"},
		{"remove every occurrence",
			"client=1.2.3.4&user=bob&client=5.6.7.8&cli%65nt=9.9.9.9", func(f *form) { f.remove("client") },
			"user=bob"},
		{"user@realm: realm part replaced, login bytes kept",
			"user=b%C3%B6b@parentrealm&pass=x", func(f *form) { f.setUserRealm("childrealm") },
			"user=b%C3%B6b@childrealm&pass=x"},
		{"user@realm: last @ counts",
			"user=a@b.org@parentrealm", func(f *form) { f.setUserRealm("childrealm") },
			"user=a@b.org@childrealm"},
		{"user@realm: encoded @",
			"user=alice%40parentrealm", func(f *form) { f.setUserRealm("childrealm") },
			"user=alice%40childrealm"},
		{"user@realm: %2540 is not an @",
			"user=alice%2540x", func(f *form) { f.setUserRealm("childrealm") },
			"user=alice%2540x"},
		{"user without @ untouched",
			"user=alice", func(f *form) { f.setUserRealm("childrealm") },
			"user=alice"},
		{"only the first user is the login",
			"user=a@x&user=b@y", func(f *form) { f.setUserRealm("r") },
			"user=a@r&user=b@y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseForm(tt.in)
			tt.edit(f)
			if got := f.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormDecode(t *testing.T) {
	for in, want := range map[string]string{
		"realm":   "realm",
		"re%61lm": "realm",
		"a+b":     "a b",
		"%zz%4":   "%zz%4",
		"%C3%BC":  "ü",
	} {
		if got := formDecode(in); got != want {
			t.Errorf("formDecode(%q) = %q, want %q", in, got, want)
		}
	}
}
