package simulator

import (
	"crypto/rsa"
	"encoding/hex"
	"log/slog"
)

// Config describes one simulated eduMFA instance. Zero fields take the
// defaults named in their comments.
type Config struct {
	// Name identifies the simulator in logs and in the X-eduMFA-Simulator
	// response header, e.g. "child simulator". Default "eduMFA simulator".
	Name string
	// Realm is the simulator's only realm, which is also the default realm.
	// Default "simrealm".
	Realm string
	// Users maps login names to the users of Realm.
	Users map[string]User
	// Admins maps administrator names to passwords for POST /auth.
	Admins map[string]string
	// Version is the eduMFA version number the envelopes carry
	// ("version": "eduMFA <Version>"). Default "2.9.5".
	Version string
	// TrustedProxies lists addresses (IPs or CIDR prefixes) whose requests
	// may set the client IP with the `client` parameter on /validate/* and
	// /auth, like eduMFA's OverrideAuthorizationClient with one network per
	// proxy path. Empty: `client` is ignored and the TCP peer is the client.
	TrustedProxies []string
	// ThreadID is the detail.threadid of the envelopes (eduMFA writes the
	// Python thread ident). Default: a fixed 15-digit number.
	ThreadID int64
	// SigningKey signs every JSON response as eduMFA does; nil makes New
	// generate a 2048-bit key. Tests share one key to save the generation.
	SigningKey *rsa.PrivateKey
	// Unsigned sends responses without "signature" (and without "nonce"),
	// like eduMFA with EDUMFA_NO_RESPONSE_SIGN.
	Unsigned bool
	// Logger receives one line per request (simulator name, method, path,
	// status, duration; never parameters or bodies). nil: no logs.
	Logger *slog.Logger
}

// User is one user of the simulator's realm and the tokens assigned to it.
// A user with none of PIN, Serial and HOTPKey has no tokens ("The user has
// no tokens assigned").
type User struct {
	// PIN is the PIN of the user's spass token: pass must equal it. The
	// token exists when PIN or Serial is set.
	PIN string
	// Serial of the spass token. Default "SIMSPASS-<LOGIN>".
	Serial string
	// HOTPKey, if set, gives the user an HOTP token (RFC 4226, SHA-1, 6
	// digits, counter from 0, look-ahead window 10): pass = HOTPPIN + OTP.
	HOTPKey []byte
	// HOTPPIN is the PIN of the HOTP token.
	HOTPPIN string
	// HOTPSerial of the HOTP token. Default "SIMHOTP-<LOGIN>".
	HOTPSerial string
	// Challenge makes the HOTP token challenge-response capable (eduMFA's
	// policy challenge_response_allow=hotp): pass == HOTPPIN alone answers
	// CHALLENGE with a transaction_id; then transaction_id plus pass = OTP
	// is accepted. Needs HOTPKey.
	Challenge bool
	// Attributes are extra user attributes returned by /validate/samlcheck
	// (e.g. email, givenname, surname, mobile, phone).
	Attributes map[string]string
}

// Fixture values of the recorded eduMFA 2.9.5 instances
// (shared/fixtures/edumfa-2.9.5/index.md).
const (
	childThreadID  = 139765621962432
	parentThreadID = 139953660999360
)

// AdminName and AdminPassword are the administrator ChildConfig and
// ParentConfig define (invented, like every credential of the fixtures).
const (
	AdminName     = "admin"
	AdminPassword = "simulator-admin"
)

// ChildConfig is the CHILD of the recorded fixtures: realm childrealm, users
// bob (spass CHSP-BOB, PIN bob-child), carol (spass CHSP-CAROL, PIN
// carol-child; hotp CHHOTP-CAROL, PIN carolotp, RFC 4226 test key) and dave
// (hotp CHHOTP-DAVE, PIN daveotp), OverrideAuthorizationClient 127.0.0.1.
func ChildConfig() Config {
	return Config{
		Name:  "child simulator",
		Realm: "childrealm",
		Users: map[string]User{
			"bob": {PIN: "bob-child", Serial: "CHSP-BOB"},
			"carol": {PIN: "carol-child", Serial: "CHSP-CAROL",
				HOTPKey: mustHex("3132333435363738393031323334353637383930"), HOTPPIN: "carolotp", HOTPSerial: "CHHOTP-CAROL"},
			"dave": {HOTPKey: mustHex("a1b2c3d4e5f60718293a4b5c6d7e8f9001122334"), HOTPPIN: "daveotp", HOTPSerial: "CHHOTP-DAVE"},
		},
		Admins:         map[string]string{AdminName: AdminPassword},
		TrustedProxies: []string{"127.0.0.1"},
		ThreadID:       childThreadID,
	}
}

// ParentConfig is the PARENT of the recorded fixtures: realm parentrealm,
// users alice (spass PASP-ALICE, PIN alice-parent), bob (spass PASP-BOB, PIN
// bob-parent) and dave without a token.
func ParentConfig() Config {
	return Config{
		Name:  "parent simulator",
		Realm: "parentrealm",
		Users: map[string]User{
			"alice": {PIN: "alice-parent", Serial: "PASP-ALICE"},
			"bob":   {PIN: "bob-parent", Serial: "PASP-BOB"},
			"dave":  {},
		},
		Admins:   map[string]string{AdminName: AdminPassword},
		ThreadID: parentThreadID,
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
