package plugintest

import (
	"os/exec"
	"syscall"
)

// killWithParent has the kernel kill the plugin process when the test
// process dies without running its cleanups (a panic, a -timeout), which
// would otherwise leave a plugin serving nobody. Linux sends the signal
// when the thread that started the child ends, not the process; the Go
// runtime only ends a thread whose goroutine exits while locked to it
// (runtime.LockOSThread), which a test starting a plugin does not do.
func killWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
