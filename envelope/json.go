package envelope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Member is one name/value pair of an Object.
type Member struct {
	Key   string
	Value any
}

// Object is a JSON object that keeps its members in the order given.
//
// eduMFA's bodies are sorted once (Flask's jsonify) and later members are
// appended unsorted (a postpolicy's preferred_client_mode, the Federation
// handler's detail.origin, the nonce, the signature), so a Go map, which
// Marshal always sorts, cannot represent them; an Object can.
type Object []Member

// Get returns the value of the member named key.
func (o Object) Get(key string) (any, bool) {
	for _, m := range o {
		if m.Key == key {
			return m.Value, true
		}
	}
	return nil, false
}

// Set replaces the value of the member named key in place, or appends a new
// member, as assigning to a Python dict does.
func (o *Object) Set(key string, value any) {
	for i := range *o {
		if (*o)[i].Key == key {
			(*o)[i].Value = value
			return
		}
	}
	*o = append(*o, Member{Key: key, Value: value})
}

// Delete removes the member named key and reports its value.
func (o *Object) Delete(key string) (any, bool) {
	for i, m := range *o {
		if m.Key == key {
			*o = slices.Delete(*o, i, i+1)
			return m.Value, true
		}
	}
	return nil, false
}

// SortedObject returns the members of m as an Object in Python's sort_keys
// order (code point order of the keys). Nested values are left as they are.
func SortedObject(m map[string]any) Object {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	o := make(Object, 0, len(keys))
	for _, k := range keys {
		o = append(o, Member{Key: k, Value: m[k]})
	}
	return o
}

// Marshal encodes v as Python's json.dumps(v) does with default arguments:
// separators ", " and ": ", non-ASCII and control characters as lowercase
// \uXXXX escapes (surrogate pairs above U+FFFF), no escaping of / < > &,
// floats in Python's repr form (1796306464.0319033, 100.0, 1e-05), NaN and
// Infinity as Python writes them. Go maps are written in sorted key order
// (as eduMFA's jsonify emits them); an Object keeps its order. Integer-valued
// json.Number values are written verbatim; other json.Number values as the
// float Python would read and print. Other Go values are first converted
// through encoding/json.
func Marshal(v any) ([]byte, error) {
	e := encoder{}
	if err := e.value(v); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

// MarshalSorted encodes v as Python's json.dumps(v, sort_keys=True) does: like
// Marshal, but the members of every object, Objects included, are sorted.
// This is the form eduMFA signs.
func MarshalSorted(v any) ([]byte, error) {
	e := encoder{sortAll: true}
	if err := e.value(v); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

type encoder struct {
	buf     bytes.Buffer
	sortAll bool
}

func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf.WriteString("null")
	case bool:
		if x {
			e.buf.WriteString("true")
		} else {
			e.buf.WriteString("false")
		}
	case string:
		e.string(x)
	case json.Number:
		return e.number(x)
	case float64:
		e.buf.WriteString(pythonFloat(x))
	case float32:
		e.buf.WriteString(pythonFloat(float64(x)))
	case int:
		e.buf.WriteString(strconv.FormatInt(int64(x), 10))
	case int8:
		e.buf.WriteString(strconv.FormatInt(int64(x), 10))
	case int16:
		e.buf.WriteString(strconv.FormatInt(int64(x), 10))
	case int32:
		e.buf.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		e.buf.WriteString(strconv.FormatInt(x, 10))
	case uint:
		e.buf.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint8:
		e.buf.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint16:
		e.buf.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint32:
		e.buf.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint64:
		e.buf.WriteString(strconv.FormatUint(x, 10))
	case Object:
		return e.object(x)
	case map[string]any:
		return e.object(SortedObject(x))
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return e.object(SortedObject(m))
	case []any:
		return e.array(len(x), func(i int) any { return x[i] })
	case []string:
		return e.array(len(x), func(i int) any { return x[i] })
	case []Object:
		return e.array(len(x), func(i int) any { return x[i] })
	case []map[string]any:
		return e.array(len(x), func(i int) any { return x[i] })
	default:
		return e.other(v)
	}
	return nil
}

