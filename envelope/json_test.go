package envelope

import (
	"encoding/json"
	"math"
	"testing"
)

// Expected strings below were produced by CPython 3.11's json.dumps.
func TestMarshal_MatchesPythonJSONDumps(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"escapes like ensure_ascii", map[string]any{"s": "p%41+b&c ü €😀ß <>&/ \x7f\x01\t\n\"\\"},
			`{"s": "p%41+b&c \u00fc \u20ac\ud83d\ude00\u00df <>&/ \u007f\u0001\t\n\"\\"}`},
		{"time float", 1796306464.0319033, "1796306464.0319033"},
		{"whole float", 100.0, "100.0"},
		{"small float", 1e-05, "1e-05"},
		{"positional lower bound", 0.0001, "0.0001"},
		{"exponent upper bound", 1e16, "1e+16"},
		{"positional upper bound", 1e15, "1000000000000000.0"},
		{"negative zero", math.Copysign(0, -1), "-0.0"},
		{"big float", 123456789012345678.0, "1.2345678901234568e+17"},
		{"tiny float", 2.5e-7, "2.5e-07"},
		{"nan", math.NaN(), "NaN"},
		{"ints", []any{1, int64(-7), uint8(3)}, "[1, -7, 3]"},
		{"json numbers as Python re-reads them", []any{json.Number("1.0"), json.Number("1e5"), json.Number("1E-3"), json.Number("10"), json.Number("-0"), json.Number("12345678901234567890123")},
			"[1.0, 100000.0, 0.001, 10, 0, 12345678901234567890123]"},
		{"maps sorted, nested", map[string]any{"b": map[string]any{"z": nil, "a": true}, "a": []string{"x"}},
			`{"a": ["x"], "b": {"a": true, "z": null}}`},
		{"object keeps order", Object{{"z", 1}, {"a", false}}, `{"z": 1, "a": false}`},
		{"empty containers", []any{map[string]any{}, []any{}, Object{}}, "[{}, [], {}]"},
		{"struct through encoding/json", struct {
			B string `json:"b"`
			A int    `json:"a"`
		}{"x", 1}, `{"b": "x", "a": 1}`},
		{"nil map", map[string]int(nil), "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal = %s\nwant       %s", got, tt.want)
			}
		})
	}
}

func TestMarshalSorted_SortsObjectsToo(t *testing.T) {
	in := Object{{"z", Object{{"b", 1}, {"a", 2}}}, {"a", []any{Object{{"y", 1}, {"x", 2}}}}}
	got, err := MarshalSorted(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a": [{"x": 2, "y": 1}], "z": {"a": 2, "b": 1}}`
	if string(got) != want {
		t.Errorf("MarshalSorted = %s, want %s", got, want)
	}
}

func TestMarshal_RejectsUnencodable(t *testing.T) {
	if _, err := Marshal(map[string]any{"c": make(chan int)}); err == nil {
		t.Error("Marshal of a channel: no error")
	}
	if _, err := Marshal(json.Number("1x")); err == nil {
		t.Error("Marshal of a bad json.Number: no error")
	}
}

func TestObject_SetGetDelete(t *testing.T) {
	o := Object{{"a", 1}, {"b", 2}}
	o.Set("a", 3)
	o.Set("c", 4)
	if v, _ := o.Get("a"); v != 3 {
		t.Errorf("Get(a) = %v after Set", v)
	}
	if o[0].Key != "a" || o[2].Key != "c" {
		t.Errorf("Set moved members: %v", o)
	}
	if v, ok := o.Delete("b"); !ok || v != 2 || len(o) != 2 {
		t.Errorf("Delete(b) = %v, %v; object %v", v, ok, o)
	}
	if _, ok := o.Get("b"); ok {
		t.Error("b still present")
	}
}
