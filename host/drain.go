package host

import "sync"

// drainCount counts the requests using something that can be replaced (a
// plugin process, a rule set): once retired it takes no new users, and the
// channel retire returns closes when the last one has finished.
type drainCount struct {
	mu       sync.Mutex
	inflight int
	retired  bool
	idle     chan struct{} // made by retire; closed when retired and unused
}

// acquire takes one use; false once retired (load the replacement).
func (d *drainCount) acquire() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.retired {
		return false
	}
	d.inflight++
	return true
}

// release ends one use taken by acquire.
func (d *drainCount) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inflight--
	if d.retired && d.inflight == 0 {
		close(d.idle)
	}
}

// retire stops new uses and returns a channel closed when the last use has
// ended. It is safe to call more than once.
func (d *drainCount) retire() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.retired {
		d.retired = true
		d.idle = make(chan struct{})
		if d.inflight == 0 {
			close(d.idle)
		}
	}
	return d.idle
}

func (d *drainCount) isRetired() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.retired
}
