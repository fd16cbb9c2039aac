package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/edumfa-federation/edumfa-federation/host"
	"github.com/edumfa-federation/edumfa-federation/plugin"
	"github.com/edumfa-federation/edumfa-federation/rules"
)

// Limits of `rules check`.
const (
	// checkTimeout bounds starting the plugins for their schemas.
	checkTimeout = 30 * time.Second
	// describeTimeout bounds one plugin's answer to Describe; one that
	// does not answer is reported as hung (and killed) instead of holding
	// the check until checkTimeout.
	describeTimeout = 5 * time.Second
)

// rulesCheck loads a rule set against the option schemas of the plugins
// the config names (or the Federation handler beside this binary) and
// prints a summary (exit 0) or every problem (exit 1).
func rulesCheck(args []string, stdout, stderr io.Writer) int {
	var path, configPath string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--config" || a == "-config":
			if i+1 >= len(args) {
				fmt.Fprintln(stderr, "rules check: --config needs a file")
				return 2
			}
			configPath = args[i+1]
			i++
		case strings.HasPrefix(a, "--config="):
			configPath = strings.TrimPrefix(a, "--config=")
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "rules check: unknown flag %s\n", a)
			return 2
		case path == "":
			path = a
		default:
			fmt.Fprintln(stderr, "rules check: one PATH only")
			return 2
		}
	}
	if path == "" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	var cfg *host.Config
	if configPath != "" {
		var err error
		if cfg, err = host.LoadConfig(configPath); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	handler, err := defaultHandler(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "rules check:", err)
		return 1
	}
	exes := map[string]host.PluginConfig{"Federation": {Path: handler}}
	if cfg != nil {
		exes = cfg.PluginExecutables(handler)
	}
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	descs := map[string]plugin.Description{}
	for id, exe := range exes {
		c, err := plugin.Start(ctx, plugin.StartConfig{Path: exe.Path, SHA256: exe.SHA256, Logger: quiet})
		if err != nil {
			fmt.Fprintf(stderr, "rules check: plugin %s: %v\n", id, err)
			return 1
		}
		dctx, dcancel := context.WithTimeout(ctx, describeTimeout)
		d, err := c.Describe(dctx)
		hung := dctx.Err() != nil
		dcancel()
		c.Kill() // bounded: a hung plugin is SIGKILLed after plugin.KillGrace
		if err != nil {
			if hung {
				fmt.Fprintf(stderr, "rules check: plugin %s (%s) did not answer Describe within %s: it hangs and was stopped\n", id, exe.Path, describeTimeout)
			} else {
				fmt.Fprintf(stderr, "rules check: plugin %s: %v\n", id, err)
			}
			return 1
		}
		descs[id] = d
	}
	set, err := rules.Load(path, descs)
	if err != nil {
		var le *rules.LoadError
		if errors.As(err, &le) {
			for _, p := range le.Problems {
				fmt.Fprintln(stdout, p.String())
			}
			fmt.Fprintf(stdout, "%d problem(s); the rule set was not loaded\n", len(le.Problems))
		} else {
			fmt.Fprintln(stdout, err)
		}
		return 1
	}
	fmt.Fprintf(stdout, "ok: %s\n", set.Summary())
	return 0
}
