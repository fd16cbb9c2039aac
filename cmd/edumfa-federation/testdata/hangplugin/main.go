// Command hangplugin is a handler plugin for tests that hangs at Describe:
// it completes the handshake, then stops itself (SIGSTOP) when asked to
// describe itself, so it answers neither that call nor the shutdown
// request that follows. Built by the tests of `rules check`.
package main

import (
	"context"
	"os"
	"syscall"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

type hung struct{}

func (hung) Describe(context.Context) (plugin.Description, error) {
	_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
	select {} // not reached before a SIGCONT, which never comes
}

func (hung) Configure(context.Context, []plugin.Server) error { return nil }

func (hung) Do(context.Context, *plugin.Call, plugin.ResponseWriter) plugin.Outcome {
	return plugin.Outcome{}
}

func main() { plugin.Serve(hung{}) }
