package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Lifecycle of a plugin instance, as the host drives it:
//
//	start (exec, sha256 check) -> handshake (AutoMTLS) -> Describe ->
//	Configure -> serve Do calls -> drain (no new calls, in-flight finish) ->
//	stop (Kill: shutdown request, SIGKILL after KillGrace, reaped).
//
// A Client is one process; a crashed one is replaced, never restarted.

// Limits of starting and stopping a plugin process.
const (
	// DefaultStartTimeout bounds exec plus handshake of a plugin.
	DefaultStartTimeout = 10 * time.Second
	// KillGrace is how long Kill lets a plugin exit after asking it to shut
	// down before it SIGKILLs it. go-plugin's own Kill waits 2 s for the
	// exit too, but only after its shutdown request was answered, and that
	// request has no deadline: a hung or SIGSTOPped plugin never answers,
	// and go-plugin's Kill alone never returns.
	KillGrace = 2 * time.Second
	// killReapTimeout bounds the wait, after SIGKILL, until go-plugin has
	// reaped the process. SIGKILL ends even a stopped process at once; only
	// one stuck in uninterruptible sleep (a dead NFS mount) takes longer.
	killReapTimeout = 5 * time.Second
)

// passedEnv are the only host environment variables a plugin inherits; the
// host's environment may hold secrets the plugin has no business seeing.
var passedEnv = []string{"PATH", "HOME", "TMPDIR", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR", "GOCOVERDIR"}

// StartConfig says which plugin executable to start and how.
type StartConfig struct {
	// Path is the plugin executable.
	Path string
	// SHA256 is the expected hex checksum of the executable; empty skips
	// the check.
	SHA256 string
	// Logger receives go-plugin's and the plugin's log lines.
	Logger *slog.Logger
	// StartTimeout bounds exec plus handshake; 0 means DefaultStartTimeout.
	StartTimeout time.Duration
}

// Client is a running handler plugin process seen from the host.
type Client struct {
	*Conn
	gp     *goplugin.Client
	health healthpb.HealthClient
	path   string
	pid    int
	// proc is the process, to SIGKILL it. go-plugin reaps it (cmd.Wait);
	// signalling an os.Process that was reaped does nothing (ErrProcessDone,
	// and a pidfd on Linux), so a reused PID is never hit.
	proc   *os.Process
	log    *slog.Logger
	exited chan struct{}
}

// Start execs the plugin, completes the handshake and returns a client
// ready for Describe. The process dies with the host (Pdeathsig on Linux,
// plus the plugin's own parent watch).
func Start(ctx context.Context, cfg StartConfig) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	var secure *goplugin.SecureConfig
	if cfg.SHA256 != "" {
		sum, err := hex.DecodeString(strings.TrimSpace(cfg.SHA256))
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("start plugin %s: sha256 %q is not a hex SHA-256 checksum", cfg.Path, cfg.SHA256)
		}
		secure = &goplugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	if _, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("start plugin: %w", err)
	}

	type started struct {
		c   *Client
		err error
	}
	result := make(chan started, 1)
	// Pdeathsig is tied to the OS thread that forks, not the process: the
	// fork happens on a locked thread that lives exactly as long as the
	// plugin, so the plugin is killed when the host dies and not before.
	go func() {
		runtime.LockOSThread()
		// The goroutine ends with the thread still locked: Go then retires
		// the thread, which is what we want once the plugin is gone.
		cmd := exec.Command(cfg.Path)
		for _, k := range passedEnv {
			if v, ok := os.LookupEnv(k); ok {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
		}
		setParentDeathSignal(cmd)
		gp := goplugin.NewClient(&goplugin.ClientConfig{
			HandshakeConfig:  Handshake,
			Plugins:          pluginSet(nil),
			Cmd:              cmd,
			SkipHostEnv:      true,
			AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
			AutoMTLS:         true,
			SecureConfig:     secure,
			StartTimeout:     cfg.StartTimeout,
			Logger:           newHCLogAdapter(cfg.Logger.With("executable", cfg.Path)),
			SyncStderr:       os.Stderr,
		})
		c, err := dispense(gp, cmd, cfg)
		if err != nil {
			// The process may be up (a failed dispense) and hung: the same
			// bounded stop as Kill. cmd.Process was set, if at all, by
			// go-plugin in this goroutine.
			stop(gp, cmd.Process, nil, cfg.Logger)
			result <- started{err: err}
			return
		}
		result <- started{c: c}
		<-c.exited
	}()
	select {
	case r := <-result:
		return r.c, r.err
	case <-ctx.Done():
		// Starting cannot be interrupted (go-plugin bounds it by
		// StartTimeout); the plugin is stopped as soon as it is up, with
		// Kill's bound, so this goroutine ends too.
		go func() {
			if r := <-result; r.c != nil {
				r.c.Kill()
			}
		}()
		return nil, fmt.Errorf("start plugin %s: %w", cfg.Path, ctx.Err())
	}
}

