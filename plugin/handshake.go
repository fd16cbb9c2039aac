package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/edumfa-federation/edumfa-federation/plugin/pluginpb"
)

// Handshake is shared by the host and every handler plugin. The cookie only
// stops someone from running a plugin binary by hand by mistake; the
// protocol version is the contract version.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ContractVersion,
	MagicCookieKey:   "EDUMFA_FEDERATION_PLUGIN",
	MagicCookieValue: "handler-v1-6f1c2b9e",
}

// pluginName is the key of the one plugin a handler binary serves.
const pluginName = "handler"

// grpcPlugin is the go-plugin glue: it registers the server adapter in the
// plugin process and builds a Conn in the host.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl Handler // plugin side only
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterHandlerServer(s, &grpcServer{impl: p.impl})
	return nil
}

// GRPCClient gets a ctx that go-plugin cancels when the plugin exits; the
// Conn keeps it to tell "plugin gone" from other errors.
func (p *grpcPlugin) GRPCClient(ctx context.Context, _ *goplugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return &Conn{client: pluginpb.NewHandlerClient(cc), done: ctx.Done()}, nil
}

// pluginSet returns the plugin map for one side; impl is nil in the host.
func pluginSet(impl Handler) goplugin.PluginSet {
	return goplugin.PluginSet{pluginName: &grpcPlugin{impl: impl}}
}
