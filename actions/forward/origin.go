package forward

// setOrigin returns the child's JSON answer with detail.origin set to
// origin, as eduMFA's Federation handler does, keeping every other byte.
//   - detail an object: origin replaces an existing origin's value in place
//     (a child that is itself a gateway set it), else it is appended as
//     detail's last member, where Python's dict assignment puts it;
//   - detail null (every eduMFA error envelope: the Python handler crashes
//     on it) or absent: detail becomes {"origin": ...}, in null's place or
//     appended as the body's last member;
//   - detail of another type, or a body that is not a JSON object (the
//     empty 204 of /validate/radiuscheck, a proxy's HTML page): unchanged.
//
// changed reports whether the body differs from the child's.
func setOrigin(body []byte, origin string) (out []byte, changed bool) {
	obj, ok := parseJSONObject(body)
	if !ok {
		return body, false
	}
	value := jsonString(origin)
	top := newObjectEdit(obj, nil)
	i := obj.find("detail")
	switch {
	case i < 0:
		top.set("detail", originObject(obj, value), true)
	case string(obj.value(i)) == "null":
		top.set("detail", originObject(obj, value), false)
	default:
		detail, ok := parseJSONObject(obj.value(i))
		if !ok {
			return body, false
		}
		d := newObjectEdit(detail, obj)
		d.set("origin", value, true)
		top.set("detail", d.render(), false)
	}
	return top.render(), true
}

// originObject renders {"origin": value} with the separator style of obj.
func originObject(obj *jsonObject, value []byte) []byte {
	_, colon := obj.separators(nil)
	out := append([]byte{'{'}, jsonString("origin")...)
	out = append(out, colon...)
	out = append(out, value...)
	return append(out, '}')
}
