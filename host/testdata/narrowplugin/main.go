// Command narrowplugin is a Federation handler for tests whose forward
// action has no `realm` option: rules that set realm do not fit it. It
// forwards like the real one otherwise.
package main

import (
	"context"

	"github.com/edumfa-federation/edumfa-federation/actions/forward"
	"github.com/edumfa-federation/edumfa-federation/plugin"
)

type narrow struct{ *forward.Handler }

func (n narrow) Describe(ctx context.Context) (plugin.Description, error) {
	d, err := n.Handler.Describe(ctx)
	for i, a := range d.Actions {
		var kept []plugin.OptionSpec
		for _, o := range a.Options {
			if o.Name != forward.OptionRealm {
				kept = append(kept, o)
			}
		}
		d.Actions[i].Options = kept
	}
	d.Version = "narrow"
	return d, err
}

func main() { plugin.Serve(narrow{forward.New(plugin.NewLogger())}) }
