//go:build !linux

package plugintest

import "os/exec"

// killWithParent does nothing: without a parent-death signal, a plugin
// may outlive a test process that dies without running its cleanups.
func killWithParent(*exec.Cmd) {}
