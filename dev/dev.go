// Package dev is `edumfa-federation dev`: the embedded default. It starts
// two eduMFA simulators (a parent and a child, not real eduMFA servers), the
// gateway in front of the parent with the real Federation handler plugin,
// loads the rules of examples/rules, and prints curl commands that show a
// login federated to the child.
package dev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edumfa-federation/edumfa-federation/examples"
	"github.com/edumfa-federation/edumfa-federation/host"
	"github.com/edumfa-federation/edumfa-federation/simulator"
)

// exampleChildAddr is the child address examples/rules/servers.yaml names;
// the dev mode's child simulator listens there unless told otherwise.
const exampleChildAddr = "127.0.0.1:5001"

// Options of the dev mode.
type Options struct {
	// Listen is the gateway's address.
	Listen string
	// ParentListen and ChildListen are the simulators' addresses.
	ParentListen string
	ChildListen  string
	// Handler is the Federation handler plugin executable.
	Handler string
	// Out receives the banner and the curl commands.
	Out io.Writer
	// Logger receives the gateway's and the simulators' logs.
	Logger *slog.Logger
	// Ready, if set, is called with the gateway's address once it serves.
	Ready func(gateway string)
}

// Users of the two simulators, as in the recorded eduMFA fixtures: alice
// only on the parent; dave in both user stores but with his token only on
// the child; bob only on the child.
func parentSimulator() *simulator.Server {
	return simulator.New(simulator.Config{
		Name:  "parent simulator",
		Realm: "parentrealm",
		Users: map[string]simulator.User{
			"alice": {PIN: "alice-parent", Serial: "PASP-ALICE"},
			"dave":  {},
		},
	})
}

func childSimulator() *simulator.Server {
	return simulator.New(simulator.Config{
		Name:  "child simulator",
		Realm: "childrealm",
		Users: map[string]simulator.User{
			"bob":  {PIN: "bob-child", Serial: "CHSP-BOB"},
			"dave": {PIN: "dave-child", Serial: "CHSP-DAVE"},
		},
		Admins: map[string]string{"admin": "admin-child"},
		// The child believes the gateway's `client` parameter, as eduMFA
		// does with OverrideAuthorizationClient = 127.0.0.1.
		TrustedProxies: []string{"127.0.0.1"},
	})
}

// Run starts everything and serves until ctx ends.
func Run(ctx context.Context, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	parentLn, err := net.Listen("tcp", opts.ParentListen)
	if err != nil {
		return fmt.Errorf("parent simulator: %w", err)
	}
	defer parentLn.Close()
	childLn, err := net.Listen("tcp", opts.ChildListen)
	if err != nil {
		return fmt.Errorf("child simulator: %w", err)
	}
	defer childLn.Close()
	parentURL := "http://" + parentLn.Addr().String()
	childURL := "http://" + childLn.Addr().String()

	sims := []*http.Server{
		{Handler: parentSimulator(), ReadHeaderTimeout: 5 * time.Second},
		{Handler: childSimulator(), ReadHeaderTimeout: 5 * time.Second},
	}
	go func() { _ = sims[0].Serve(parentLn) }()
	go func() { _ = sims[1].Serve(childLn) }()
	defer func() {
		for _, s := range sims {
			_ = s.Close()
		}
	}()

	dir, err := os.MkdirTemp("", "edumfa-federation-dev-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rulesDir := filepath.Join(dir, "rules")
	if err := writeExamples(rulesDir, childLn.Addr().String()); err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "gateway.yaml")
	cfgText := fmt.Sprintf("# written by edumfa-federation dev\nlisten: %q\nupstream: %q\nrules: rules\n", opts.Listen, parentURL)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		return err
	}
	srv, err := host.New(ctx, host.Options{ConfigPath: cfgPath, DefaultHandler: opts.Handler, Logger: opts.Logger})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		return err
	}
	gw := "http://" + srv.Addr()
	printBanner(opts.Out, gw, parentURL, childURL, rulesDir)
	if opts.Ready != nil {
		opts.Ready(srv.Addr())
	}
	err = srv.Serve(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// writeExamples copies examples/rules into dir, pointing the child server
// at the child simulator's address.
func writeExamples(dir, childAddr string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fs.WalkDir(examples.Rules, "rules", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := examples.Rules.ReadFile(p)
		if err != nil {
			return err
		}
		text := strings.ReplaceAll(string(b), exampleChildAddr, childAddr)
		return os.WriteFile(filepath.Join(dir, filepath.Base(p)), []byte(text), 0o644)
	})
}

// Demo is one curl command the banner prints, with what it answers.
type Demo struct {
	Title  string
	Curl   string
	Expect string
}

// Demos returns the banner's commands for a gateway at gw and a child at
// child. Expect lists JSON paths and values, `path: value` separated by
// commas, checked by the dev mode's own test.
func Demos(gw, child string) []Demo {
	origin := child + "/validate/check"
	return []Demo{
		{"alice has her token on the parent: the parent answers, nothing is forwarded",
			fmt.Sprintf("curl -s %s/validate/check -d user=alice -d pass=alice-parent", gw),
			"result.value: true, detail.serial: PASP-ALICE, detail.origin: (none)"},
		{"dave's token is only on the child: the parent rejects, rule federate-on-reject forwards",
			fmt.Sprintf("curl -s %s/validate/check -d user=dave -d pass=dave-child", gw),
			"result.value: true, detail.serial: CHSP-DAVE, detail.origin: " + origin},
		{"bob is unknown to the parent (ERR904): rule federate-unknown-user forwards",
			fmt.Sprintf("curl -s %s/validate/check -d user=bob -d pass=bob-child", gw),
			"result.value: true, detail.serial: CHSP-BOB, detail.origin: " + origin},
		{"a wrong PIN stays a rejection, now the child's",
			fmt.Sprintf("curl -s %s/validate/check -d user=bob -d pass=wrong", gw),
			"result.value: false, detail.message: wrong otp pin, detail.origin: " + origin},
		{"realm childrealm goes straight to the child (pre rule route-childrealm; the parent is not asked)",
			fmt.Sprintf("curl -s %s/validate/check -H 'Content-Type: application/json' -d '{\"user\": \"bob@childrealm\", \"pass\": \"bob-child\"}'", gw),
			"result.value: true, detail.origin: " + origin},
	}
}

func printBanner(w io.Writer, gw, parent, child, rulesDir string) {
	fmt.Fprintf(w, `edumfa-federation dev: a demo, not a production setup
  gateway           %s   (rules: %s, copied from examples/rules)
  parent simulator  %s   (simulated eduMFA: alice has a token; dave has none)
  child simulator   %s   (simulated eduMFA: bob and dave have tokens)

Try these (Ctrl-C stops everything):

`, gw, rulesDir, parent, child)
	for i, d := range Demos(gw, child) {
		fmt.Fprintf(w, "# %d. %s\n%s\n#    -> %s\n\n", i+1, d.Title, d.Curl, d.Expect)
	}
}
