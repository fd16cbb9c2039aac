//go:build !linux

package plugin

import "os/exec"

// setParentDeathSignal is a no-op where there is no Pdeathsig; the plugin's
// parent watch (Serve) ends orphans there.
func setParentDeathSignal(*exec.Cmd) {}
