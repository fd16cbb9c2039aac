package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// Limits of plugin supervision.
const (
	// pluginCallTimeout bounds Describe and Configure calls.
	pluginCallTimeout = 5 * time.Second
	// healthInterval is how often a running plugin's health RPC is called.
	healthInterval = 5 * time.Second
	// healthTimeout is how long a health RPC may take before the plugin
	// counts as hung and is replaced.
	healthTimeout = 2 * time.Second
	// drainTimeout bounds how long a replaced plugin may finish its
	// in-flight calls before it is stopped anyway.
	drainTimeout = 30 * time.Second
	// restartBackoffMin and restartBackoffMax bound the wait between
	// restarts of a plugin that keeps crashing.
	restartBackoffMin = 100 * time.Millisecond
	restartBackoffMax = 5 * time.Second
)

// errNoPlugin is returned when a rule names a handler with no plugin.
var errNoPlugin = errors.New("no plugin for handler")

// pluginInstance is one running plugin process and its lease count
// (retired when replaced or stopped).
type pluginInstance struct {
	client  *plugin.Client
	desc    plugin.Description
	exe     PluginConfig
	exeSum  string // sha256 of the executable when it was started
	started time.Time
	// configured is the server list this process last accepted (a pointer
	// that pluginHost.servers held), to catch up with a Configure that ran
	// while it was starting.
	configured atomic.Pointer[[]plugin.Server]
	// probe asks the supervisor for a health check now (a call failed).
	probe chan struct{}

	drainCount
}

func newInstance(c *plugin.Client, d plugin.Description, exe PluginConfig, sum string) *pluginInstance {
	return &pluginInstance{client: c, desc: d, exe: exe, exeSum: sum, started: time.Now(), probe: make(chan struct{}, 1)}
}

func (i *pluginInstance) exited() bool {
	select {
	case <-i.client.Exited():
		return true
	default:
		return false
	}
}

// handlerSlot holds the current plugin of one handler identifier. The
// pointer is swapped atomically on hot swap and restart.
type handlerSlot struct {
	id      string
	cur     atomic.Pointer[pluginInstance]
	state   atomic.Value // string: starting, running, restarting, failed
	lastErr atomic.Value // string
	swapMu  sync.Mutex   // one swap or restart at a time
	crashes atomic.Int64
}

// pluginHost starts, supervises and hot-swaps the handler plugins.
type pluginHost struct {
	log     *slog.Logger
	slots   map[string]*handlerSlot
	servers atomic.Pointer[[]plugin.Server] // what every plugin was last configured with
	ctx     context.Context                 // lifecycle: cancelled at shutdown
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	// restartCheck, when set, checks a restarted plugin's schema against
	// the rules in force: the executable at the path may have been
	// replaced since the crashed one started.
	restartCheck func(id string, d plugin.Description) error
}

func newPluginHost(log *slog.Logger) *pluginHost {
	ctx, cancel := context.WithCancel(context.Background())
	h := &pluginHost{log: log, slots: map[string]*handlerSlot{}, ctx: ctx, cancel: cancel}
	empty := []plugin.Server{}
	h.servers.Store(&empty)
	return h
}

// start launches one plugin executable, completes the handshake and asks
// for its description. It does not configure it.
func (h *pluginHost) start(ctx context.Context, exe PluginConfig) (*plugin.Client, plugin.Description, string, error) {
	// The sum is taken before exec: a file replaced after that is a change
	// the watcher sees.
	sum, err := fileSHA256(exe.Path)
	if err != nil {
		return nil, plugin.Description{}, "", fmt.Errorf("start plugin: %w", err)
	}
	c, err := plugin.Start(ctx, plugin.StartConfig{Path: exe.Path, SHA256: exe.SHA256, Logger: h.log})
	if err != nil {
		return nil, plugin.Description{}, "", err
	}
	dctx, cancel := context.WithTimeout(ctx, pluginCallTimeout)
	defer cancel()
	d, err := c.Describe(dctx)
	if err != nil {
		stopClient(c)
		return nil, plugin.Description{}, "", fmt.Errorf("plugin %s: %w", exe.Path, err)
	}
	if d.ContractVersion != plugin.ContractVersion {
		stopClient(c)
		return nil, plugin.Description{}, "", fmt.Errorf("plugin %s: contract version %d, host speaks %d", exe.Path, d.ContractVersion, plugin.ContractVersion)
	}
	return c, d, sum, nil
}

