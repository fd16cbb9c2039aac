package rules

import (
	"net/http"
	"reflect"
	"testing"
)

func TestParseResponseJSON(t *testing.T) {
	type m = map[string]any
	tests := []struct {
		name, body string
		want       m
	}{
		{"empty", "", m{}},
		{"radiuscheck 204", "", m{}},
		{"html", "<html>502 Bad Gateway</html>", m{}},
		{"list", `[1, 2]`, m{}},
		{"string", `"x"`, m{}},
		{"null", `null`, m{}},
		{"trailing garbage", `{"a": 1} x`, m{}},
		{"two objects", `{"a": 1} {"b": 2}`, m{}},
		{"whitespace around", " \n{\"a\": 1}\n ", m{"a": int64(1)}},
		{"detail null is absent", `{"detail": null, "result": {"status": false}}`, m{"result": m{"status": false}}},
		{"nested nulls", `{"a": {"b": null, "c": [null, {"d": null}]}}`, m{"a": m{"c": []any{nil, m{}}}}},
		{"numbers", `{"i": 6, "neg": -3, "f": 1.5, "e": 1e3, "big": 12345678901234567890, "tid": 139765621962432}`,
			m{"i": int64(6), "neg": int64(-3), "f": 1.5, "e": 1000.0, "big": 1.2345678901234567e19, "tid": int64(139765621962432)}},
	}
	for _, tt := range tests {
		if got := ParseResponseJSON([]byte(tt.body)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ParseResponseJSON = %#v, want %#v", tt.name, got, tt.want)
		}
	}
}

func TestHeaderMap(t *testing.T) {
	h := http.Header{
		"Content-Type":    {"application/json"},
		"X-Forwarded-For": {"192.0.2.1", "10.0.0.1"},
		"Authorization":   {"Bearer x"},
	}
	h["x-lower"] = []string{"a"} // set by hand, not canonical
	h["X-Lower"] = []string{"b"}
	got := HeaderMap(h)
	want := map[string]string{
		"content-type":    "application/json",
		"x-forwarded-for": "192.0.2.1, 10.0.0.1",
		"authorization":   "Bearer x",
	}
	lower := got["x-lower"]
	delete(got, "x-lower")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("HeaderMap = %v, want %v", got, want)
	}
	if lower != "a, b" && lower != "b, a" {
		t.Errorf("x-lower = %q, want both values", lower)
	}
	if len(HeaderMap(nil)) != 0 {
		t.Error("HeaderMap(nil) not empty")
	}
}
