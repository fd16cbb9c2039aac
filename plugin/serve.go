package plugin

import (
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// parentPollInterval is how often a plugin checks that its host still runs;
// with the host's Pdeathsig it bounds how long an orphan plugin lives.
const parentPollInterval = 250 * time.Millisecond

// maxPluginRecvBytes bounds one gRPC message the plugin accepts (a Do
// request carries the client's body and, for post rules, the response).
const maxPluginRecvBytes = 64 << 20

// Serve runs h as a handler plugin and blocks until the host stops it. Call
// it from main and return afterwards. Nothing may be written to stdout
// before Serve: stdout carries the handshake. Run by hand (not by a host),
// it prints a message and exits 1.
func Serve(h Handler) {
	// The host stops its plugins itself (drain, then a shutdown RPC). A
	// SIGTERM sent to the whole process group (systemd's default KillMode,
	// `timeout`, a shell's job control) must not kill the plugin under the
	// requests the host is still draining; go-plugin already ignores SIGINT.
	signal.Ignore(syscall.SIGTERM)
	watchParent(os.Getppid())
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         pluginSet(h),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(maxPluginRecvBytes))
			return grpc.NewServer(opts...)
		},
		Logger: newHCLogAdapter(NewLogger()),
	})
}

// watchParent exits the plugin when its host is gone: the host's Pdeathsig
// already kills it on Linux, this covers the cases where that signal is lost
// (the forking thread exited) and other systems.
func watchParent(parent int) {
	if parent <= 1 {
		return
	}
	go func() {
		t := time.NewTicker(parentPollInterval)
		defer t.Stop()
		for range t.C {
			if os.Getppid() != parent {
				os.Exit(0)
			}
		}
	}()
}

// NewLogger returns the logger a handler plugin should use: JSON lines on
// stderr in the form go-plugin relays into the host's log at their level.
func NewLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.Attr{} // the host stamps relayed lines itself
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}
