package host

import "context"

// CheckForChanges runs what the watcher runs after events and on its
// periodic rescan (every 30 s, too slow for a test): a reload only when
// the files differ from the last reload's. It reports whether one ran.
func (s *Server) CheckForChanges(ctx context.Context) bool {
	return s.reloadIfChanged(ctx, "periodic rescan")
}