// startAll starts every configured plugin. Identifiers come from the config
// key; a plugin describing itself with another identifier is an error.
func (h *pluginHost) startAll(ctx context.Context, exes map[string]PluginConfig) error {
	for id, exe := range exes {
		c, d, sum, err := h.start(ctx, exe)
		if err != nil {
			h.stopAll()
			return err
		}
		if d.Identifier != id {
			stopClient(c)
			h.stopAll()
			return fmt.Errorf("plugin %s describes itself as %q, configured as %q", exe.Path, d.Identifier, id)
		}
		slot := &handlerSlot{id: id}
		inst := newInstance(c, d, exe, sum)
		slot.cur.Store(inst)
		slot.state.Store("running")
		slot.lastErr.Store("")
		h.slots[id] = slot
		h.supervise(slot, inst)
		h.log.Info("plugin started", "handler", id, "path", exe.Path, "pid", c.PID(), "version", d.Version)
	}
	return nil
}

// descriptions returns handler identifier -> description of the current
// plugins, the option schemas rules are checked against.
func (h *pluginHost) descriptions() map[string]plugin.Description {
	out := map[string]plugin.Description{}
	for id, s := range h.slots {
		if inst := s.cur.Load(); inst != nil {
			out[id] = inst.desc
		}
	}
	return out
}

// configure pushes servers to every current plugin and remembers them for
// plugins started later. The list is stored first, so that a plugin being
// (re)started meanwhile either reads it or is seen here (see catchUp); a
// plugin that crashed meanwhile is skipped (its replacement reads the list).
// When a plugin refuses the list, the previous one is stored again and the
// error returned.
func (h *pluginHost) configure(ctx context.Context, servers []plugin.Server) error {
	prev := h.servers.Load()
	cp := slices.Clone(servers)
	h.servers.Store(&cp)
	for id, s := range h.slots {
		inst := s.cur.Load()
		if inst == nil || inst.isRetired() {
			continue
		}
		if err := configureInstance(ctx, inst, &cp); err != nil {
			if inst.isRetired() || inst.exited() {
				continue
			}
			h.servers.CompareAndSwap(&cp, prev)
			return fmt.Errorf("configure plugin %s: %w", id, err)
		}
	}
	return nil
}

// configureInstance pushes one server list to one plugin and records it.
func configureInstance(ctx context.Context, inst *pluginInstance, servers *[]plugin.Server) error {
	cctx, cancel := context.WithTimeout(ctx, pluginCallTimeout)
	defer cancel()
	if err := inst.client.Configure(cctx, *servers); err != nil {
		return err
	}
	inst.configured.Store(servers)
	return nil
}

// catchUp configures a just-installed instance with the current server list
// if a configure ran while it was starting.
func (h *pluginHost) catchUp(slot *handlerSlot, inst *pluginInstance) {
	p := h.servers.Load()
	if inst.configured.Load() == p {
		return
	}
	if err := configureInstance(h.ctx, inst, p); err != nil && !inst.isRetired() {
		h.log.Error("could not configure the new plugin with the current servers", "handler", slot.id, "pid", inst.client.PID(), "err", err)
	}
}

// lease is one in-flight use of a plugin.
type lease struct {
	inst *pluginInstance
}

// acquire returns a lease on the current plugin of handler id.
func (h *pluginHost) acquire(id string) (*lease, error) {
	s, ok := h.slots[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", errNoPlugin, id)
	}
	// A swap retires the old instance after storing the new one, so at most
	// a couple of loads see a retired instance.
	for range 3 {
		inst := s.cur.Load()
		if inst == nil {
			break
		}
		if inst.acquire() {
			return &lease{inst: inst}, nil
		}
	}
	return nil, fmt.Errorf("handler %s: %w: restarting", id, plugin.ErrPluginUnavailable)
}