// other converts values of types this encoder does not know (structs, typed
// slices and maps) through encoding/json, keeping struct field order.
func (e *encoder) other(v any) error {
	if rv := reflect.ValueOf(v); (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Map || rv.Kind() == reflect.Slice) && rv.IsNil() {
		e.buf.WriteString("null")
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("envelope: cannot encode %T: %w", v, err)
	}
	decoded, err := Decode(raw)
	if err != nil {
		return fmt.Errorf("envelope: cannot encode %T: %w", v, err)
	}
	return e.value(decoded)
}

func (e *encoder) object(o Object) error {
	if e.sortAll {
		o = slices.Clone(o)
		slices.SortStableFunc(o, func(a, b Member) int { return strings.Compare(a.Key, b.Key) })
	}
	e.buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			e.buf.WriteString(", ")
		}
		e.string(m.Key)
		e.buf.WriteString(": ")
		if err := e.value(m.Value); err != nil {
			return err
		}
	}
	e.buf.WriteByte('}')
	return nil
}

func (e *encoder) array(n int, at func(int) any) error {
	e.buf.WriteByte('[')
	for i := range n {
		if i > 0 {
			e.buf.WriteString(", ")
		}
		if err := e.value(at(i)); err != nil {
			return err
		}
	}
	e.buf.WriteByte(']')
	return nil
}

// number writes a json.Number the way Python prints what it parsed: an
// integer literal stays as it is, anything with a fraction or exponent
// becomes a float in repr form.
func (e *encoder) number(n json.Number) error {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if !isDigits(strings.TrimPrefix(s, "-")) {
			return fmt.Errorf("envelope: invalid number %q", s)
		}
		if s == "-0" { // Python reads -0 as the int 0
			s = "0"
		}
		e.buf.WriteString(s)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return fmt.Errorf("envelope: invalid number %q", s)
	}
	e.buf.WriteString(pythonFloat(f))
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// pythonFloat formats f as Python's repr(float): the shortest digits that
// read back to f, in positional form when the decimal exponent is in
// [-4, 16), with ".0" added to whole numbers, else in exponent form.
func pythonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	exp := strconv.FormatFloat(f, 'e', -1, 64)
	i := strings.LastIndexByte(exp, 'e')
	n, _ := strconv.Atoi(exp[i+1:])
	if f == 0 || (n >= -4 && n < 16) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	return exp
}

// string writes s with Python's ensure_ascii escaping: only printable ASCII
// (space to ~) stays literal, besides the escaped quote and backslash.
func (e *encoder) string(s string) {
	const hex = "0123456789abcdef"
	e.buf.WriteByte('"')
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		switch {
		case r == '"':
			e.buf.WriteString(`\"`)
		case r == '\\':
			e.buf.WriteString(`\\`)
		case r == '\n':
			e.buf.WriteString(`\n`)
		case r == '\r':
			e.buf.WriteString(`\r`)
		case r == '\t':
			e.buf.WriteString(`\t`)
		case r == '\b':
			e.buf.WriteString(`\b`)
		case r == '\f':
			e.buf.WriteString(`\f`)
		case r >= 0x20 && r <= 0x7e:
			e.buf.WriteByte(byte(r))
		default:
			units := []rune{r}
			if r > 0xffff {
				r -= 0x10000
				units = []rune{0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff}
			}
			for _, u := range units {
				e.buf.WriteString(`\u`)
				e.buf.WriteByte(hex[u>>12&0xf])
				e.buf.WriteByte(hex[u>>8&0xf])
				e.buf.WriteByte(hex[u>>4&0xf])
				e.buf.WriteByte(hex[u&0xf])
			}
		}
	}
	e.buf.WriteByte('"')
}
