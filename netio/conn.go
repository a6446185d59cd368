package netio

import (
	"encoding/binary"
	"fmt"
	"net"
	"runtime/debug"
	"sync"

	"github.com/panjf2000/gnet/v2"
)

// Conn is one client connection as the Handler sees it.
type Conn struct {
	id     uint64
	srv    *Server
	gc     gnet.Conn
	remote net.Addr
	local  net.Addr
	done   chan struct{} // closed when the connection is closed

	// Value is the Handler's per-connection state. Only the request
	// goroutine touches it, so it needs no lock.
	Value any

	// partial is the request frame being assembled from the socket and
	// filled how much of it has arrived; only the event loop touches them.
	partial []byte
	filled  int

	// mu guards queue, queuedBytes, closed and paused.
	mu          sync.Mutex
	queue       [][]byte
	queuedBytes int
	closed      bool
	paused      bool // OnTraffic stopped framing because the queue was full
	ready       chan struct{}

	replies chan Reply // request goroutine → writer goroutine, in order
}

func newConn(s *Server, gc gnet.Conn) *Conn {
	return &Conn{
		id:      s.nextID.Add(1),
		srv:     s,
		gc:      gc,
		remote:  gc.RemoteAddr(),
		local:   gc.LocalAddr(),
		done:    make(chan struct{}),
		ready:   make(chan struct{}, 1),
		replies: make(chan Reply, 64),
	}
}

// ID is a number unique to this connection within its server.
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr is the client's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// LocalAddr is the broker's end of the connection.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// Done is closed when the connection closes; handlers that park a
// request watch it to give up early.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Draining reports whether the server is shutting down; handlers that park
// requests answer them at once when it is.
func (c *Conn) Draining() bool { return c.srv.draining.Load() }

// roomForFrame reports whether OnTraffic may queue another frame, and
// marks the connection paused when it may not. Runs on the event loop.
func (c *Conn) roomForFrame() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 || (len(c.queue) < maxQueuedFrames && c.queuedBytes < maxQueuedBytes) {
		return true
	}
	c.paused = true
	return false
}

// push queues a frame for the request goroutine. Runs on the event loop.
func (c *Conn) push(frame []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		putBuf(frame)
		c.srv.pending.Add(-1)
		return
	}
	c.queue = append(c.queue, frame)
	c.queuedBytes += len(frame)
	c.mu.Unlock()
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

// pop blocks until a frame is queued, or returns false once the
// connection is closed and every frame it had delivered has been served.
func (c *Conn) pop() ([]byte, bool) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			f := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.queuedBytes -= len(f)
			wake := c.paused && !c.closed && len(c.queue) < maxQueuedFrames/2 && c.queuedBytes < maxQueuedBytes/2
			if wake {
				c.paused = false
			}
			c.mu.Unlock()
			if wake {
				// Ask the event loop to run OnTraffic again for the
				// bytes it left unframed.
				_ = c.gc.Wake(nil)
			}
			return f, true
		}
		if c.closed {
			c.mu.Unlock()
			return nil, false
		}
		c.mu.Unlock()
		select {
		case <-c.ready:
		case <-c.done:
		}
	}
}

// closeQueue marks the connection closed. Frames already received are
// still served, as Kafka serves requests it has read from a connection
// that then went away (an acks=0 produce must not be lost to a quick
// disconnect); only their replies are dropped. Runs on the event loop
// (OnClose).
func (c *Conn) closeQueue() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	close(c.done)
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// serveRequests is the connection's request goroutine.
func (c *Conn) serveRequests() {
	defer close(c.replies)
	for {
		frame, ok := c.pop()
		if !ok {
			return
		}
		r := c.serveOne(frame)
		putBuf(frame)
		if r.Frame == nil && r.Wait == nil && r.CloseReason == "" {
			c.srv.pending.Add(-1) // nothing to send (acks=0)
			continue
		}
		c.replies <- r
	}
}

// serveOne calls the handler. A panic here is a bug in the handler, which
// is expected to recover per request itself; this is the last line, and it
// closes the connection rather than risk a wrong answer.
func (c *Conn) serveOne(frame []byte) (r Reply) {
	defer func() {
		if p := recover(); p != nil {
			c.srv.log.Error("request handler panicked; closing connection",
				"remote", c.remote, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			r = Reply{CloseReason: "handler panic"}
		}
	}()
	return c.srv.cfg.Handler.ServeRequest(c, frame)
}

// writeReplies is the connection's writer goroutine: it writes replies in
// the order the request goroutine produced them.
func (c *Conn) writeReplies() {
	for r := range c.replies {
		for r.Wait != nil && !c.isClosed() {
			wait, done := r.Wait, r.Done
			r = wait()
			if done != nil {
				prev := r.Done
				r.Done = func() {
					done()
					if prev != nil {
						prev()
					}
				}
			}
		}
		c.write(r)
	}
}

// write hands one reply to the event loop, or drops it when the
// connection is gone.
func (c *Conn) write(r Reply) {
	finish := func() {
		if r.Done != nil {
			r.Done()
		}
		c.srv.pending.Add(-1)
	}
	if c.isClosed() || r.Frame == nil || r.Wait != nil {
		finish()
		if r.CloseReason != "" && !c.isClosed() {
			c.closeWithReason(r.CloseReason)
		}
		return
	}
	binary.BigEndian.PutUint32(r.Frame, frameSize(r))
	if len(r.Files) > 0 {
		c.writeFiles(r, finish)
		if r.CloseReason != "" {
			c.closeWithReason(r.CloseReason)
		}
		return
	}
	err := c.gc.AsyncWrite(r.Frame, func(gnet.Conn, error) error {
		finish()
		return nil
	})
	if err != nil {
		finish()
	}
	if r.CloseReason != "" {
		c.closeWithReason(r.CloseReason)
	}
}

func (c *Conn) closeWithReason(reason string) {
	c.srv.log.Warn("closing connection", "remote", c.remote, "reason", reason)
	_ = c.gc.CloseWithCallback(nil)
}
