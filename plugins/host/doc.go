// Package host runs Runnel's extensions for the broker and the command
// line tools, in process or in plugin processes of their own.
//
// A binding names an implementation: "builtin:uniform" (the registry's
// assignor.uniform, in process), "exec:/path/to/binary" (a plugin process
// started with hashicorp/go-plugin), or a bare name, which is a builtin if
// one is registered and otherwise a plugin found in the plugin directory
// (plugin.dir) whose id is "<point>.<name>".
//
// For a plugin process, the Host hands back a proxy that implements the
// point's sdk interface, exactly as a builtin does. Behind it the Host
// supervises the process: it checks its health, restarts it with backoff
// when it dies or stops answering, and stops it on Close. Every process is
// started with a parent-death signal, so none outlives a broker that
// crashes or is killed. While a plugin is down, calls fail at once with an
// error wrapping sdk.ErrUnavailable: the kernel answers its clients with a
// retriable error, never a hang.
package host
