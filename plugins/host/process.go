package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/runnel-dev/runnel/sdk"
)

// failuresBeforeRestart is how many calls in a row may fail as
// unavailable (time out) while the process still answers health checks
// before the Host restarts it anyway: a plugin stuck in its own code
// answers pings but nothing else.
const failuresBeforeRestart = 3

// process supervises one plugin process: it starts it, checks it, and
// restarts it with backoff when it dies or stops answering.
type process struct {
	id    string // the plugin's id, from its description
	point string
	path  string
	args  []string
	cfg   *Config
	log   *slog.Logger

	// mu guards the fields below.
	mu       sync.Mutex
	client   *plugin.Client
	kill     func() // kills client and removes its socket directory
	rpc      plugin.ClientProtocol
	impl     any // what the plugin dispensed; nil while down
	pid      int
	restarts int
	failures int   // calls in a row that found it unavailable
	lastErr  error // why it last went down or failed to start
	closed   bool

	kick chan struct{} // a call found the plugin unavailable; buffered 1
	done chan struct{} // closed by close
	wg   sync.WaitGroup
}

func newProcess(cfg *Config, desc sdk.Description, path string, args []string) *process {
	return &process{
		id:    desc.ID,
		point: desc.Point,
		path:  path,
		args:  args,
		cfg:   cfg,
		log:   cfg.Logger.With("plugin", desc.ID, "path", path),
		kick:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
}

// start launches the process for the first time and begins supervising
// it. On error nothing is left running.
func (p *process) start() error {
	if err := p.launch(); err != nil {
		return err
	}
	p.wg.Add(1)
	go p.supervise()
	return nil
}

// launch starts the plugin process and dispenses its extension.
func (p *process) launch() error {
	// The plugin's socket goes in a directory of its own, removed with
	// the process: a killed plugin cannot clean up after itself.
	sockets, err := os.MkdirTemp("", "runnel-plugin")
	if err != nil {
		return fmt.Errorf("plugin %s: %w", p.id, err)
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = []string{plugin.EnvUnixSocketDir + "=" + sockets} // go-plugin adds the broker's environment
	cmd.SysProcAttr = pluginProcAttr()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.ClientPlugins(p.cfg.CallTimeout),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     p.cfg.StartTimeout,
		Logger:           newHclog(p.cfg.Logger, p.id),
		GRPCDialOptions:  sdk.DialOptions(),
	})
	kill := func() {
		client.Kill()
		killGroup(cmd)
		_ = os.RemoveAll(sockets)
	}
	rpc, err := client.Client()
	if err != nil {
		kill()
		return fmt.Errorf("plugin %s (%s) did not start: %w", p.id, p.path, err)
	}
	raw, err := rpc.Dispense(p.point)
	if err != nil {
		kill()
		return fmt.Errorf("plugin %s (%s): %w", p.id, p.path, err)
	}
	pid := 0
	if rc := client.ReattachConfig(); rc != nil {
		pid = rc.Pid
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		kill()
		return fmt.Errorf("plugin %s: host closed", p.id)
	}
	p.client, p.rpc, p.impl, p.pid, p.failures, p.kill = client, rpc, raw, pid, 0, kill
	p.log.Info("plugin started", "pid", pid, "protocol", client.NegotiatedVersion())
	return nil
}

// current returns the dispensed extension, or an error wrapping
// sdk.ErrUnavailable while the plugin is down.
func (p *process) current() (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.impl == nil {
		why := "restarting"
		if p.closed {
			why = "stopped"
		}
		if p.lastErr != nil {
			why += " after: " + p.lastErr.Error()
		}
		return nil, fmt.Errorf("%w: plugin %s is %s", sdk.ErrUnavailable, p.id, why)
	}
	return p.impl, nil
}

// observe records the outcome of a call and returns its error, naming
// the plugin when it could not answer. A call that found the plugin
// unavailable wakes the supervisor at once instead of at its next check.
func (p *process) observe(err error) error {
	unavailable := errors.Is(err, sdk.ErrUnavailable)
	p.mu.Lock()
	if unavailable {
		p.failures++
	} else {
		p.failures = 0
	}
	p.mu.Unlock()
	if !unavailable {
		return err
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
	return fmt.Errorf("plugin %s: %w", p.id, err)
}

// supervise checks the process every HealthInterval (or when a call saw
// it unavailable) and restarts it when it is down.
func (p *process) supervise() {
	defer p.wg.Done()
	tick := time.NewTicker(p.cfg.HealthInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		case <-p.kick:
		}
		err := p.check()
		if err == nil {
			continue
		}
		p.takeDown(err)
		if !p.relaunch() {
			return
		}
	}
}

