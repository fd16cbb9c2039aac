package forward

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// param is a request parameter the forward sets.
type param struct{ key, value string }

// paramEdits are the changes the options make to the request parameters.
type paramEdits struct {
	// set are the parameters given a value (realm, resolver, client).
	set []param
	// remove are the parameters taken out (client without
	// forward_client_ip, so a client cannot choose its IP at the child).
	remove []string
	// userRealm, if not empty, replaces the realm part of a `user@realm`
	// login: with only `realm` changed, the child would look up the login
	// `alice@parentrealm` in the new realm.
	userRealm string
}

func (e paramEdits) empty() bool {
	return len(e.set) == 0 && len(e.remove) == 0 && e.userRealm == ""
}

// bodyKind is how eduMFA reads a request body as parameters.
type bodyKind int

const (
	// bodyNone: no body.
	bodyNone bodyKind = iota
	// bodyForm: application/x-www-form-urlencoded.
	bodyForm
	// bodyJSON: a JSON object. eduMFA merges one from a JSON content type
	// and also from a raw body of any other non-form type.
	bodyJSON
	// bodyMultipart: multipart/form-data, which Werkzeug parses into the
	// form and so into eduMFA's parameters. It is not rewritten.
	bodyMultipart
	// bodyOther: anything eduMFA does not read parameters from (also a
	// JSON array or malformed JSON); passed on unchanged.
	bodyOther
)

// errMultipartParam refuses a forward whose multipart body carries a
// parameter that must be removed: passing it on would let the client set it
// at the child.
var errMultipartParam = errors.New("multipart body carries a parameter the forward must remove")

// requestBody is the client's body as classified for rewriting.
type requestBody struct {
	kind     bodyKind
	obj      *jsonObject
	boundary string
}

func classifyBody(header http.Header, body []byte) requestBody {
	if len(body) == 0 {
		return requestBody{kind: bodyNone}
	}
	ct := header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(ct), ";")
		mt = strings.TrimSpace(mt)
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		return requestBody{kind: bodyForm}
	case "multipart/form-data":
		return requestBody{kind: bodyMultipart, boundary: params["boundary"]}
	}
	if obj, ok := parseJSONObject(body); ok {
		return requestBody{kind: bodyJSON, obj: obj}
	}
	return requestBody{kind: bodyOther}
}

// rewriteParams applies e to the raw query and body, keeping their encoding
// and every byte e does not touch. A parameter is changed where the client
// put it (in both places if it sent it in both); one the client did not
// send goes into a form or JSON body, except for GET and bodyless requests,
// where it goes into the query. A multipart body is never rewritten: what
// it carries is set in the query instead, which Werkzeug reads first.
func rewriteParams(method, rawQuery string, header http.Header, body []byte, e paramEdits) (string, []byte, error) {
	if e.empty() {
		return rawQuery, body, nil
	}
	q := parseForm(rawQuery)
	rb := classifyBody(header, body)
	var (
		bf        *form
		bj        *objectEdit
		multipart map[string]bool
	)
	switch rb.kind {
	case bodyForm:
		bf = parseForm(string(body))
	case bodyJSON:
		bj = newObjectEdit(rb.obj, nil)
	case bodyMultipart:
		multipart = multipartNames(body, rb.boundary)
	}
	bodyHas := func(key string) bool {
		switch {
		case bf != nil:
			return bf.has(key)
		case bj != nil:
			return bj.obj.find(key) >= 0
		}
		return false
	}
	addToBody := method != http.MethodGet && (bf != nil || bj != nil)

	for _, key := range e.remove {
		if multipart[key] {
			return "", nil, errMultipartParam
		}
		q.remove(key)
		switch {
		case bf != nil:
			bf.remove(key)
		case bj != nil:
			bj.remove(key)
		}
	}
	for _, p := range e.set {
		inQuery, inBody := q.has(p.key), bodyHas(p.key)
		if inQuery {
			q.set(p.key, p.value, false)
		}
		if inBody || (!inQuery && addToBody) {
			switch {
			case bf != nil:
				bf.set(p.key, p.value, true)
			case bj != nil:
				bj.set(p.key, jsonString(p.value), true)
			}
		} else if !inQuery {
			q.set(p.key, p.value, true)
		}
	}
	if e.userRealm != "" {
		q.setUserRealm(e.userRealm)
		switch {
		case bf != nil:
			bf.setUserRealm(e.userRealm)
		case bj != nil:
			bj.setUserRealm(e.userRealm)
		}
	}

	outQuery := q.String()
	outBody := body
	switch {
	case bf != nil:
		outBody = []byte(bf.String())
	case bj != nil:
		outBody = bj.render()
	}
	return outQuery, outBody, nil
}

// setUserRealm replaces the realm part of the first `user` member's value
// if it is a string holding an `@`.
func (e *objectEdit) setUserRealm(realm string) {
	i := e.obj.find("user")
	if i < 0 {
		return
	}
	if v, ok := withStringSuffix(e.obj.value(i), realm); ok {
		e.values[i] = v
	}
}

// multipartNames returns the form field names of a multipart body (none if
// it does not parse: then Werkzeug reads no parameters from it either).
func multipartNames(body []byte, boundary string) map[string]bool {
	names := map[string]bool{}
	if boundary == "" {
		return names
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := r.NextPart()
		if err != nil {
			return names
		}
		if n := p.FormName(); n != "" {
			names[n] = true
		}
		_, _ = io.Copy(io.Discard, p)
	}
}
