package forward

import (
	"bytes"
	"encoding/json"
)

// jsonObject is a JSON object located in its raw bytes: the offsets of its
// braces and of each member's key and value. Edits splice new bytes into
// those places and copy everything else, so members that are not edited,
// and the spacing between them, stay byte-identical (a decode/encode round
// trip would reorder keys, turn \u00fc into ü and 1.0 into 1).
type jsonObject struct {
	raw         []byte
	open, close int
	members     []jsonMember
}

type jsonMember struct {
	// start is the offset of the key's opening quote, keyEnd just after
	// its closing one; the value is raw[valStart:valEnd].
	start, keyEnd    int
	valStart, valEnd int
	key              string
}

// parseJSONObject locates the members of raw, which must be one JSON object
// (surrounding white space allowed). ok is false for anything else.
func parseJSONObject(raw []byte) (obj *jsonObject, ok bool) {
	if !json.Valid(raw) {
		return nil, false
	}
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	obj = &jsonObject{raw: raw, open: i}
	i = skipSpace(raw, i+1)
	if raw[i] == '}' {
		obj.close = i
		return obj, true
	}
	for {
		var m jsonMember
		m.start = i
		m.keyEnd = skipString(raw, i)
		if err := json.Unmarshal(raw[m.start:m.keyEnd], &m.key); err != nil {
			return nil, false
		}
		i = skipSpace(raw, m.keyEnd) // at ':'
		m.valStart = skipSpace(raw, i+1)
		m.valEnd = skipValue(raw, m.valStart)
		obj.members = append(obj.members, m)
		i = skipSpace(raw, m.valEnd)
		if raw[i] == '}' {
			obj.close = i
			return obj, true
		}
		i = skipSpace(raw, i+1) // past ','
	}
}

// The skip functions assume valid JSON (parseJSONObject checks first).

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the offset after the string literal starting at i.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the offset after the value starting at i.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
	}
	return i
}

// find returns the index of the first member named key, or -1.
func (o *jsonObject) find(key string) int {
	for i, m := range o.members {
		if m.key == key {
			return i
		}
	}
	return -1
}

// value returns the raw value of member i.
func (o *jsonObject) value(i int) []byte {
	m := o.members[i]
	return o.raw[m.valStart:m.valEnd]
}

// separators returns the member separator and key-value separator the
// object uses (", " and ": " for Python's json.dumps, eduMFA's and
// FreeRADIUS' writer), falling back to fallback's, then to Python's.
func (o *jsonObject) separators(fallback *jsonObject) (comma, colon []byte) {
	comma, colon = []byte(", "), []byte(": ")
	if fallback != nil && fallback != o {
		comma, colon = fallback.separators(nil)
	}
	if len(o.members) > 0 {
		m := o.members[0]
		colon = o.raw[m.keyEnd:m.valStart]
	}
	switch {
	case len(o.members) > 1:
		comma = o.raw[o.members[0].valEnd:o.members[1].start]
	case len(o.members) == 1 && (fallback == nil || len(fallback.members) < 2):
		// One member shows no comma: a compact colon means a
		// compact writer.
		if bytes.Equal(colon, []byte(":")) {
			comma = []byte(",")
		}
	}
	return comma, colon
}

// objectEdit collects the changes to one object before rendering them.
type objectEdit struct {
	obj *jsonObject
	// values holds replacement raw values by member index; dropped the
	// members removed.
	values  map[int][]byte
	dropped map[int]bool
	// appended members, each a raw key and a raw value.
	appended [][2][]byte
	// style supplies separators for an object too small to show its own.
	style *jsonObject
}

func newObjectEdit(obj, style *jsonObject) *objectEdit {
	return &objectEdit{obj: obj, values: map[int][]byte{}, dropped: map[int]bool{}, style: style}
}

// set gives key the raw value v: the first member of that name gets it,
// later members of that name are dropped, and with add a missing key is
// appended as the last member.
func (e *objectEdit) set(key string, v []byte, add bool) {
	found := false
	for i, m := range e.obj.members {
		if m.key != key || e.dropped[i] {
			continue
		}
		if found {
			e.dropped[i] = true
			continue
		}
		found = true
		e.values[i] = v
	}
	if !found && add {
		e.appended = append(e.appended, [2][]byte{jsonString(key), v})
	}
}

// remove drops every member named key.
func (e *objectEdit) remove(key string) {
	for i, m := range e.obj.members {
		if m.key == key {
			e.dropped[i] = true
		}
	}
}

// changed reports whether rendering would differ from the original.
func (e *objectEdit) changed() bool {
	return len(e.values) > 0 || len(e.dropped) > 0 || len(e.appended) > 0
}

// render returns the edited object. A kept member is preceded by the
// separator that preceded it originally (the first one kept by none), an
// appended one by the object's own separator style.
func (e *objectEdit) render() []byte {
	o := e.obj
	if !e.changed() {
		return o.raw
	}
	comma, colon := o.separators(e.style)
	var b bytes.Buffer
	b.Grow(len(o.raw) + 64)
	b.Write(o.raw[:o.open+1])
	tail := o.raw[o.close:] // the closing brace and what follows it
	if len(o.members) == 0 {
		b.Write(o.raw[o.open+1 : o.close])
	} else {
		b.Write(o.raw[o.open+1 : o.members[0].start])
		tail = o.raw[o.members[len(o.members)-1].valEnd:]
	}
	wrote := false
	for i, m := range o.members {
		if e.dropped[i] {
			continue
		}
		if wrote {
			b.Write(o.raw[o.members[i-1].valEnd:m.start])
		}
		wrote = true
		b.Write(o.raw[m.start:m.valStart])
		if v, ok := e.values[i]; ok {
			b.Write(v)
		} else {
			b.Write(o.raw[m.valStart:m.valEnd])
		}
	}
	for _, kv := range e.appended {
		if wrote {
			b.Write(comma)
		}
		wrote = true
		b.Write(kv[0])
		b.Write(colon)
		b.Write(kv[1])
	}
	b.Write(tail)
	return b.Bytes()
}

// jsonString encodes s as a JSON string literal without HTML escaping (a `&`
// stays a `&`, as Python's json.dumps writes it).
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// withStringSuffix replaces the part of the JSON string literal lit after
// its last `@` (written as `@` or \u0040) by suffix; the part before keeps
// its bytes. ok is false when lit is not a string or has no `@`.
func withStringSuffix(lit []byte, suffix string) ([]byte, bool) {
	if len(lit) < 2 || lit[0] != '"' {
		return nil, false
	}
	end := -1
	for i := 1; i < len(lit)-1; i++ {
		switch {
		case lit[i] == '@':
			end = i + 1
		case lit[i] == '\\' && lit[i+1] == 'u' && i+5 < len(lit):
			if bytes.EqualFold(lit[i+2:i+6], []byte("0040")) {
				end = i + 6
			}
			i += 5
		case lit[i] == '\\':
			i++
		}
	}
	if end < 0 {
		return nil, false
	}
	enc := jsonString(suffix)
	out := make([]byte, 0, end+len(enc))
	out = append(out, lit[:end]...)
	return append(out, enc[1:]...), true
}
