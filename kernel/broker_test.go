package kernel

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/kernel/config"
	"github.com/runnel-dev/runnel/netio"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testConfig(dir string) config.Broker {
	cfg := config.Default()
	cfg.LogDirs = []string{dir}
	cfg.Listeners = []config.Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 0}}
	return cfg
}

// openTestBroker opens a broker on dir without listening: tests call
// ServeRequest directly.
func openTestBroker(t testing.TB, cfg config.Broker) *Broker {
	t.Helper()
	b, err := New(Options{Config: cfg, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func newTestBroker(t testing.TB) *Broker {
	t.Helper()
	b := openTestBroker(t, testConfig(t.TempDir()))
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

// encodeRequest frames req as a client would, minus the 4-byte size.
func encodeRequest(req kmsg.Request, correlation int32) []byte {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("test-client"))
	return f.AppendRequest(nil, req, correlation)[4:]
}

// serve sends one request through the router and decodes the answer. It
// returns nil when the broker sends nothing (acks=0), and fails the test
// if the broker would close the connection.
func serve(t testing.TB, b *Broker, req kmsg.Request) kmsg.Response {
	t.Helper()
	r := b.ServeRequest(nil, encodeRequest(req, 7))
	if r.CloseReason != "" {
		t.Fatalf("%s v%d: broker closes the connection: %s", kmsg.NameForKey(req.Key()), req.GetVersion(), r.CloseReason)
	}
	resp, err := decodeReply(req.Key(), req.GetVersion(), 7, r)
	if err != nil {
		t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

// decodeReply resolves a Reply (waiting if deferred) and parses it as the
// response to key at version.
func decodeReply(key, version int16, correlation int32, r netio.Reply) (kmsg.Response, error) {
	for r.Wait != nil {
		done := r.Done
		r = r.Wait()
		if done != nil {
			done()
		}
	}
	if r.Done != nil {
		defer r.Done()
	}
	if r.Frame == nil {
		return nil, nil
	}
	frame, err := flattenReply(r)
	if err != nil {
		return nil, err
	}
	body := frame[4:]
	if len(body) < 4 {
		return nil, errShortHeader
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != correlation {
		return nil, &mismatch{"correlation id", int64(got), int64(correlation)}
	}
	body = body[4:]
	resp := kmsg.ResponseForKey(key)
	resp.SetVersion(version)
	if resp.IsFlexible() && key != apiKeyApiVersions {
		var err error
		if body, err = skipTags(body); err != nil {
			return nil, err
		}
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, err
	}
	return resp, nil
}

// flattenReply returns a reply's frame with its file chunks read in, as
// the client receives it.
func flattenReply(r netio.Reply) ([]byte, error) {
	if len(r.Files) == 0 {
		return r.Frame, nil
	}
	var out []byte
	pos := 0
	for _, fc := range r.Files {
		out = append(out, r.Frame[pos:fc.At]...)
		pos = fc.At
		n := len(out)
		out = append(out, make([]byte, fc.Len)...)
		if _, err := fc.File.ReadAt(out[n:], fc.Pos); err != nil {
			return nil, err
		}
	}
	return append(out, r.Frame[pos:]...), nil
}

type mismatch struct {
	what      string
	got, want int64
}

func (m *mismatch) Error() string {
	return m.what + " mismatch"
}