// do runs call in the leased plugin. The lease is released when the reply
// body is closed (or at once when there is no body or an error).
func (l *lease) do(ctx context.Context, call *plugin.Call) (*plugin.Reply, error) {
	reply, err := l.inst.client.Do(ctx, call)
	if err != nil && (ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded)) {
		// The plugin failed the call, or did not answer before the
		// deadline: have its supervisor check it now rather than at the
		// next health tick (a hung plugin is replaced sooner).
		select {
		case l.inst.probe <- struct{}{}:
		default:
		}
	}
	if err != nil || !reply.Answered {
		l.inst.release()
		return reply, err
	}
	reply.Body = &leasedBody{ReadCloser: reply.Body, release: l.inst.release}
	return reply, nil
}

type leasedBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *leasedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// supervise watches one instance: when it exits while current, or stops
// answering health checks, a replacement is started with backoff.
func (h *pluginHost) supervise(slot *handlerSlot, inst *pluginInstance) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(healthInterval)
		defer t.Stop()
		for {
			select {
			case <-h.ctx.Done():
				return
			case <-inst.client.Exited():
				if inst.isRetired() {
					return
				}
				slot.crashes.Add(1)
				h.log.Error("plugin exited unexpectedly", "handler", slot.id, "pid", inst.client.PID())
				h.restart(slot, inst)
				return
			case <-t.C:
			case <-inst.probe:
			}
			if inst.isRetired() {
				return
			}
			ctx, cancel := context.WithTimeout(h.ctx, healthTimeout)
			err := inst.client.Health(ctx)
			cancel()
			if err != nil && inst.exited() {
				continue // it crashed: the Exited case restarts it
			}
			if err != nil && h.ctx.Err() == nil && !inst.isRetired() {
				h.log.Error("plugin failed its health check; replacing it", "handler", slot.id, "pid", inst.client.PID(), "err", err)
				// It does not answer: SIGKILL at once, no shutdown request
				// first. Exited then fires, which restarts it above.
				h.wg.Add(1)
				go func() {
					defer h.wg.Done()
					inst.client.KillNow()
					stopClient(inst.client) // go-plugin's cleanup; the process is gone
				}()
			}
		}
	}()
}

// restart replaces a crashed instance, retrying with backoff until it works
// or the host stops.
func (h *pluginHost) restart(slot *handlerSlot, dead *pluginInstance) {
	slot.swapMu.Lock()
	defer slot.swapMu.Unlock()
	if slot.cur.Load() != dead {
		return // already replaced by a swap
	}
	dead.retire()
	slot.state.Store("restarting")
	backoff := restartBackoffMin
	for attempt := 1; ; attempt++ {
		if h.ctx.Err() != nil {
			return
		}
		var check func(plugin.Description) error
		if h.restartCheck != nil {
			check = func(d plugin.Description) error { return h.restartCheck(slot.id, d) }
		}
		inst, err := h.launch(h.ctx, slot.id, dead.exe, check)
		if err == nil && h.ctx.Err() != nil {
			stopClient(inst.client) // the host stopped while it started
			return
		}
		if err == nil {
			slot.cur.Store(inst)
			slot.state.Store("running")
			slot.lastErr.Store("")
			h.supervise(slot, inst)
			h.catchUp(slot, inst)
			h.log.Info("plugin restarted", "handler", slot.id, "pid", inst.client.PID(), "attempt", attempt)
			return
		}
		slot.lastErr.Store(err.Error())
		h.log.Error("plugin restart failed", "handler", slot.id, "attempt", attempt, "retry_in", backoff, "err", err)
		select {
		case <-h.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, restartBackoffMax)
	}
}

