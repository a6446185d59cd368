package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runnel-dev/runnel/bench/report"
)

// broker is a broker under test, started fresh for one session.
type broker struct {
	kind     string // report.Runnel or report.Kfake
	addr     string // HOST:PORT for clients
	adminURL string // Runnel's admin listener; "" when there is none
	proc     *process
	dataDir  string // removed by stop; "" for kfake, which keeps data in RAM
}

// stop ends the broker and deletes its data: a 2 GB log per session
// would otherwise fill the disk over a long run.
func (b *broker) stop(grace time.Duration) error {
	err := b.proc.stop(grace)
	if b.dataDir != "" {
		if rerr := os.RemoveAll(b.dataDir); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// startBroker starts a broker of the given kind for one session. The port
// it picks can be taken by someone else between our check and the
// broker's bind, so one failed start is retried with new ports.
func (d *driver) startBroker(ctx context.Context, kind, name string) (*broker, error) {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var b *broker
		switch kind {
		case report.Runnel:
			b, err = d.startRunnel(ctx, name)
		case report.Kfake:
			b, err = d.startKfake(ctx, name)
		default:
			return nil, fmt.Errorf("unknown broker %q", kind)
		}
		if err == nil || ctx.Err() != nil {
			return b, err
		}
	}
	return nil, err
}

// startRunnel runs `runnel serve` on a fresh data directory and waits
// until its Kafka port accepts connections.
func (d *driver) startRunnel(ctx context.Context, name string) (*broker, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(d.workDir, name+"-data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"serve", "--set", "log.dirs=" + dataDir, "--set", "listeners=PLAINTEXT://" + addr}
	adminAddr := ""
	if !d.noAdmin {
		aport, err := freePort()
		if err != nil {
			return nil, err
		}
		adminAddr = "127.0.0.1:" + strconv.Itoa(aport)
		args = append(args, "--set", "admin.listener="+adminAddr)
	}
	p, err := startProcess("runnel broker", d.logPath(name+"-runnel"), nil, d.cfg.runnelBin, args...)
	if err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	b := &broker{kind: report.Runnel, addr: addr, proc: p, dataDir: dataDir}
	if err := waitListening(ctx, p, addr, d.cfg.startTimeout); err != nil {
		_ = b.stop(d.cfg.stopGrace)
		return nil, withTail(err, p)
	}
	if adminAddr != "" {
		b.adminURL = d.checkAdmin(ctx, p, adminAddr)
	}
	return b, nil
}

// checkAdmin returns the admin listener's URL once it answers, or "" if
// this Runnel does not know admin.listener yet (it warns about unknown
// properties and carries on), in which case later brokers start without
// it and runs go without --admin and --profile.
func (d *driver) checkAdmin(ctx context.Context, p *process, addr string) string {
	if err := waitListening(ctx, p, addr, 3*time.Second); err == nil {
		return "http://" + addr
	}
	if log, _ := os.ReadFile(p.logPath); strings.Contains(string(log), "admin.listener") {
		d.noAdmin = true
		d.note("runnel: admin.listener is not supported by this build, so no broker CPU profiles")
	}
	return ""
}

// startKfake runs bench/kfake on a port of its choosing and waits for the
// line that announces it.
func (d *driver) startKfake(ctx context.Context, name string) (*broker, error) {
	w := newLineWatcher("listening on ")
	p, err := startProcess("kfake broker", d.logPath(name+"-kfake"), w, d.cfg.kfakeBin, "--listen", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &broker{kind: report.Kfake, proc: p}
	timer := time.NewTimer(d.cfg.startTimeout)
	defer timer.Stop()
	select {
	case b.addr = <-w.found:
		return b, nil
	case <-p.done:
		err = fmt.Errorf("kfake exited before listening: %v", p.err)
	case <-timer.C:
		err = fmt.Errorf("kfake printed no address within %v", d.cfg.startTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = b.stop(d.cfg.stopGrace)
	return nil, withTail(err, p)
}

// withTail adds the end of a process's log to an error about it.
func withTail(err error, p *process) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if t := p.logTail(); t != "" {
		return fmt.Errorf("%w; log: %s", err, t)
	}
	return err
}
