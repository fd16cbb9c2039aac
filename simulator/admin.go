package simulator

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// tokenList answers GET /token/ with eduMFA's paginated token list. Filters:
// serial (with * wildcards), type, user/realm; paging: page, pagesize.
func (s *Server) tokenList(c *call) reply {
	if rep, ok := s.requireAdmin(c); !ok {
		return rep
	}
	login, realm := s.userParam(c.params)
	if login != "" && !s.userExists(login, realm) {
		return c.noSuchUser(login, realm)
	}
	page, size := intParam(c.params["page"], 1), intParam(c.params["pagesize"], 15)
	serial, kind := str(c.params["serial"]), str(c.params["type"])

	s.mu.Lock()
	var all []map[string]any
	for _, t := range s.tokens {
		if (login == "" || t.owner == login) && (kind == "" || strings.EqualFold(kind, t.kind)) && wildcard(serial, t.serial) {
			all = append(all, s.tokenDict(t))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b map[string]any) int { return strings.Compare(a["serial"].(string), b["serial"].(string)) })

	from := min((page-1)*size, len(all))
	to := min(from+size, len(all))
	tokens := make([]any, 0, to-from)
	for _, d := range all[from:to] {
		tokens = append(tokens, d)
	}
	var prev, next any
	if page > 1 {
		prev = page - 1
	}
	if to < len(all) {
		next = page + 1
	}
	return c.ok(1, map[string]any{"count": len(all), "current": page, "next": next, "prev": prev, "tokens": tokens}, nil)
}

// tokenDict is eduMFA's token dict in a token list. Caller holds s.mu.
func (s *Server) tokenDict(t *token) map[string]any {
	d := map[string]any{
		"active": true, "count": int(t.counter), "count_window": hotpWindow, "description": t.description,
		"failcount": 0, "id": t.id, "info": map[string]any{"tokenkind": "software"}, "locked": false,
		"maxfail": 10, "otplen": hotpDigits, "realms": []any{}, "resolver": "", "revoked": false,
		"rollout_state": "", "serial": t.serial, "sync_window": 1000, "tokengroup": []any{},
		"tokentype": t.kind, "user_id": "", "user_realm": "", "username": "",
	}
	if t.owner != "" {
		d["realms"] = []any{s.cfg.Realm}
		d["resolver"] = resolverName
		d["user_id"] = t.owner
		d["user_realm"] = s.cfg.Realm
		d["username"] = t.owner
		d["user_editable"] = false
	}
	return d
}

// tokenInit answers POST /token/init for hotp (default) and spass tokens:
// params type, serial, user/realm, pin, otpkey (hex) or genkey.
func (s *Server) tokenInit(c *call) reply {
	if rep, ok := s.requireAdmin(c); !ok {
		return rep
	}
	kind := strings.ToLower(str(c.params["type"]))
	if kind == "" {
		kind = typeHOTP
	}
	if kind != typeHOTP && kind != typeSpass {
		return c.paramError(fmt.Sprintf("The simulator only enrolls hotp and spass tokens, not %q.", kind))
	}
	login, realm := s.userParam(c.params)
	if login != "" && !s.userExists(login, realm) {
		return c.noSuchUser(login, realm)
	}
	var key []byte
	generated := false
	if kind == typeHOTP {
		if k := str(c.params["otpkey"]); k != "" {
			var err error
			if key, err = hex.DecodeString(k); err != nil {
				return c.paramError("The otpkey is not hexadecimal.")
			}
		} else {
			key = make([]byte, 20)
			rand.Read(key)
			generated = true
		}
	}

	s.mu.Lock()
	serial := str(c.params["serial"])
	if serial == "" {
		prefix := map[string]string{typeHOTP: "OATH", typeSpass: "PISP"}[kind]
		for serial == "" || s.tokenBySerial(serial) != nil {
			b := make([]byte, 4)
			rand.Read(b)
			serial = prefix + strings.ToUpper(hex.EncodeToString(b))
		}
	}
	t := s.tokenBySerial(serial)
	if t == nil {
		t = &token{id: len(s.tokens) + 1, serial: serial}
		s.tokens = append(s.tokens, t)
	}
	t.kind, t.key, t.counter, t.pin = kind, key, 0, str(c.params["pin"])
	t.description = str(c.params["description"])
	if login != "" {
		t.owner = login
	}
	s.mu.Unlock()

	detail := map[string]any{"rollout_state": "", "serial": serial}
	if kind == typeHOTP {
		secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
		detail["googleurl"] = map[string]any{"description": "URL for google Authenticator", "img": "",
			"value": "otpauth://hotp/" + url.PathEscape(serial) + "?secret=" + secret + "&counter=0&digits=6&issuer=eduMFA"}
		if generated {
			detail["otpkey"] = map[string]any{"description": "OTP seed", "img": "", "value": "seed://" + hex.EncodeToString(key)}
		}
	}
	return c.ok(1, true, detail)
}

// systemConfig answers GET /system/ with the system settings (like k03),
// and sets a cookie so tests can check that Set-Cookie passes through.
func (s *Server) systemConfig(c *call) reply {
	if rep, ok := s.requireAdmin(c); !ok {
		return rep
	}
	cfg := map[string]any{
		"IncFailCountOnFalsePin": "True",
		"PrependPin":             "True",
		"ReturnSamlAttributes":   "True",
		"__timestamp__":          strconv.FormatInt(s.started.Unix(), 10),
		"splitAtSign":            "True",
	}
	if len(s.cfg.TrustedProxies) > 0 {
		cfg["OverrideAuthorizationClient"] = strings.Join(s.cfg.TrustedProxies, ", ")
	}
	rep := c.ok(1, cfg, nil)
	cookie := &http.Cookie{Name: "edumfa_simulator", Value: strings.ReplaceAll(s.cfg.Name, " ", "-"), Path: "/", HttpOnly: true}
	rep.header = http.Header{"Set-Cookie": {cookie.String()}}
	return rep
}

// intParam is a positive integer parameter, or def.
func intParam(v any, def int) int {
	n, err := strconv.Atoi(str(v))
	if err != nil || n < 1 {
		return def
	}
	return n
}

// wildcard matches serial against an eduMFA serial filter ("*" matches any
// run); an empty or all-"*" pattern matches everything.
func wildcard(pattern, serial string) bool {
	if strings.Trim(pattern, "*") == "" {
		return true
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(serial, parts[0]) {
		return false
	}
	rest := serial[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(rest, p)
		}
		j := strings.Index(rest, p)
		if j < 0 {
			return false
		}
		rest = rest[j+len(p):]
	}
	return rest == ""
}
