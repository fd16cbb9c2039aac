package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// Set is one loaded rule set. It is immutable after Load and safe for
// concurrent use; the host swaps whole Sets.
type Set struct {
	files   []string
	hash    string
	servers []plugin.Server // sorted by identifier
	byID    map[string]int
	all     []*Rule
	// index holds, per event, the active rules of that event (and of "*")
	// for Pre and Post, in order.
	index   map[string]*[2][]*Rule
	summary string
}

func newSet(srcs []*source, servers map[string]serverDef, defs []*ruleDef) *Set {
	s := &Set{hash: hashSources(srcs), byID: map[string]int{}, index: map[string]*[2][]*Rule{}}
	for _, src := range srcs {
		s.files = append(s.files, src.path)
	}
	for _, id := range serverIDs(servers) {
		s.byID[id] = len(s.servers)
		s.servers = append(s.servers, servers[id].srv)
	}
	for _, d := range defs {
		s.all = append(s.all, d.r)
	}
	// defs are in file (name) order, then in order within each file; a
	// stable sort keeps that for equal ordering.
	sort.SliceStable(s.all, func(i, j int) bool { return s.all[i].Ordering < s.all[j].Ordering })
	for _, name := range events.names {
		s.index[name] = &[2][]*Rule{}
	}
	for _, r := range s.all {
		if !r.Active {
			continue
		}
		pi := positionIndex(r.Position)
		for name, lists := range s.index {
			if r.Events[0] == AllEvents || slices.Contains(r.Events, name) {
				lists[pi] = append(lists[pi], r)
			}
		}
	}
	for _, lists := range s.index {
		lists[0], lists[1] = slices.Clip(lists[0]), slices.Clip(lists[1])
	}
	s.summary = s.makeSummary()
	return s
}

func positionIndex(p Position) int {
	if p == Pre {
		return 0
	}
	return 1
}

// Rules returns the active rules for an event and position, in order:
// ordering ascending, ties in file order (files in name order). Rules for
// "*" are included. An unknown event or position has none. The slice is
// shared: do not modify it.
func (s *Set) Rules(event string, pos Position) []*Rule {
	lists, ok := s.index[event]
	if !ok || (pos != Pre && pos != Post) {
		return nil
	}
	return lists[positionIndex(pos)]
}

// All returns every rule, active or not, in order. The slice is shared: do
// not modify it.
func (s *Set) All() []*Rule { return s.all }

// Rule returns the rule with the given name.
func (s *Set) Rule(name string) (*Rule, bool) {
	for _, r := range s.all {
		if r.Name == name {
			return r, true
		}
	}
	return nil, false
}

// Servers returns the servers sorted by identifier: URLs without trailing
// slash, CA/certificate/key paths absolute or resolved against the directory
// of the file that defines the server, Timeout defaulted to
// DefaultServerTimeout, TLSVerify to true. The result is a copy.
func (s *Set) Servers() []plugin.Server {
	out := make([]plugin.Server, len(s.servers))
	for i, srv := range s.servers {
		srv.URLs = slices.Clone(srv.URLs)
		out[i] = srv
	}
	return out
}

// Server returns the server with the given identifier (a copy).
func (s *Set) Server(id string) (plugin.Server, bool) {
	i, ok := s.byID[id]
	if !ok {
		return plugin.Server{}, false
	}
	srv := s.servers[i]
	srv.URLs = slices.Clone(srv.URLs)
	return srv, true
}

// Files returns the source files read, in name order.
func (s *Set) Files() []string { return slices.Clone(s.files) }

// Hash is the hex SHA-256 over the names and contents of the files: an
// equal hash means the same rule set, so a reload can be skipped.
func (s *Set) Hash() string { return s.hash }

// EvalErrors is the number of condition evaluations of this set that failed
// (and counted as false), over all rules.
func (s *Set) EvalErrors() uint64 {
	var n uint64
	for _, r := range s.all {
		n += r.EvalErrors()
	}
	return n
}

// Summary describes the set in one line for logs, e.g.
// `3 rules (2 active), 2 servers, events: validate_check, token_init`;
// events are those of active rules, in rule order.
func (s *Set) Summary() string { return s.summary }

func (s *Set) makeSummary() string {
	active := 0
	var evs []string
	for _, r := range s.all {
		if !r.Active {
			continue
		}
		active++
		for _, e := range r.Events {
			if !slices.Contains(evs, e) {
				evs = append(evs, e)
			}
		}
	}
	list := "none"
	if len(evs) > 0 {
		list = strings.Join(evs, ", ")
	}
	return fmt.Sprintf("%s (%d active), %s, events: %s", plural(len(s.all), "rule"), active, plural(len(s.servers), "server"), list)
}
