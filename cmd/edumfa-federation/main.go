// Command edumfa-federation is the eduMFA federation gateway.
//
//	edumfa-federation serve --config FILE     run the gateway
//	edumfa-federation dev                     run a demo: gateway, plugin and two eduMFA simulators
//	edumfa-federation rules check PATH [--config FILE]   check a rule file or directory
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/edumfa-federation/edumfa-federation/dev"
	"github.com/edumfa-federation/edumfa-federation/host"
)

const usage = `usage:
  edumfa-federation serve --config FILE
  edumfa-federation dev [--listen ADDR] [--parent-listen ADDR] [--child-listen ADDR]
  edumfa-federation rules check PATH [--config FILE]
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "dev":
		return runDev(args[1:], stdout, stderr)
	case "rules":
		if len(args) < 2 || args[1] != "check" {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return rulesCheck(args[2:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n%s", args[0], usage)
	return 2
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
	// Packages that log without a logger of their own (rules) use the
	// default: one format for every line.
	slog.SetDefault(log)
	return log
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "gateway config file (YAML)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *configPath == "" {
		fmt.Fprintln(stderr, "serve: --config FILE is required")
		return 2
	}
	cfg, err := host.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := newLogger(stderr, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// SIGHUP is caught from here on: its default action would kill the
	// gateway while it starts. One that arrives before the server exists
	// waits in the channel and reloads once it does.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	handler, err := defaultHandler(ctx, cfg)
	if err != nil {
		log.Error("no handler plugin", "err", err)
		return 1
	}
	srv, err := host.New(ctx, host.Options{ConfigPath: *configPath, Config: cfg, DefaultHandler: handler, Logger: log})
	if err != nil {
		log.Error("gateway not started", "err", err)
		return 1
	}
	go func() {
		for range hup {
			_, _ = srv.Reload(ctx, host.ReloadRequest{Reason: "SIGHUP"})
		}
	}()
	if err := srv.Serve(ctx); err != nil {
		log.Error("gateway stopped with an error", "err", err)
		return 1
	}
	return 0
}

// defaultHandler finds the Federation plugin unless the config names one.
func defaultHandler(ctx context.Context, cfg *host.Config) (string, error) {
	if cfg != nil {
		if _, ok := cfg.Plugins["Federation"]; ok {
			return "", nil
		}
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	return host.FindHandlerExecutable(ctx, self)
}

func runDev(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := dev.Options{}
	fs.StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "gateway address")
	fs.StringVar(&opts.ParentListen, "parent-listen", "127.0.0.1:5002", "parent simulator address")
	fs.StringVar(&opts.ChildListen, "child-listen", "127.0.0.1:5001", "child simulator address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	handler, err := defaultHandler(ctx, nil)
	if err != nil {
		fmt.Fprintln(stderr, "dev:", err)
		return 1
	}
	opts.Handler = handler
	opts.Out = stdout
	opts.Logger = newLogger(stderr, "info")
	if err := dev.Run(ctx, opts); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "dev:", err)
		return 1
	}
	return 0
}
