package simulator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/edumfa-federation/edumfa-federation/envelope"
)

// authTokenValidity is how long a token from /auth is accepted (eduMFA's
// default logout time of one hour).
const authTokenValidity = time.Hour

// logLevel is the log_level /auth reports (eduMFA's default, WARNING).
const logLevel = 30

// adminRights are the rights /auth reports for administrators.
var adminRights = []any{"tokenlist", "enrollHOTP", "enrollSPASS", "triggerchallenge", "system_documentation"}

// adminMenus are the menus /auth reports for administrators.
var adminMenus = []any{"tokens", "config"}

var b64 = base64.RawURLEncoding

// auth answers POST /auth: an HS256 JWT for a configured administrator.
func (s *Server) auth(c *call) reply {
	username := str(c.params["username"])
	if username == "" {
		return c.fail(envelope.CodeAuthMissingUsername, "Authentication failure. Missing Username")
	}
	want, ok := s.cfg.Admins[username]
	pass, given := c.params["password"]
	if !ok || !given || !hmac.Equal([]byte(str(pass)), []byte(want)) {
		return c.fail(envelope.CodeAuthWrongCredentials, "Authentication failure. Wrong credentials")
	}
	nonce := make([]byte, 20)
	rand.Read(nonce)
	claims := map[string]any{
		"authtype": "password",
		"exp":      time.Now().Add(authTokenValidity).Unix(),
		"nonce":    hex.EncodeToString(nonce),
		"realm":    "",
		"rights":   adminRights,
		"role":     "admin",
		"username": username,
	}
	return c.ok(1, map[string]any{
		"log_level": logLevel,
		"menus":     adminMenus,
		"realm":     "",
		"rights":    adminRights,
		"role":      "admin",
		"token":     s.signJWT(claims),
		"username":  username,
	}, nil)
}

func (s *Server) signJWT(claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	signing := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	mac := hmac.New(sha256.New, s.jwtSecret)
	mac.Write([]byte(signing))
	return signing + "." + b64.EncodeToString(mac.Sum(nil))
}

// requireAdmin is eduMFA's admin_required: the Authorization header must
// hold an unexpired admin token this simulator issued. eduMFA takes the
// bare token; a "Bearer " prefix is tolerated.
func (s *Server) requireAdmin(c *call) (reply, bool) {
	values, present := c.r.Header["Authorization"]
	if !present || len(values) == 0 {
		return c.fail(envelope.CodeAuthMissingHeader, "Authentication failure. Missing Authorization header."), false
	}
	tok := strings.TrimPrefix(values[0], "Bearer ")
	decodingError := func(why string) (reply, bool) {
		return c.fail(envelope.CodeAuthDecoding, "Authentication failure. Error during decoding your token: "+why), false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return decodingError("Not enough segments")
	}
	mac := hmac.New(sha256.New, s.jwtSecret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return decodingError("Signature verification failed")
	}
	raw, err := b64.DecodeString(parts[1])
	var claims struct {
		Exp  int64  `json:"exp"`
		Role string `json:"role"`
	}
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		return decodingError("Invalid payload string")
	}
	if time.Now().Unix() >= claims.Exp {
		return c.fail(envelope.CodeAuthExpired, "Authentication failure. Your token has expired: Signature has expired"), false
	}
	if claims.Role != "admin" {
		return c.fail(envelope.CodeAuthMissingRight,
			"Authentication failure. You do not have the necessary role (['admin']) to access this resource!"), false
	}
	return reply{}, true
}
