package forward

import "testing"

func TestParseJSONObject(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		keys []string
	}{
		{`{}`, true, nil},
		{` { } `, true, nil},
		{`{"a": 1, "b": {"c": [1, "}"]}, "d": "x\"y", "e": null}`, true, []string{"a", "b", "d", "e"}},
		{"{\n\t\"a\" :true ,\"b\":-1.5e3}\n", true, []string{"a", "b"}},
		{`{"\u0075ser": "x"}`, true, []string{"user"}},
		{`[1, 2]`, false, nil},
		{`"str"`, false, nil},
		{`{"a": }`, false, nil},
		{``, false, nil},
		{`{"a": 1} {"b": 2}`, false, nil},
	}
	for _, tt := range tests {
		obj, ok := parseJSONObject([]byte(tt.in))
		if ok != tt.ok {
			t.Errorf("parseJSONObject(%q) ok = %v", tt.in, ok)
			continue
		}
		if !ok {
			continue
		}
		var keys []string
		for _, m := range obj.members {
			keys = append(keys, m.key)
		}
		if len(keys) != len(tt.keys) {
			t.Errorf("parseJSONObject(%q) keys = %q, want %q", tt.in, keys, tt.keys)
			continue
		}
		for i := range keys {
			if keys[i] != tt.keys[i] {
				t.Errorf("parseJSONObject(%q) keys = %q, want %q", tt.in, keys, tt.keys)
			}
		}
	}
}

func TestObjectEdit_Render(t *testing.T) {
	tests := []struct {
		name string
		in   string
		edit func(e *objectEdit)
		want string
	}{
		{"unchanged",
			`{"user": "bob",  "pass": "p\u00fc"}`, func(*objectEdit) {},
			`{"user": "bob",  "pass": "p\u00fc"}`},
		{"replace in place",
			`{"user": "bob", "realm": "parent", "pass": "x"}`,
			func(e *objectEdit) { e.set("realm", jsonString("child"), true) },
			`{"user": "bob", "realm": "child", "pass": "x"}`},
		{"append in the object's style",
			`{"user": "bob", "pass": "x"}`,
			func(e *objectEdit) { e.set("realm", jsonString("child"), true) },
			`{"user": "bob", "pass": "x", "realm": "child"}`},
		{"append compact",
			`{"user":"bob","pass":"x"}`,
			func(e *objectEdit) { e.set("realm", jsonString("child"), true) },
			`{"user":"bob","pass":"x","realm":"child"}`},
		{"append to empty",
			`{}`, func(e *objectEdit) { e.set("realm", jsonString("child"), true) },
			`{"realm": "child"}`},
		{"remove first",
			`{"client": "1.2.3.4", "user": "bob"}`, func(e *objectEdit) { e.remove("client") },
			`{"user": "bob"}`},
		{"remove last",
			`{"user": "bob", "client": "1.2.3.4"}`, func(e *objectEdit) { e.remove("client") },
			`{"user": "bob"}`},
		{"remove middle and duplicates",
			`{"client": "a", "user": "bob", "client": "b", "pass": "x", "client": "c"}`,
			func(e *objectEdit) { e.remove("client") },
			`{"user": "bob", "pass": "x"}`},
		{"remove only member keeps the braces' spacing",
			"{ \"client\": \"a\" }\n", func(e *objectEdit) { e.remove("client") },
			"{  }\n"},
		{"duplicates of a set key dropped",
			`{"realm": "a", "user": "bob", "realm": "b"}`,
			func(e *objectEdit) { e.set("realm", jsonString("child"), true) },
			`{"realm": "child", "user": "bob"}`},
		{"remove then append",
			`{"client": "a", "user": "bob"}`,
			func(e *objectEdit) { e.remove("client"); e.set("realm", jsonString("r"), true) },
			`{"user": "bob", "realm": "r"}`},
		{"values are not HTML-escaped",
			`{"a": 1}`, func(e *objectEdit) { e.set("b", jsonString("<&>"), true) },
			`{"a": 1, "b": "<&>"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, ok := parseJSONObject([]byte(tt.in))
			if !ok {
				t.Fatalf("not an object: %q", tt.in)
			}
			e := newObjectEdit(obj, nil)
			tt.edit(e)
			if got := string(e.render()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestWithStringSuffix(t *testing.T) {
	tests := []struct {
		lit, suffix, want string
		ok                bool
	}{
		{`"alice@parent"`, "child", `"alice@child"`, true},
		{`"a@b.org@parent"`, "child", `"a@b.org@child"`, true},
		{`"b\u00f6b@parent"`, "child", `"b\u00f6b@child"`, true},
		{`"alice\u0040parent"`, "child", `"alice\u0040child"`, true},
		{`"alice\\u0040parent"`, "child", ``, false}, // an escaped backslash, then text
		{`"alice"`, "child", ``, false},
		{`17`, "child", ``, false},
		{`"a@x"`, `q"r`, `"a@q\"r"`, true},
	}
	for _, tt := range tests {
		got, ok := withStringSuffix([]byte(tt.lit), tt.suffix)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("withStringSuffix(%s, %q) = %s, %v; want %s, %v", tt.lit, tt.suffix, got, ok, tt.want, tt.ok)
		}
	}
}
