package netio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// Handler serves request frames.
type Handler interface {
	// ServeRequest handles one request frame: the bytes after the 4-byte
	// size. It runs on the connection's request goroutine, one request at
	// a time in arrival order, never on an event loop, so it may block;
	// but while it blocks, later requests of the same connection wait.
	// frame is valid only until ServeRequest returns.
	ServeRequest(c *Conn, frame []byte) Reply
}

// Reply is a Handler's answer to one request. The zero Reply sends
// nothing (a produce with acks=0, for example).
type Reply struct {
	// Frame is the whole response frame. Its first 4 bytes are reserved:
	// netio writes the size there. nil means no response.
	Frame []byte
	// Wait, when set, supplies the real Reply later. It is called on the
	// connection's writer goroutine in request order and may block, so
	// the request goroutine goes on with later requests meanwhile.
	Wait func() Reply
	// Files, when set, are file bytes spliced into Frame at the positions
	// they name, in order; they count in the frame's size. netio sends
	// them with sendfile where it can (see Conn.writeFiles) and copies
	// them otherwise.
	Files []FileChunk
	// Done, when set, is called once Frame (and Files) have been handed
	// to the socket or dropped because the connection closed, so Frame
	// may be recycled and the files released.
	Done func()
	// CloseReason, when set, closes the connection after Frame (if any)
	// is written, and is logged.
	CloseReason string
}

// Config configures a Server.
type Config struct {
	// Addrs are the host:port addresses to listen on. Port 0 picks a
	// free port; Server.Addrs tells which.
	Addrs []string
	// MaxFrameBytes is the largest request frame accepted
	// (socket.request.max.bytes). A larger one closes the connection.
	MaxFrameBytes int32
	// EventLoops is the number of gnet event loops; 0 means one per core.
	EventLoops int
	// Logger receives connection-level problems; nil means slog.Default().
	Logger *slog.Logger
	// Handler serves every request.
	Handler Handler
	// CopyFiles turns zero-copy off: the file chunks of replies are read
	// into a buffer and written from there, as they must be where
	// sendfile cannot reach the socket (TLS).
	CopyFiles bool
}

// Per-connection queue limits: past either, OnTraffic stops framing until
// the request goroutine has caught up. At least one frame is always
// accepted, so a single large request still goes through.
const (
	maxQueuedFrames = 256
	maxQueuedBytes  = 64 << 20
)

// readBufferBytes is the size of each event loop's read buffer.
const readBufferBytes = 1 << 20

// Server is a running set of listeners and their event loops.
type Server struct {
	cfg    Config
	log    *slog.Logger
	engine gnet.Engine
	// addrs holds the bound listener addresses once Listen has found
	// them; connections may be served (and ask) before that.
	addrs atomic.Pointer[[]net.Addr]

	// pending counts request frames received but not yet fully answered
	// (written, or dropped with their connection). Shutdown waits for it
	// to reach zero.
	pending  atomic.Int64
	draining atomic.Bool
	nextID   atomic.Uint64

	zc              zeroCopy
	sendfileBytes   atomic.Int64
	copiedFileBytes atomic.Int64

	stopped chan struct{} // closed when the gnet engine has returned
	runErr  error         // set before stopped is closed

	// mu guards conns.
	mu    sync.Mutex
	conns map[*Conn]struct{}
}

// Listen binds every address and starts the event loops. It returns once
// the listeners are bound, or with the reason they could not be.
func Listen(cfg Config) (*Server, error) {
	if cfg.Handler == nil {
		return nil, errors.New("netio: no handler")
	}
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("netio: no listener addresses")
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = 100 << 20
	}
	loops := cfg.EventLoops
	if loops <= 0 {
		loops = runtime.NumCPU()
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		stopped: make(chan struct{}),
		conns:   make(map[*Conn]struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.CopyFiles {
		s.zc.off.Store(true)
		s.log.Info("zero-copy off: file bytes of responses are copied")
	}
	protoAddrs := make([]string, len(cfg.Addrs))
	for i, a := range cfg.Addrs {
		protoAddrs[i] = "tcp://" + a
	}
	booted := make(chan struct{})
	ev := &events{srv: s, booted: booted}
	go func() {
		s.runErr = gnet.Rotate(ev, protoAddrs,
			gnet.WithMulticore(true),
			gnet.WithNumEventLoop(loops),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithReuseAddr(true),
			gnet.WithLogger(gnetLogger{s.log}),
			// One read buffer per event loop: large enough that a
			// producer's 1 MiB batch takes a few reads, not sixteen.
			gnet.WithReadBufferCap(readBufferBytes),
		)
		close(s.stopped)
	}()
	select {
	case <-booted:
	case <-s.stopped:
		if s.runErr == nil {
			s.runErr = errors.New("event loops stopped before they started")
		}
		return nil, fmt.Errorf("listen on %s: %w", strings.Join(cfg.Addrs, ", "), s.runErr)
	}
	var addrs []net.Addr
	for _, a := range cfg.Addrs {
		addr, err := s.boundAddr(a)
		if err != nil {
			_ = s.engine.Stop(context.Background())
			return nil, fmt.Errorf("listen on %s: %w", a, err)
		}
		addrs = append(addrs, addr)
	}
	s.addrs.Store(&addrs)
	return s, nil
}

// boundAddr asks the kernel which address a listener really got, which
// differs from the configured one when the port was 0.
func (s *Server) boundAddr(addr string) (net.Addr, error) {
	fd, err := s.engine.DupListener("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}, nil
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}, nil
	}
	return nil, fmt.Errorf("unexpected socket address type %T", sa)
}

