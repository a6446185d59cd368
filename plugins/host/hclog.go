package host

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// slogHclog is the hclog.Logger go-plugin logs through (its own events
// and each line a plugin writes to stderr), forwarding to slog.
type slogHclog struct {
	l    *slog.Logger
	name string
	args []any
}

var _ hclog.Logger = (*slogHclog)(nil)

func newHclog(l *slog.Logger, name string) hclog.Logger {
	return &slogHclog{l: l, name: name}
}

func slogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace, hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (h *slogHclog) Log(level hclog.Level, msg string, args ...any) {
	all := append([]any{"plugin", h.name}, h.args...)
	h.l.Log(context.Background(), slogLevel(level), msg, append(all, args...)...)
}

func (h *slogHclog) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *slogHclog) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *slogHclog) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *slogHclog) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *slogHclog) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *slogHclog) enabled(level hclog.Level) bool {
	return h.l.Enabled(context.Background(), slogLevel(level))
}

func (h *slogHclog) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *slogHclog) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *slogHclog) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *slogHclog) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *slogHclog) IsError() bool { return h.enabled(hclog.Error) }

func (h *slogHclog) ImpliedArgs() []any { return h.args }

func (h *slogHclog) With(args ...any) hclog.Logger {
	return &slogHclog{l: h.l, name: h.name, args: append(append([]any{}, h.args...), args...)}
}

func (h *slogHclog) Name() string { return h.name }

func (h *slogHclog) Named(name string) hclog.Logger {
	return &slogHclog{l: h.l, name: h.name + "." + name, args: h.args}
}

func (h *slogHclog) ResetNamed(name string) hclog.Logger {
	return &slogHclog{l: h.l, name: name, args: h.args}
}

// SetLevel is ignored: the slog handler decides.
func (h *slogHclog) SetLevel(hclog.Level) {}

func (h *slogHclog) GetLevel() hclog.Level {
	switch {
	case h.IsDebug():
		return hclog.Debug
	case h.IsInfo():
		return hclog.Info
	case h.IsWarn():
		return hclog.Warn
	}
	return hclog.Error
}

func (h *slogHclog) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(nil), "", 0)
}

func (h *slogHclog) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		h.Info(string(trimNewline(p)))
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
