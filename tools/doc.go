// Package tools holds Runnel's developer tooling: lint-as-test checks of
// the architecture (tools/lint), and later the eBPF programs with their
// generated Go, code generators and dev scripts.
package tools
