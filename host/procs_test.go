package host_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// proc is one line of /proc/<pid>/stat that matters here.
type proc struct {
	pid, ppid int
	state     byte // R, S, D, Z, T ...
	comm      string
}

func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	// pid (comm) state ppid ...; comm may contain spaces and parentheses.
	s := string(b)
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return proc{}, false
	}
	rest := strings.Fields(s[close+1:])
	if len(rest) < 2 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(rest[1])
	return proc{pid: pid, ppid: ppid, state: rest[0][0], comm: s[open+1 : close]}, true
}

func allPIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// processesOf returns the live processes running executable exe (also when
// exe has since been replaced: the kernel then shows "<path> (deleted)").
func processesOf(exe string) []int {
	var out []int
	for _, pid := range allPIDs() {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil {
			continue // gone, or a zombie (which has no executable)
		}
		if strings.TrimSuffix(link, " (deleted)") != exe {
			continue
		}
		if p, ok := readProc(pid); ok && p.state != 'Z' {
			out = append(out, pid)
		}
	}
	return out
}

// zombieChildren are this test process's children that exited and were not
// reaped.
func zombieChildren() []proc {
	self := os.Getpid()
	var out []proc
	for _, pid := range allPIDs() {
		if p, ok := readProc(pid); ok && p.ppid == self && p.state == 'Z' {
			out = append(out, p)
		}
	}
	return out
}

// zombieWatch samples this process's children every 50 ms while a test
// runs. An exited child is a zombie for the moment between its exit and
// its parent's wait; one that stays a zombie for zombieGrace was never
// reaped, and fails the test.
type zombieWatch struct {
	t    *testing.T
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	bad  []string
}

const zombieGrace = 1500 * time.Millisecond

func watchZombies(t *testing.T) *zombieWatch {
	z := &zombieWatch{t: t, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(z.done)
		since := map[int]time.Time{} // zombie pid -> first seen
		reported := map[int]bool{}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			now := time.Now()
			seen := map[int]bool{}
			for _, p := range zombieChildren() {
				seen[p.pid] = true
				first, ok := since[p.pid]
				if !ok {
					since[p.pid] = now
				} else if now.Sub(first) > zombieGrace && !reported[p.pid] {
					reported[p.pid] = true
					z.mu.Lock()
					z.bad = append(z.bad, fmt.Sprintf("pid %d (%s) a zombie for more than %v", p.pid, p.comm, zombieGrace))
					z.mu.Unlock()
				}
			}
			for pid := range since {
				if !seen[pid] {
					delete(since, pid)
				}
			}
			select {
			case <-z.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(z.check)
	return z
}

// check stops the sampling and fails the test for every unreaped child.
func (z *zombieWatch) check() {
	select {
	case <-z.stop:
	default:
		close(z.stop)
	}
	<-z.done
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, b := range z.bad {
		z.t.Errorf("zombie: %s", b)
	}
	z.bad = nil
}

// onePluginLeft waits until exactly one process runs exe, it is the one
// the status names, and no child of ours is a zombie.
func onePluginLeft(t *testing.T, f *fixture, timeout time.Duration) int {
	t.Helper()
	var pid int
	eventually(t, timeout, "exactly one plugin process and no zombie", func() (bool, string) {
		live := processesOf(f.plugin)
		pid, _, _, _ = federation(t, f.status())
		z := zombieChildren()
		return len(live) == 1 && live[0] == pid && len(z) == 0,
			fmt.Sprintf("processes of %s: %v, status pid %d, zombies %v", filepath.Base(f.plugin), live, pid, z)
	})
	return pid
}
