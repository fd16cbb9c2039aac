package envelope

import "fmt"

// eduMFA's own error codes (edumfa/lib/error.py), for envelopes that must
// read exactly as eduMFA's. eduMFAError subclasses answer HTTP 400 with the
// message "ERR<code>: <text>" (see ErrText); AuthError, PolicyError and
// ResourceNotFoundError carry the bare text.
const (
	// CodeConfig is ConfigAdminError, e.g. "The specified eduMFA Server
	// configuration does not exist." (HTTP 400).
	CodeConfig = 302
	// CodePolicy is PolicyError (HTTP 403).
	CodePolicy = 303
	// CodeAuth is the generic AuthError (HTTP 401).
	CodeAuth = 403
	// CodeUser is UserError, e.g. "User <nobody@realm> does not exist."
	// (HTTP 400).
	CodeUser = 904
	// CodeParameter is ParameterError: a missing or malformed request
	// parameter, e.g. "Missing parameter: 'pass'" (HTTP 400). The gateway uses
	// it for requests it cannot parse or route.
	CodeParameter = 905
	// CodeNotFound is ResourceNotFoundError (HTTP 404), e.g. an unknown token
	// serial. The gateway uses it for a path it has no upstream for.
	CodeNotFound = 601
	// CodeAuthWrongCredentials: "Authentication failure. Wrong credentials"
	// (HTTP 401).
	CodeAuthWrongCredentials = 4031
	// CodeAuthMissingUsername: no username at /auth (HTTP 401).
	CodeAuthMissingUsername = 4032
	// CodeAuthMissingHeader: "Authentication failure. Missing Authorization
	// header." (HTTP 401).
	CodeAuthMissingHeader = 4033
	// CodeAuthDecoding: the Authorization token is not a valid JWT of this
	// server (HTTP 401).
	CodeAuthDecoding = 4304
	// CodeAuthExpired: the Authorization token has expired (HTTP 401).
	CodeAuthExpired = 4305
	// CodeAuthMissingRight: the token's role may not use the endpoint
	// (HTTP 401).
	CodeAuthMissingRight = 4306
	// CodeInternal is eduMFA's answer to any unexpected exception (HTTP 500),
	// with InternalErrorMessage as its message.
	CodeInternal = -500
	// CodeDatabase: "A database error occurred." (HTTP 500).
	CodeDatabase = -600
)

// The gateway's own error codes. They are negative like eduMFA's -500 (no
// eduMFA exception id is negative except those two, so clients cannot mistake
// them for an eduMFA error) and named after the HTTP status the gateway
// answers with. The message says what failed, never a secret.
const (
	// CodeUpstreamUnreachable: no node of the parent or child could be
	// connected to, or its answer could not be used (not eduMFA's JSON).
	// HTTP 502.
	CodeUpstreamUnreachable = -502
	// CodeUpstreamTimeout: the parent or child did not answer in time.
	// HTTP 504.
	CodeUpstreamTimeout = -504
	// CodeLoopDetected: the request has already passed through too many
	// gateways (a federation cycle). HTTP 508.
	CodeLoopDetected = -508
	// CodeUpstreamTLS: the TLS handshake with the parent or child failed
	// (certificate not trusted, name mismatch, protocol). The number follows
	// the common "525 SSL handshake failed"; the HTTP status is 502.
	CodeUpstreamTLS = -525
)

// InternalErrorMessage is eduMFA's (Werkzeug's) message for code -500.
const InternalErrorMessage = "500 Internal Server Error: The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application."

// ErrText formats the message of an eduMFAError as eduMFA does:
// ErrText(905, "Missing parameter: 'pass'") is "ERR905: Missing parameter: 'pass'".
func ErrText(code int, text string) string {
	return fmt.Sprintf("ERR%d: %s", code, text)
}

// Status is the HTTP status eduMFA (or, for the gateway's own codes, the
// gateway) answers an error envelope with the given code.
func Status(code int) int {
	switch code {
	case CodeInternal, CodeDatabase:
		return 500
	case CodeUpstreamUnreachable, CodeUpstreamTLS:
		return 502
	case CodeUpstreamTimeout:
		return 504
	case CodeLoopDetected:
		return 508
	case CodeAuth, CodeAuthWrongCredentials, CodeAuthMissingUsername, CodeAuthMissingHeader,
		CodeAuthDecoding, CodeAuthExpired, CodeAuthMissingRight:
		return 401
	case CodePolicy:
		return 403
	case CodeNotFound:
		return 404
	}
	if code < 0 {
		return 500
	}
	return 400
}