// launch starts, describes, checks and configures a new instance; on any
// failure the new process is stopped and the error returned.
func (h *pluginHost) launch(ctx context.Context, id string, exe PluginConfig, check func(plugin.Description) error) (*pluginInstance, error) {
	c, d, sum, err := h.start(ctx, exe)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*pluginInstance, error) {
		stopClient(c)
		return nil, err
	}
	if d.Identifier != id {
		return fail(fmt.Errorf("plugin %s describes itself as %q, configured as %q", exe.Path, d.Identifier, id))
	}
	if check != nil {
		if err := check(d); err != nil {
			return fail(err)
		}
	}
	hctx, cancel := context.WithTimeout(ctx, healthTimeout)
	err = c.Health(hctx)
	cancel()
	if err != nil {
		return fail(err)
	}
	inst := newInstance(c, d, exe, sum)
	if err := configureInstance(ctx, inst, h.servers.Load()); err != nil {
		return fail(fmt.Errorf("configure plugin %s: %w", exe.Path, err))
	}
	return inst, nil
}

// swap starts exe as the new plugin of handler id (blue/green): only when it
// is up, described, checked and configured does it take new calls; the old
// one then drains and stops. On failure the old one keeps serving.
func (h *pluginHost) swap(ctx context.Context, id string, exe PluginConfig, check func(plugin.Description) error) error {
	slot, ok := h.slots[id]
	if !ok {
		return fmt.Errorf("%w %q", errNoPlugin, id)
	}
	slot.swapMu.Lock()
	defer slot.swapMu.Unlock()
	if h.ctx.Err() != nil {
		return fmt.Errorf("plugin %s: the host is stopping", id)
	}
	inst, err := h.launch(ctx, id, exe, check)
	if err == nil && h.ctx.Err() != nil {
		stopClient(inst.client) // the host stopped while it started
		err = fmt.Errorf("plugin %s: the host is stopping", id)
	}
	if err != nil {
		slot.lastErr.Store(err.Error())
		return err
	}
	old := slot.cur.Swap(inst)
	slot.state.Store("running")
	slot.lastErr.Store("")
	h.supervise(slot, inst)
	h.catchUp(slot, inst)
	h.log.Info("plugin swapped", "handler", id, "pid", inst.client.PID(), "version", inst.desc.Version)
	if old != nil {
		h.retireAndStop(old)
	}
	return nil
}

// retireAndStop drains an instance (bounded by drainTimeout) and kills it.
func (h *pluginHost) retireAndStop(inst *pluginInstance) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		idle := inst.retire()
		select {
		case <-idle:
		case <-time.After(drainTimeout):
			h.log.Warn("plugin still busy after the drain timeout; stopping it", "pid", inst.client.PID())
		}
		stopClient(inst.client)
	}()
}

// stopClient stops a plugin process and waits until it has been reaped:
// plugin.Client.Kill asks it to shut down and SIGKILLs it after
// plugin.KillGrace, so a hung plugin is stopped within a few seconds too.
func stopClient(c *plugin.Client) { c.Kill() }

// stopAll retires every plugin, waits for in-flight calls (bounded) and
// stops the processes. It is the last thing the host does.
func (h *pluginHost) stopAll() {
	h.cancel()
	for _, s := range h.slots {
		// A swap or restart in progress either finishes first (and its
		// instance is stopped here) or sees the cancelled context and
		// stops its new process itself.
		s.swapMu.Lock()
		if inst := s.cur.Load(); inst != nil {
			h.retireAndStop(inst)
		}
		s.swapMu.Unlock()
	}
	h.wg.Wait()
}

// PluginStatus is one handler's plugin as /admin/status shows it.
type PluginStatus struct {
	Handler   string    `json:"handler"`
	Path      string    `json:"path"`
	PID       int       `json:"pid"`
	Version   string    `json:"version"`
	State     string    `json:"state"`
	Started   time.Time `json:"started"`
	Crashes   int64     `json:"crashes"`
	LastError string    `json:"last_error,omitempty"`
}

func (h *pluginHost) status() []PluginStatus {
	var out []PluginStatus
	for id, s := range h.slots {
		st := PluginStatus{Handler: id, State: s.state.Load().(string), Crashes: s.crashes.Load(), LastError: s.lastErr.Load().(string)}
		if inst := s.cur.Load(); inst != nil {
			st.Path, st.PID, st.Version, st.Started = inst.exe.Path, inst.client.PID(), inst.desc.Version, inst.started
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Handler < out[j].Handler })
	return out
}
