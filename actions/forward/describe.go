package forward

import "github.com/edumfa-federation/edumfa-federation/plugin"

// HandlerIdentifier is the handler name rules use: `handler: Federation`,
// as in eduMFA's event handler configuration.
const HandlerIdentifier = "Federation"

// ActionName is the one action of the Federation handler.
const ActionName = "forward"

// Version is this handler build's version, reported by Describe. Release
// builds (and the hot-swap tests) set it with
// -ldflags "-X github.com/edumfa-federation/edumfa-federation/actions/forward.Version=...".
var Version = "0.1.0"

// Option names of the forward action, as in eduMFA's Federation handler.
const (
	OptionServer                    = "eduMFA"
	OptionRealm                     = "realm"
	OptionResolver                  = "resolver"
	OptionForwardClientIP           = "forward_client_ip"
	OptionForwardAuthorizationToken = "forward_authorization_token"
)

// Description is what the Federation handler reports from Describe: its
// identifier, contract version and the forward action's option schema.
func Description() plugin.Description {
	return plugin.Description{
		Identifier:      HandlerIdentifier,
		Description:     "Forward eduMFA API requests to a child eduMFA server (eduMFA's Federation event handler).",
		ContractVersion: plugin.ContractVersion,
		Version:         Version,
		Actions: []plugin.ActionSpec{{
			Name:        ActionName,
			Description: "Send the request to the child server and answer with the child's response, detail.origin set to the child URL.",
			Options: []plugin.OptionSpec{
				{Name: OptionServer, Type: plugin.OptionServer, Required: true,
					Description: "identifier of the child server (a key of `servers`)"},
				{Name: OptionRealm, Type: plugin.OptionString,
					Description: "if non-empty, the realm the child sees (also replaces the realm part of user@realm)"},
				{Name: OptionResolver, Type: plugin.OptionString,
					Description: "if non-empty, the resolver the child sees"},
				{Name: OptionForwardClientIP, Type: plugin.OptionBool,
					Description: "send the client's IP as the `client` parameter (otherwise any `client` parameter is removed)"},
				{Name: OptionForwardAuthorizationToken, Type: plugin.OptionBool,
					Description: "pass the client's Authorization header to the child"},
			},
		}},
	}
}
