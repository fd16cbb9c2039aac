package simulator

import (
	"slices"
	"strings"
)

// hotpWindow is how many counter values ahead an HOTP token accepts
// (eduMFA's default count_window).
const hotpWindow = 10

// Token types the simulator knows.
const (
	typeSpass = "spass"
	typeHOTP  = "hotp"
)

// token is one simulated token. Tokens live in Server.tokens under Server.mu.
type token struct {
	id      int
	serial  string
	kind    string // typeSpass or typeHOTP
	owner   string // login in the realm; "" if unassigned
	pin     string
	key     []byte // hotp only
	counter uint64 // hotp only: next expected counter
	// challenge: a PIN-only pass triggers a challenge (policy
	// challenge_response_allow for this token's type).
	challenge   bool
	description string
}

// canChallenge reports whether triggerchallenge may create a challenge for
// the token ("challenge" in the token class's modes: hotp yes, spass no).
func (t *token) canChallenge() bool { return t.kind == typeHOTP }

// splitPIN splits pass into PIN and OTP as eduMFA does with PrependPin:
// the last six characters (code points, like Python slicing) are the OTP.
func splitPIN(pass string) (pin, otp string) {
	r := []rune(pass)
	if len(r) < hotpDigits {
		return "", pass
	}
	return string(r[:len(r)-hotpDigits]), string(r[len(r)-hotpDigits:])
}

// authenticate is eduMFA's TokenClass.authenticate: whether the PIN matched
// and whether the whole pass was accepted (advancing an HOTP counter).
func (t *token) authenticate(pass string) (pinMatch, ok bool) {
	if t.kind == typeSpass {
		return pass == t.pin, pass == t.pin
	}
	pin, otp := splitPIN(pass)
	if pin != t.pin {
		return false, false
	}
	return true, t.checkOTP(otp)
}

// checkOTP accepts an HOTP value within the look-ahead window and moves the
// counter past it.
func (t *token) checkOTP(otp string) bool {
	if t.kind != typeHOTP {
		return false
	}
	for c := t.counter; c < t.counter+hotpWindow; c++ {
		if hotp(t.key, c) == otp {
			t.counter = c + 1
			return true
		}
	}
	return false
}

// isPreviousOTP reports whether otp is one of the window values before the
// counter ("previous otp used again").
func (t *token) isPreviousOTP(otp string) bool {
	if t.kind != typeHOTP {
		return false
	}
	for c := t.counter; c > 0 && c+hotpWindow > t.counter; c-- {
		if hotp(t.key, c-1) == otp {
			return true
		}
	}
	return false
}

// tokensFromConfig builds the initial tokens of the configured users, in
// login order so ids are stable.
func tokensFromConfig(users map[string]User) []*token {
	logins := make([]string, 0, len(users))
	for l := range users {
		logins = append(logins, l)
	}
	slices.Sort(logins)
	var out []*token
	for _, l := range logins {
		u := users[l]
		if u.PIN != "" || u.Serial != "" {
			serial := u.Serial
			if serial == "" {
				serial = "SIMSPASS-" + strings.ToUpper(l)
			}
			out = append(out, &token{serial: serial, kind: typeSpass, owner: l, pin: u.PIN})
		}
		if u.HOTPKey != nil {
			serial := u.HOTPSerial
			if serial == "" {
				serial = "SIMHOTP-" + strings.ToUpper(l)
			}
			out = append(out, &token{serial: serial, kind: typeHOTP, owner: l, pin: u.HOTPPIN,
				key: slices.Clone(u.HOTPKey), challenge: u.Challenge})
		}
	}
	for i, t := range out {
		t.id = i + 1
	}
	return out
}

// tokenBySerial returns the token with the serial or nil. Caller holds s.mu.
func (s *Server) tokenBySerial(serial string) *token {
	for _, t := range s.tokens {
		if t.serial == serial {
			return t
		}
	}
	return nil
}

// tokensOf returns the user's tokens, of one type if kind is non-empty.
// Caller holds s.mu.
func (s *Server) tokensOf(login, kind string) []*token {
	var out []*token
	for _, t := range s.tokens {
		if t.owner == login && (kind == "" || strings.EqualFold(kind, t.kind)) {
			out = append(out, t)
		}
	}
	return out
}
