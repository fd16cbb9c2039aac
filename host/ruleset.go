package host

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edumfa-federation/edumfa-federation/plugin"
	"github.com/edumfa-federation/edumfa-federation/rules"
)

// Life of a rule set in the host:
//
//	read, parse, compile, check against the plugins' schemas (rules.Load)
//	-> its servers are pushed to the plugins, together with those of the
//	   sets still finishing requests (configure)
//	-> swapped in atomically (Gateway.rules); each request leases the set it
//	   started with and keeps it to its end
//	-> retired by the next swap: no new requests; once its last request has
//	   finished, servers that only it defined are dropped from the plugins.
//
// Without the last step a request still running on the old set could reach
// the plugin after Configure had removed the server its rule names.

// setDrainTimeout bounds how long a replaced rule set's servers stay
// configured for requests still running on it, on top of the request
// deadline (which already ends every request).
const setDrainTimeout = 30 * time.Second

// liveSet is a loaded rule set and the count of requests using it.
type liveSet struct {
	set *rules.Set
	drainCount
}

func newLiveSet(set *rules.Set) *liveSet { return &liveSet{set: set} }

// acquireRules leases the current rule set; nil before the first load. The
// caller releases it when the request is done.
func (g *Gateway) acquireRules() *liveSet {
	for {
		ls := g.rules.Load()
		if ls == nil || ls.acquire() {
			return ls
		}
		// Retired between Load and acquire: a swap has already stored the
		// replacement (retire happens after Store).
	}
}

// currentSet is the rule set in force (for status and checks), nil before
// the first load.
func (g *Gateway) currentSet() *rules.Set {
	if ls := g.rules.Load(); ls != nil {
		return ls.set
	}
	return nil
}

// servedServers are the servers the plugins must know while next is in
// force: next's, plus those of the sets still finishing requests (the
// newest definition of an identifier wins). Called with reloadMu held.
func (s *Server) servedServers(next *rules.Set) []plugin.Server {
	out := next.Servers()
	seen := map[string]bool{}
	for _, srv := range out {
		seen[srv.Identifier] = true
	}
	older := slices.Clone(s.draining)
	if cur := s.gw.rules.Load(); cur != nil && cur.set != next {
		older = append(older, cur)
	}
	for i := len(older) - 1; i >= 0; i-- {
		for _, srv := range older[i].set.Servers() {
			if !seen[srv.Identifier] {
				seen[srv.Identifier] = true
				out = append(out, srv)
			}
		}
	}
	slices.SortFunc(out, func(a, b plugin.Server) int { return strings.Compare(a.Identifier, b.Identifier) })
	return out
}

// retireSet stops new requests on a replaced set and, once its last request
// has finished, reconfigures the plugins without the servers only it
// defined. Called with reloadMu held.
func (s *Server) retireSet(old *liveSet) {
	if s.life.Err() != nil {
		return
	}
	s.draining = append(s.draining, old)
	idle := old.retire()
	bound := s.gw.runtime.Load().deadline + setDrainTimeout
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		t := time.NewTimer(bound)
		defer t.Stop()
		select {
		case <-idle:
		case <-t.C:
			s.log.Warn("requests on a replaced rule set still running; dropping its servers anyway", "rules", old.set.Hash())
		case <-s.life.Done():
			return
		}
		s.reloadMu.Lock()
		defer s.reloadMu.Unlock()
		s.draining = slices.DeleteFunc(s.draining, func(ls *liveSet) bool { return ls == old })
		if s.life.Err() != nil {
			return
		}
		if err := s.plugins.configure(s.life, s.servedServers(s.gw.currentSet())); err != nil {
			s.log.Warn("could not drop the servers of a replaced rule set from the plugins", "err", err)
		}
	}()
}

// checkSetAgainst checks that the rules of set that use handler id are
// valid under the handler's description d: the action exists, every option
// is one d declares with the same type, and every required option is set.
// It is how a new plugin is checked against the rule set in force when the
// rule files on disk do not load (the running set then stays in force).
func checkSetAgainst(set *rules.Set, id string, d plugin.Description) error {
	if set == nil {
		return nil
	}
	var problems []string
	for _, r := range set.All() {
		if r.Handler != id {
			continue
		}
		at := fmt.Sprintf("%s:%d: rule %q", r.File, r.Line, r.Name)
		spec, ok := d.Action(r.Action)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: handler %s %s has no action %q", at, id, d.Version, r.Action))
			continue
		}
		names := make([]string, 0, len(r.Options))
		for name := range r.Options {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			o, ok := spec.Option(name)
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s: handler %s %s: unknown option %q of %s", at, id, d.Version, name, r.Action))
			case !optionFits(o.Type, r.Options[name], set):
				problems = append(problems, fmt.Sprintf("%s: handler %s %s: option %s must be a %s", at, id, d.Version, name, o.Type))
			}
		}
		for _, o := range spec.Options {
			if _, given := r.Options[o.Name]; o.Required && !given {
				problems = append(problems, fmt.Sprintf("%s: handler %s %s: missing required option %s (%s)", at, id, d.Version, o.Name, o.Type))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("the rules in force do not fit it:\n%s", strings.Join(problems, "\n"))
	}
	return nil
}

// optionFits says whether a loaded option value (string, bool or int64)
// has the type t.
func optionFits(t plugin.OptionType, v any, set *rules.Set) bool {
	switch t {
	case plugin.OptionString:
		_, ok := v.(string)
		return ok
	case plugin.OptionBool:
		_, ok := v.(bool)
		return ok
	case plugin.OptionInt:
		_, ok := v.(int64)
		return ok
	case plugin.OptionServer:
		id, ok := v.(string)
		if !ok {
			return false
		}
		_, ok = set.Server(id)
		return ok
	}
	return false
}