// check returns why the process is unhealthy, or nil.
func (p *process) check() error {
	p.mu.Lock()
	client, rpc, failures := p.client, p.rpc, p.failures
	p.mu.Unlock()
	if client == nil {
		return errors.New("not running")
	}
	if client.Exited() {
		return errors.New("process exited")
	}
	if failures >= failuresBeforeRestart {
		return fmt.Errorf("%d calls in a row timed out", failures)
	}
	ping := make(chan error, 1)
	go func() { ping <- rpc.Ping() }()
	select {
	case err := <-ping:
		if err != nil {
			return fmt.Errorf("health check failed: %w", err)
		}
		return nil
	case <-time.After(p.cfg.CallTimeout):
		return fmt.Errorf("health check timed out after %v", p.cfg.CallTimeout)
	case <-p.done:
		return nil
	}
}

// takeDown marks the plugin unavailable and stops what is left of it.
func (p *process) takeDown(why error) {
	p.mu.Lock()
	kill := p.kill
	p.client, p.kill, p.rpc, p.impl, p.lastErr = nil, nil, nil, nil, why
	p.mu.Unlock()
	p.log.Warn("plugin is down; restarting it", "reason", why)
	if kill != nil {
		kill()
	}
}

// relaunch starts the process again, backing off between attempts, until
// it runs or the host closes. It reports whether it runs.
func (p *process) relaunch() bool {
	backoff := p.cfg.MinBackoff
	for {
		select {
		case <-p.done:
			return false
		case <-time.After(backoff):
		}
		err := p.launch()
		if err == nil {
			p.mu.Lock()
			p.restarts++
			p.lastErr = nil
			n := p.restarts
			p.mu.Unlock()
			p.log.Info("plugin restarted", "restarts", n)
			return true
		}
		p.mu.Lock()
		p.lastErr = err
		p.mu.Unlock()
		p.log.Warn("plugin restart failed", "error", err, "retry_in", backoff)
		backoff = min(backoff*2, p.cfg.MaxBackoff)
	}
}

// close stops supervising and kills the process.
func (p *process) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	kill := p.kill
	p.client, p.kill, p.rpc, p.impl = nil, nil, nil, nil
	p.mu.Unlock()
	close(p.done)
	p.wg.Wait()
	if kill != nil {
		kill()
	}
}

// status reports the process's state.
func (p *process) status() (healthy bool, pid, restarts int, lastErr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastErr != nil {
		lastErr = p.lastErr.Error()
	}
	return p.impl != nil, p.pid, p.restarts, lastErr
}

// describe runs `path describe` and returns the plugin's description.
func describe(ctx context.Context, path string, args []string) (sdk.Description, error) {
	var d sdk.Description
	cmd := exec.CommandContext(ctx, path, append(append([]string(nil), args...), "describe")...)
	cmd.SysProcAttr = pluginProcAttr()
	cmd.Cancel = func() error { killGroup(cmd); return nil }
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return d, fmt.Errorf("plugin %s: `describe` did not answer in time", path)
	}
	if err != nil {
		msg := err.Error()
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			msg += ": " + string(trimNewline(ee.Stderr))
		}
		return d, fmt.Errorf("plugin %s: `describe` failed: %s", path, msg)
	}
	if err := jsonUnmarshal(out, &d); err != nil {
		return d, fmt.Errorf("plugin %s: `describe` did not answer a Runnel plugin description: %v", path, err)
	}
	if d.ID == "" || d.Point == "" {
		return d, fmt.Errorf("plugin %s: `describe` gave no id or extension point", path)
	}
	return d, nil
}

// pluginProcAttr starts a plugin process in a process group of its own,
// so whatever it starts in turn (a plugin may be a script) is stopped
// with it, and with a parent-death signal, so the kernel kills it when
// the broker dies, however it dies (a panic, kill -9): no orphans.
func pluginProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process group of a started plugin command.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil && cmd.Process.Pid > 0 {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
