package forward

import (
	"net/url"
	"strings"
)

// form is an application/x-www-form-urlencoded sequence (a body or a raw
// query string) split into its `&`-separated fields, each kept as the client
// wrote it. Rendering joins the fields that remain with `&` again, so every
// field the edit does not touch (empty ones included) keeps its bytes.
type form struct {
	fields []formField
	// appended are fields added by the edit, already encoded.
	appended []string
}

type formField struct {
	raw string
	// key is the field's name decoded the way Werkzeug decodes it.
	key     string
	dropped bool
}

func parseForm(s string) *form {
	f := &form{}
	if s == "" {
		return f
	}
	for _, raw := range strings.Split(s, "&") {
		name, _, _ := strings.Cut(raw, "=")
		f.fields = append(f.fields, formField{raw: raw, key: formDecode(name)})
	}
	return f
}

// has reports whether some field is named key.
func (f *form) has(key string) bool {
	for _, fl := range f.fields {
		if fl.key == key {
			return true
		}
	}
	return false
}

// set gives key the value v: the first field of that name keeps its name
// bytes and gets v encoded; later fields of that name are dropped (eduMFA
// reads the first value only, a later one would be a stale copy). With add,
// a key not present is appended.
func (f *form) set(key, v string, add bool) {
	found := false
	for i := range f.fields {
		fl := &f.fields[i]
		if fl.dropped || fl.key != key {
			continue
		}
		if found {
			fl.dropped = true
			continue
		}
		found = true
		name, _, _ := strings.Cut(fl.raw, "=")
		fl.raw = name + "=" + url.QueryEscape(v)
	}
	if !found && add {
		f.appended = append(f.appended, url.QueryEscape(key)+"="+url.QueryEscape(v))
	}
}

// remove drops every field named key.
func (f *form) remove(key string) {
	for i := range f.fields {
		if f.fields[i].key == key {
			f.fields[i].dropped = true
		}
	}
}

// setUserRealm replaces the realm part of the first `user` value, the part
// after its last `@` (an `@` written as %40 counts too), by realm. The part
// before keeps its bytes. A value without `@` is left alone.
func (f *form) setUserRealm(realm string) {
	for i := range f.fields {
		fl := &f.fields[i]
		if fl.dropped || fl.key != "user" {
			continue
		}
		name, value, ok := strings.Cut(fl.raw, "=")
		if !ok {
			return
		}
		if at := lastEncodedAt(value); at >= 0 {
			fl.raw = name + "=" + value[:at] + url.QueryEscape(realm)
		}
		return
	}
}

// lastEncodedAt returns the offset just after the last `@` of an encoded
// form value (a literal `@` or %40), or -1.
func lastEncodedAt(v string) int {
	end := -1
	for i := 0; i < len(v); i++ {
		if v[i] == '@' {
			end = i + 1
		} else if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			if unhex(v[i+1])<<4|unhex(v[i+2]) == '@' {
				end = i + 3
			}
			i += 2
		}
	}
	return end
}

// String renders the edited sequence.
func (f *form) String() string {
	var b strings.Builder
	first := true
	for _, fl := range f.fields {
		if fl.dropped {
			continue
		}
		if !first {
			b.WriteByte('&')
		}
		first = false
		b.WriteString(fl.raw)
	}
	for _, a := range f.appended {
		if !first {
			b.WriteByte('&')
		}
		first = false
		b.WriteString(a)
	}
	return b.String()
}

// formDecode decodes a form-encoded name leniently, as Werkzeug does: `+` is
// a space, a valid %XX is its byte, anything else stays as written.
func formDecode(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
