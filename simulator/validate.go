package simulator

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/edumfa-federation/edumfa-federation/envelope"
)

// resolverName is the resolver the simulated users live in.
const resolverName = "simulated"

// userParam is eduMFA's get_user_from_param: the login and realm a request
// names. splitAtSign is on: "login@realm" is split when realm is the
// simulator's realm, "realm\login" always; an explicit realm parameter wins;
// the default realm fills in.
func (s *Server) userParam(p map[string]any) (login, realm string) {
	login = strings.TrimSpace(str(p["user"]))
	if i := strings.LastIndex(login, "@"); i >= 0 {
		if strings.EqualFold(login[i+1:], s.cfg.Realm) {
			login, realm = login[:i], login[i+1:]
		}
	} else if i := strings.LastIndex(login, `\`); i >= 0 {
		login, realm = login[i+1:], login[:i]
	}
	if r := str(p["realm"]); r != "" {
		realm = r
	}
	if realm == "" && login != "" {
		realm = s.cfg.Realm
	}
	return login, strings.ToLower(realm)
}

// userExists reports whether login@realm is a configured user.
func (s *Server) userExists(login, realm string) bool {
	_, ok := s.cfg.Users[login]
	return ok && realm == s.cfg.Realm
}

func (c *call) noSuchUser(login, realm string) reply {
	return c.fail(envelope.CodeUser, envelope.ErrText(envelope.CodeUser, fmt.Sprintf("User <%s@%s> does not exist.", login, realm)))
}

// checkUserOrSerial is eduMFA's check_user_or_serial_in_request decorator.
func (c *call) checkUserOrSerial() (reply, bool) {
	if str(c.params["type"]) == "webauthn" {
		return reply{}, true
	}
	user := strings.TrimSpace(str(c.params["user"]))
	serial := strings.TrimSpace(str(c.params["serial"]))
	switch {
	case user == "" && serial == "":
		return c.paramError("You need to specify a serial or a user."), false
	case strings.Contains(serial, "*"):
		return c.paramError("Invalid serial number."), false
	case strings.Contains(user, "%"):
		return c.paramError("Invalid user."), false
	}
	return reply{}, true
}

// validateCheck answers /validate/check, /validate/radiuscheck and
// /validate/samlcheck (all three raise eduMFA's validate_check event).
func (s *Server) validateCheck(c *call) reply {
	if rep, ok := c.checkUserOrSerial(); !ok {
		return rep
	}
	passValue, ok := c.params["pass"]
	if !ok {
		return c.paramError("Missing parameter: 'pass'")
	}
	pass := str(passValue)
	login, realm := s.userParam(c.params)
	serial := str(c.params["serial"])
	transactionID := str(c.params["transaction_id"])
	if transactionID == "" {
		transactionID = str(c.params["state"])
	}

	s.mu.Lock()
	var success bool
	var detail map[string]any
	switch {
	case serial != "":
		t := s.tokenBySerial(serial)
		if login != "" && !s.userExists(login, realm) {
			s.mu.Unlock()
			return c.noSuchUser(login, realm)
		}
		if login != "" && (t == nil || t.owner != login) {
			s.mu.Unlock()
			return c.paramError("Given serial does not belong to given user!")
		}
		if t == nil {
			s.mu.Unlock()
			return c.fail(envelope.CodeNotFound, "The requested token could not be found.")
		}
		success, detail = s.checkTokens([]*token{t}, pass, transactionID)
	default:
		if !s.userExists(login, realm) {
			s.mu.Unlock()
			return c.noSuchUser(login, realm)
		}
		toks := s.tokensOf(login, str(c.params["type"]))
		if len(toks) == 0 {
			success, detail = false, map[string]any{"message": "The user has no tokens assigned"}
		} else {
			success, detail = s.checkTokens(toks, pass, transactionID)
		}
	}
	s.mu.Unlock()

	var value any = success
	switch c.r.URL.Path {
	case "/validate/radiuscheck":
		// eduMFA's construct_radius_response: an empty body, 204 or 400.
		status := http.StatusBadRequest
		if success {
			status = http.StatusNoContent
		}
		return reply{status: status, contentType: "text/plain; charset=utf-8"}
	case "/validate/samlcheck":
		if serial == "" {
			value = map[string]any{"auth": success, "attributes": s.samlAttributes(login, success)}
		}
	}
	return c.okObject(2, value, s.challengeDetail(detail))
}

// samlAttributes is eduMFA's samlcheck attribute map with
// ReturnSamlAttributes on and ReturnSamlAttributesOnFail off.
func (s *Server) samlAttributes(login string, success bool) map[string]any {
	attrs := map[string]any{}
	if !success {
		return attrs
	}
	attrs["username"] = login
	attrs["realm"] = s.cfg.Realm
	attrs["resolver"] = resolverName
	for _, k := range []string{"email", "surname", "givenname", "mobile", "phone"} {
		attrs[k] = nil
	}
	for k, v := range s.cfg.Users[login].Attributes {
		attrs[k] = v
	}
	return attrs
}

// triggerChallenge answers /validate/triggerchallenge: an administrator
// creates challenges for every HOTP token of a user or serial. The value is
// the number of challenges.
func (s *Server) triggerChallenge(c *call) reply {
	if rep, ok := s.requireAdmin(c); !ok {
		return rep
	}
	if rep, ok := c.checkUserOrSerial(); !ok {
		return rep
	}
	login, realm := s.userParam(c.params)
	serial := str(c.params["serial"])
	kind := str(c.params["type"])
	detail := map[string]any{"messages": []any{}, "transaction_ids": []any{}}

	if login != "" && !s.userExists(login, realm) {
		return c.noSuchUser(login, realm)
	}
	s.mu.Lock()
	var toks []*token
	for _, t := range s.tokens {
		if (login == "" || t.owner == login) && (serial == "" || t.serial == serial) &&
			(kind == "" || strings.EqualFold(kind, t.kind)) && t.canChallenge() {
			toks = append(toks, t)
		}
	}
	s.createChallenges(toks, detail)
	s.mu.Unlock()
	return c.okObject(2, len(toks), s.challengeDetail(detail))
}

// pollTransaction answers /validate/polltransaction[/<transaction_id>]:
// true once a challenge of the transaction was answered out of band.
func (s *Server) pollTransaction(c *call) reply {
	v, ok := c.params["transaction_id"]
	if !ok {
		return c.paramError("Missing parameter: 'transaction_id'")
	}
	tid := str(v)
	s.mu.Lock()
	status := "pending"
	for _, ch := range s.challenges {
		if ch.transactionID != tid || !ch.valid() {
			continue
		}
		if ch.status == "accept" {
			status = "accept"
			break
		}
		if ch.status == "declined" {
			status = "declined"
		}
	}
	s.mu.Unlock()
	return c.ok(2, status == "accept", map[string]any{"challenge_status": status})
}