func dispense(gp *goplugin.Client, cmd *exec.Cmd, cfg StartConfig) (*Client, error) {
	path := cfg.Path
	rpc, err := gp.Client()
	if err != nil {
		if errors.Is(err, goplugin.ErrChecksumsDoNotMatch) {
			return nil, fmt.Errorf("start plugin %s: the executable's sha256 does not match the configured one", path)
		}
		return nil, fmt.Errorf("start plugin %s: %w", path, err)
	}
	raw, err := rpc.Dispense(pluginName)
	if err != nil {
		return nil, fmt.Errorf("start plugin %s: dispense: %w", path, err)
	}
	conn, ok := raw.(*Conn)
	if !ok {
		return nil, fmt.Errorf("start plugin %s: unexpected plugin type %T", path, raw)
	}
	grpcClient, ok := rpc.(*goplugin.GRPCClient)
	if !ok {
		return nil, fmt.Errorf("start plugin %s: not a gRPC plugin", path)
	}
	c := &Client{
		Conn:   conn,
		gp:     gp,
		health: healthpb.NewHealthClient(grpcClient.Conn),
		path:   path,
		proc:   cmd.Process,
		log:    cfg.Logger,
		exited: make(chan struct{}),
	}
	if rc := gp.ReattachConfig(); rc != nil {
		c.pid = rc.Pid
	}
	go func() {
		<-conn.done
		// done closes when the plugin's gRPC client context ends: the process
		// exited or Kill ran. Wait for go-plugin to reap it.
		for !gp.Exited() {
			time.Sleep(5 * time.Millisecond)
		}
		close(c.exited)
	}()
	return c, nil
}

// PID is the plugin's process id.
func (c *Client) PID() int { return c.pid }

// Path is the executable the plugin was started from.
func (c *Client) Path() string { return c.path }

// Exited is closed once the plugin process has exited (crash or Kill).
func (c *Client) Exited() <-chan struct{} { return c.exited }

// Health checks that the plugin answers its gRPC health service within ctx.
func (c *Client) Health(ctx context.Context) error {
	select {
	case <-c.exited:
		return fmt.Errorf("health: %w: process exited", ErrPluginUnavailable)
	default:
	}
	resp, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "plugin"})
	if err != nil {
		return c.wrap("health", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health: plugin reports %s", resp.GetStatus())
	}
	return nil
}

// Kill stops the plugin: a shutdown request, then SIGKILL once KillGrace
// has passed without an exit. It returns when the process is gone and
// reaped, after at most KillGrace plus a few seconds, also for a plugin
// that hangs; it is safe to call more than once and concurrently.
// In-flight calls fail; drain them first.
func (c *Client) Kill() {
	stop(c.gp, c.proc, c.exited, c.log)
}

// KillNow SIGKILLs the plugin without asking it first (it failed its
// health check: it would not answer) and returns once it has been reaped
// (bounded).
func (c *Client) KillNow() {
	kill(c.gp, c.proc, c.exited, c.log)
}

// stop asks go-plugin to stop the process (shutdown RPC; go-plugin SIGKILLs
// 2 s after the answer) and SIGKILLs it itself when it is still there
// after KillGrace. exited closes once the process has been reaped; nil
// before a Client exists (then go-plugin is asked).
func stop(gp *goplugin.Client, proc *os.Process, exited <-chan struct{}, log *slog.Logger) {
	asked := make(chan struct{})
	go func() {
		// Ends by itself once the process is gone: its shutdown request is
		// bound to the process's lifetime.
		defer close(asked)
		gp.Kill()
	}()
	t := time.NewTimer(KillGrace)
	defer t.Stop()
	select {
	case <-asked:
	case <-exited: // nil: never
	case <-t.C:
		log.Warn("plugin did not stop within the grace period; killing it", "pid", pidOf(proc), "grace", KillGrace)
	}
	kill(gp, proc, exited, log)
}

// kill SIGKILLs the process unless it is gone, and waits (bounded) until
// go-plugin has reaped it, so that no zombie is left.
func kill(gp *goplugin.Client, proc *os.Process, exited <-chan struct{}, log *slog.Logger) {
	gone := func() bool {
		if exited == nil {
			return gp.Exited()
		}
		select {
		case <-exited:
			return true
		default:
			return false
		}
	}
	if gone() || proc == nil {
		return
	}
	_ = proc.Kill() // ErrProcessDone when it exited meanwhile
	deadline := time.Now().Add(killReapTimeout)
	for !gone() {
		if time.Now().After(deadline) {
			log.Error("plugin process not reaped after SIGKILL", "pid", pidOf(proc), "waited", killReapTimeout)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func pidOf(p *os.Process) int {
	if p == nil {
		return 0
	}
	return p.Pid
}