// Addrs returns the bound address of each configured listener, in order,
// or nil while Listen has not returned yet.
func (s *Server) Addrs() []net.Addr {
	if a := s.addrs.Load(); a != nil {
		return *a
	}
	return nil
}

// Shutdown stops taking new connections and new requests, waits until
// every request already received has been answered (or ctx ends), then
// closes every connection and stops the event loops.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var drainErr error
	for s.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			drainErr = fmt.Errorf("netio: %d requests still in flight at shutdown: %w", s.pending.Load(), ctx.Err())
		case <-tick.C:
			continue
		}
		break
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.engine.Stop(stopCtx); err != nil && drainErr == nil {
		drainErr = fmt.Errorf("netio: stopping event loops: %w", err)
	}
	<-s.stopped
	return drainErr
}

// events is the gnet event handler. Its methods run on event loops and
// must never block.
type events struct {
	gnet.BuiltinEventEngine
	srv    *Server
	booted chan struct{}
}

func (e *events) OnBoot(eng gnet.Engine) gnet.Action {
	e.srv.engine = eng
	close(e.booted)
	return gnet.None
}

func (e *events) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := e.srv
	if s.draining.Load() {
		return nil, gnet.Close
	}
	c := newConn(s, gc)
	gc.SetContext(c)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	go c.serveRequests()
	go c.writeReplies()
	return nil, gnet.None
}

func (e *events) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.None
	}
	c.closeQueue()
	if c.partial != nil {
		putBuf(c.partial) // a request cut short
		c.partial = nil
	}
	e.srv.mu.Lock()
	delete(e.srv.conns, c)
	e.srv.mu.Unlock()
	return gnet.None
}

func (e *events) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.Close
	}
	s := e.srv
	if s.draining.Load() {
		// Requests that arrive during shutdown are left unread; the
		// connection closes once what was queued is answered.
		return gnet.None
	}
	for {
		if c.partial != nil {
			// Copy what has arrived straight into the frame being
			// assembled, so gnet's inbound buffer never has to grow to
			// hold a large request, and its bytes are copied once.
			n, _ := gc.Read(c.partial[c.filled:])
			c.filled += n
			if c.filled < len(c.partial) {
				return gnet.None
			}
			frame := c.partial
			c.partial = nil
			s.pending.Add(1)
			c.push(frame)
			continue
		}
		if !c.roomForFrame() {
			return gnet.None // resumed by Wake from the request goroutine
		}
		if gc.InboundBuffered() < 4 {
			return gnet.None
		}
		hdr, err := gc.Peek(4)
		if err != nil {
			return gnet.None
		}
		size := int32(binary.BigEndian.Uint32(hdr))
		if size < 0 || size > s.cfg.MaxFrameBytes {
			s.log.Warn("closing connection: request frame size out of range",
				"remote", c.remote, "size", size, "socket.request.max.bytes", s.cfg.MaxFrameBytes)
			return gnet.Close
		}
		_, _ = gc.Discard(4)
		c.partial, c.filled = getBuf(int(size)), 0
	}
}

// gnetLogger routes gnet's own log lines into slog, at debug level for
// its chatter and at the matching level for its problems.
type gnetLogger struct{ l *slog.Logger }

func (g gnetLogger) Debugf(f string, a ...any) { g.l.Debug("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Infof(f string, a ...any)  { g.l.Debug("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Warnf(f string, a ...any)  { g.l.Warn("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Errorf(f string, a ...any) { g.l.Error("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Fatalf(f string, a ...any) { g.l.Error("gnet: " + fmt.Sprintf(f, a...)) }
