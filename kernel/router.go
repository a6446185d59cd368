package kernel

import (
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/valyala/bytebufferpool"

	"github.com/runnel-dev/runnel/netio"
)

// reqCtx carries what a handler may need besides the request itself.
type reqCtx struct {
	conn   *netio.Conn
	header requestHeader
}

// ServeRequest implements netio.Handler: decode, dispatch, encode.
func (b *Broker) ServeRequest(c *netio.Conn, frame []byte) netio.Reply {
	key, version, correlation, err := parseHeaderPrefix(frame)
	if err != nil {
		return netio.Reply{CloseReason: "truncated request header"}
	}
	a := b.lookupAPI(key)
	if a == nil {
		return netio.Reply{CloseReason: fmt.Sprintf("unknown API key %d", key)}
	}
	if version < a.min || version > a.max {
		if key == apiKeyApiVersions {
			// KIP-511: answer in v0 shape so any client can read which
			// versions we do speak.
			return b.encode(key, 0, correlation, b.apiVersionsResponse(0, kerr.UnsupportedVersion.Code))
		}
		return netio.Reply{CloseReason: fmt.Sprintf("%s v%d not supported (serving v%d-v%d)",
			kmsg.NameForKey(key), version, a.min, a.max)}
	}
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	h, body, err := parseRequestHeader(frame, req.IsFlexible())
	if err != nil {
		return netio.Reply{CloseReason: fmt.Sprintf("%s v%d: %v", kmsg.NameForKey(key), version, err)}
	}
	if err := req.ReadFrom(body); err != nil {
		return netio.Reply{CloseReason: fmt.Sprintf("malformed %s v%d request from client %q: %v",
			kmsg.NameForKey(key), version, h.clientID, err)}
	}
	rc := &reqCtx{conn: c, header: h}
	resp := b.call(a, rc, req)
	switch {
	case resp.none:
		return netio.Reply{}
	case resp.later != nil:
		return netio.Reply{Wait: func() netio.Reply {
			msg := b.callLater(a, rc, req, resp.later)
			return b.encode(key, version, correlation, msg)
		}}
	}
	return b.encode(key, version, correlation, resp.msg)
}

// call runs a handler, turning a panic into UNKNOWN_SERVER_ERROR for every
// part of the request.
func (b *Broker) call(a *api, rc *reqCtx, req kmsg.Request) (resp response) {
	defer func() {
		if p := recover(); p != nil {
			b.logPanic(a, rc, p)
			if pr, ok := req.(*kmsg.ProduceRequest); ok && pr.Acks == 0 {
				resp = response{none: true} // the client expects no answer
				return
			}
			resp = response{msg: a.failAll(req, kerr.UnknownServerError.Code)}
		}
	}()
	return a.handle(b, rc, req)
}

// callLater runs a deferred part of a handler with the same protection.
func (b *Broker) callLater(a *api, rc *reqCtx, req kmsg.Request, later func() kmsg.Response) (msg kmsg.Response) {
	defer func() {
		if p := recover(); p != nil {
			b.logPanic(a, rc, p)
			msg = a.failAll(req, kerr.UnknownServerError.Code)
		}
	}()
	return later()
}

func (b *Broker) logPanic(a *api, rc *reqCtx, p any) {
	b.log.Error("request handler panicked; answered UNKNOWN_SERVER_ERROR",
		slog.String("api", kmsg.NameForKey(a.key)), slog.String("client", rc.header.clientID),
		slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
}

// encode frames a response into a pooled buffer: 4 bytes for netio to put
// the size in, the response header, the body.
func (b *Broker) encode(key, version int16, correlation int32, msg kmsg.Response) netio.Reply {
	if f, ok := msg.(*fileFetch); ok {
		return b.encodeFetch(version, correlation, f)
	}
	msg.SetVersion(version)
	bb := bytebufferpool.Get()
	buf := append(bb.B[:0], 0, 0, 0, 0)
	buf = appendResponseHeader(buf, key, msg.IsFlexible(), correlation)
	buf = msg.AppendTo(buf)
	bb.B = buf
	return netio.Reply{Frame: buf, Done: func() { bytebufferpool.Put(bb) }}
}

func (b *Broker) lookupAPI(key int16) *api {
	if key < 0 || int(key) >= len(b.apis) {
		return nil
	}
	return b.apis[key]
}
