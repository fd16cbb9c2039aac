// Command federation-handler is the Federation handler plugin of
// edumfa-federation: the `forward` action, served to the host over gRPC with
// hashicorp/go-plugin. The host starts it; run by hand it only explains that.
package main

import (
	"github.com/edumfa-federation/edumfa-federation/actions/forward"
	"github.com/edumfa-federation/edumfa-federation/plugin"
)

func main() {
	plugin.Serve(forward.New(plugin.NewLogger()))
}
