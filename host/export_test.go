package host

import (
	"context"
	"time"
)

// CheckForChanges runs what the watcher runs after events and on its
// periodic rescan (every 30 s, too slow for a test): a reload only when
// the files differ from the last reload's. It reports whether one ran.
func (s *Server) CheckForChanges(ctx context.Context) bool {
	return s.reloadIfChanged(ctx, "periodic rescan")
}

// WatchCheckedAfter reports whether the watcher began a check (after its
// debounce) later than t, so every event up to t has been acted on or
// ignored.
func (s *Server) WatchCheckedAfter(t time.Time) bool {
	return s.lastWatchCheck.Load() > t.UnixNano()
}
