package plugin

import (
	"net/http"
	"time"
)

// ContractVersion is the version of plugin.proto that this SDK speaks. It is
// also go-plugin's protocol version: a host and a plugin with different
// contract versions refuse each other at the handshake.
const ContractVersion = 1

// Server is one "eduMFA server" of eduMFA's configuration: a child eduMFA
// that rules may forward to. It is defined in the rule files and pushed to
// every handler plugin with Configure.
type Server struct {
	// Identifier is the name rules use in their `eduMFA` option.
	Identifier string
	// URLs are the base URLs of the child's nodes (scheme, host, optional
	// path prefix, no trailing slash). The first one is tried first.
	URLs []string
	// TLSVerify checks the child's certificate (default true).
	TLSVerify bool
	// CAFile is a PEM bundle of CAs to trust instead of the system pool.
	CAFile string
	// CertFile and KeyFile are a client certificate for mutual TLS.
	CertFile string
	KeyFile  string
	// Timeout bounds one attempt (connect, send, wait for the answer head).
	Timeout time.Duration
	// Description is free text for operators.
	Description string
}

// OptionType is the type of one action option in a handler's schema.
type OptionType int

// Option types a handler may declare.
const (
	// OptionString is a YAML string.
	OptionString OptionType = iota + 1
	// OptionBool is a YAML bool.
	OptionBool
	// OptionInt is a YAML integer.
	OptionInt
	// OptionServer is a string naming a Server identifier of the rule set.
	OptionServer
)

// String names the type as rule authors write it in error messages.
func (t OptionType) String() string {
	switch t {
	case OptionString:
		return "string"
	case OptionBool:
		return "bool"
	case OptionInt:
		return "int"
	case OptionServer:
		return "server"
	}
	return "unknown"
}

// OptionSpec describes one option of an action.
type OptionSpec struct {
	Name        string
	Type        OptionType
	Required    bool
	Description string
}

// ActionSpec describes one action a handler offers, with its options.
type ActionSpec struct {
	Name        string
	Description string
	Options     []OptionSpec
}

// Option returns the spec of the named option.
func (a ActionSpec) Option(name string) (OptionSpec, bool) {
	for _, o := range a.Options {
		if o.Name == name {
			return o, true
		}
	}
	return OptionSpec{}, false
}

// Description is what a handler plugin tells the host about itself.
type Description struct {
	// Identifier is the handler name rules use (`handler: Federation`).
	Identifier  string
	Description string
	// ContractVersion is the plugin.proto version the plugin was built with.
	ContractVersion int
	// Version is the plugin build's own version, for status pages.
	Version string
	Actions []ActionSpec
}

// Action returns the spec of the named action.
func (d Description) Action(name string) (ActionSpec, bool) {
	for _, a := range d.Actions {
		if a.Name == name {
			return a, true
		}
	}
	return ActionSpec{}, false
}

// Request is the client's original request as the gateway received it.
type Request struct {
	Method string
	// Path is the URL path as sent (still percent-encoded where the client
	// encoded it).
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
	// AllData is eduMFA's request.all_data built from query, form and JSON.
	AllData map[string]any
	// RemoteAddr is the TCP peer's IP address.
	RemoteAddr string
}

// Context is eduMFA's `g` for one request, as the host determined it.
type Context struct {
	// ClientIP is the end client's address (see the trusted_proxies rules).
	ClientIP string
	// PeerTrusted is true when the TCP peer is one of the trusted proxies, so
	// its X-Forwarded-For chain was kept.
	PeerTrusted bool
	RequestID   string
	// Hops is how many federation gateways this request already passed.
	Hops  int
	Event string
	// Origin is the URL that produced the current response ("" = the parent).
	Origin string
}

// Response is an HTTP answer: the parent's, or a child's from an earlier rule.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Call is one invocation of an action by a rule.
type Call struct {
	Event  string
	Rule   string
	Action string
	// Options are the rule's options, typed per the action's schema:
	// string, bool or int64 values.
	Options map[string]any
	Request Request
	G       Context
	// Response is the current response for post rules; nil for pre rules.
	Response *Response
}

// ErrorKind classifies why an action produced no answer.
type ErrorKind int

// Error kinds; they cross the gRPC boundary as enum values.
const (
	ErrorNone ErrorKind = iota
	// ErrorUnreachable: no node of the child could be connected to.
	ErrorUnreachable
	// ErrorTimeout: the child did not answer within the server's timeout or
	// the request's deadline.
	ErrorTimeout
	// ErrorTLS: the TLS handshake or certificate check failed.
	ErrorTLS
	// ErrorConfig: the rule names an unknown server or a bad option.
	ErrorConfig
	// ErrorInternal: anything else (a bug, a broken answer from the child).
	ErrorInternal
	// ErrorLoop: the request already passed too many gateways.
	ErrorLoop
)

// String names the kind for logs and error envelopes.
func (k ErrorKind) String() string {
	switch k {
	case ErrorNone:
		return "none"
	case ErrorUnreachable:
		return "unreachable"
	case ErrorTimeout:
		return "timeout"
	case ErrorTLS:
		return "tls"
	case ErrorConfig:
		return "config"
	case ErrorInternal:
		return "internal"
	case ErrorLoop:
		return "loop"
	}
	return "unknown"
}

// Outcome is the trailer of an action: what happened, after the body.
type Outcome struct {
	// Origin is the child URL (url + path) that answered; "" if none did.
	Origin string
	// Server is the identifier of the server the action used.
	Server string
	// Attempts counts the HTTP attempts made (dial retries included).
	Attempts  int
	ErrorKind ErrorKind
	// ErrorMessage says what went wrong, without secrets.
	ErrorMessage string
}

// Failed reports whether the action failed to produce a child's answer.
func (o Outcome) Failed() bool { return o.ErrorKind != ErrorNone }
