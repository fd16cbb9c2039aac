// Package examples holds the rule files a new user copies from; they are
// embedded so that `edumfa-federation dev` runs them from any directory.
package examples

import "embed"

// Rules is examples/rules/: servers.yaml and one commented file per rule.
//
//go:embed rules/*.yaml
var Rules embed.FS
