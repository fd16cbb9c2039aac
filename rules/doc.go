// Package rules loads the gateway's rule set and evaluates its CEL conditions.
//
// The life of a rule set:
//  1. read: every *.yaml of the rules path, through symlinks, in name order, hashed as a whole;
//  2. parse: YAML nodes are walked by hand, so that every problem has its file:line;
//  3. compile and check: each condition becomes one immutable cel.Program, options are typed by the handler plugin's Describe schema, server references resolved;
//  4. swap: the host publishes the new *Set atomically, and each request keeps the Set it started with;
//  5. retire: the old Set is dropped when its last request ends; it holds nothing to close.
//
// Load is all or nothing: one problem anywhere and it returns a *LoadError
// listing every problem, never a partial Set.
package rules
