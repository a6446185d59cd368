package netio

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// FileChunk is a run of file bytes that goes into a reply frame: Len
// bytes at Pos of File, sent after Frame[:At] and before Frame[At:] (and
// before later chunks). The file must stay open, and those bytes
// unchanged, until the reply's Done is called.
type FileChunk struct {
	At   int
	File *os.File
	Pos  int64
	Len  int64
}

// Stats counts what the server has written since it started.
type Stats struct {
	// SendfileBytes are file bytes sent with sendfile, never copied
	// through user space.
	SendfileBytes int64
	// CopiedFileBytes are file bytes that were read into a buffer and
	// written from there: zero-copy was off or unsupported, or gnet still
	// held earlier bytes of the connection (see writeFiles).
	CopiedFileBytes int64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{SendfileBytes: s.sendfileBytes.Load(), CopiedFileBytes: s.copiedFileBytes.Load()}
}

// zeroCopy says whether file chunks may go out with sendfile. It starts
// from Config.CopyFiles and turns off for good the first time the kernel
// refuses sendfile for a socket.
type zeroCopy struct {
	off    atomic.Bool
	logged atomic.Bool
}

// pollMillis bounds each wait for a full socket to drain, so a writer
// notices a closed connection.
const pollMillis = 100

// writeFiles writes a reply that has file chunks. Its frame's size field
// is already set.
//
// gnet has no "socket writable" hook and owns the socket's outbound
// buffer, so sendfile may only run when that buffer is empty, or bytes
// would go out of order. The bytes before the first chunk go through gnet
// (AsyncWrite); its callback, which runs on the event loop right after
// gnet wrote or buffered them, tells whether the buffer is empty and, if
// so, hands back a duplicate of the socket descriptor. This goroutine is
// the connection's only writer, so nothing else can reach gnet's buffer
// while it then writes the rest straight to the socket: sendfile for the
// chunks, plain sends for the bytes between them, waiting in poll (here,
// never on an event loop) when the socket is full. The duplicate keeps
// the descriptor from being reused if gnet closes the connection
// meanwhile; the writes then fail and the reply is dropped, as any reply
// to a closed connection is. When gnet's buffer was not empty, the rest is
// copied through gnet, which keeps the order.
func (c *Conn) writeFiles(r Reply, finish func()) {
	s := c.srv
	if s.zc.off.Load() {
		c.writeCopy(r, 0, 0, finish)
		return
	}
	head := r.Frame[:r.Files[0].At]
	got := make(chan int, 1)
	err := c.gc.AsyncWrite(head, func(gc gnet.Conn, err error) error {
		fd := -1
		if err == nil && gc.OutboundBuffered() == 0 {
			if d, derr := unix.FcntlInt(uintptr(gc.Fd()), unix.F_DUPFD_CLOEXEC, 0); derr == nil {
				fd = d
			}
		}
		got <- fd
		return nil
	})
	if err != nil {
		finish()
		return
	}
	var fd int
	select {
	case fd = <-got:
	case <-c.done:
		go func() { // the callback may still run; close what it hands over
			if fd := <-got; fd >= 0 {
				_ = unix.Close(fd)
			}
		}()
		finish()
		return
	}
	if fd < 0 {
		c.writeCopy(r, 0, r.Files[0].At, finish)
		return
	}
	chunk, pos, err := c.sendDirect(fd, r)
	_ = unix.Close(fd)
	switch {
	case err == nil:
		finish()
	case errors.Is(err, errSendfileUnsupported):
		s.zc.off.Store(true)
		s.log.Warn("sendfile refused by the kernel; fetch responses are copied from now on", "error", err)
		c.writeCopy(r, chunk, pos, finish)
	default:
		// The socket failed under us: the connection is gone or going.
		finish()
		if !c.isClosed() {
			c.closeWithReason(fmt.Sprintf("writing a response: %v", err))
		}
	}
}

// errSendfileUnsupported wraps a sendfile error that means this kernel or
// socket cannot do it at all; nothing of the chunk was sent.
var errSendfileUnsupported = errors.New("sendfile unsupported")

// sendDirect writes r from its first chunk to the end straight to the
// socket fd. On failure it returns where it stopped: the chunk index and
// the position in Frame of bytes not yet sent before that chunk (only
// meaningful with errSendfileUnsupported, which leaves that chunk
// untouched).
func (c *Conn) sendDirect(fd int, r Reply) (chunk, framePos int, err error) {
	s := c.srv
	pos := r.Files[0].At
	for i, fc := range r.Files {
		if fc.At > pos {
			if err := c.sendBytes(fd, r.Frame[pos:fc.At]); err != nil {
				return i, pos, err
			}
			pos = fc.At
		}
		n, err := c.sendFile(fd, fc)
		s.sendfileBytes.Add(n)
		if err != nil {
			if n == 0 && errors.Is(err, errSendfileUnsupported) {
				return i, pos, err // nothing of this chunk sent: resumable
			}
			return i, pos, fmt.Errorf("sendfile stopped after %d of %d bytes: %v", n, fc.Len, err)
		}
	}
	if s.zc.logged.CompareAndSwap(false, true) {
		s.log.Info("fetch responses use sendfile: record bytes go from the page cache to the socket without a copy")
	}
	if pos < len(r.Frame) {
		return len(r.Files), pos, c.sendBytes(fd, r.Frame[pos:])
	}
	return len(r.Files), pos, nil
}

// sendBytes writes b to the non-blocking socket fd, waiting while it is
// full.
func (c *Conn) sendBytes(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.SendmsgN(fd, b, nil, nil, unix.MSG_NOSIGNAL)
		if n > 0 {
			b = b[n:]
		}
		switch {
		case err == unix.EAGAIN:
			if err := c.waitWritable(fd); err != nil {
				return err
			}
		case err == unix.EINTR:
		case err != nil:
			return err
		}
	}
	return nil
}

// sendFile sends one chunk with sendfile and returns the bytes sent.
func (c *Conn) sendFile(fd int, fc FileChunk) (int64, error) {
	in := int(fc.File.Fd())
	defer runtime.KeepAlive(fc.File)
	off, left := fc.Pos, fc.Len
	var sent int64
	for left > 0 {
		n, err := unix.Sendfile(fd, in, &off, int(min(left, 1<<30)))
		if n > 0 {
			sent += int64(n)
			left -= int64(n)
		}
		switch {
		case err == unix.EAGAIN:
			if err := c.waitWritable(fd); err != nil {
				return sent, err
			}
		case err == unix.EINTR:
		case err == unix.EINVAL || err == unix.ENOSYS || err == unix.EOPNOTSUPP:
			return sent, fmt.Errorf("%w: %v", errSendfileUnsupported, err)
		case err != nil:
			return sent, err
		case n == 0:
			// The file is shorter than the chunk: the caller promised
			// these bytes stay put, so this is a bug, not a retry.
			return sent, fmt.Errorf("sendfile: file ended %d bytes early", left)
		}
	}
	return sent, nil
}

// waitWritable blocks until fd can take more bytes, or fails once the
// connection is closed.
func (c *Conn) waitWritable(fd int) error {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		if c.isClosed() {
			return errors.New("connection closed")
		}
		n, err := unix.Poll(pfd, pollMillis)
		if err == unix.EINTR || n == 0 {
			continue
		}
		if err != nil {
			return err
		}
		if pfd[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 && pfd[0].Revents&unix.POLLOUT == 0 {
			return errors.New("socket error or hang-up")
		}
		return nil
	}
}

// writeCopy writes the rest of r through gnet with its file bytes copied:
// everything from Frame[framePos:] on, with chunks from index chunk. The
// bytes of Frame before framePos have been sent already.
func (c *Conn) writeCopy(r Reply, chunk, framePos int, finish func()) {
	size := len(r.Frame) - framePos
	for _, fc := range r.Files[chunk:] {
		size += int(fc.Len)
	}
	buf := getBuf(size)
	out := buf[:0]
	pos := framePos
	for _, fc := range r.Files[chunk:] {
		out = append(out, r.Frame[pos:fc.At]...)
		pos = fc.At
		n := len(out)
		out = out[:n+int(fc.Len)]
		if _, err := fc.File.ReadAt(out[n:], fc.Pos); err != nil {
			putBuf(buf)
			finish()
			c.closeWithReason(fmt.Sprintf("reading %d bytes at %d of %s for a response: %v", fc.Len, fc.Pos, fc.File.Name(), err))
			return
		}
		c.srv.copiedFileBytes.Add(fc.Len)
	}
	out = append(out, r.Frame[pos:]...)
	err := c.gc.AsyncWrite(out, func(gnet.Conn, error) error {
		putBuf(buf)
		finish()
		return nil
	})
	if err != nil {
		putBuf(buf)
		finish()
	}
}

// frameSize is the value of a reply frame's size field: everything after
// it, file chunks included.
func frameSize(r Reply) uint32 {
	n := int64(len(r.Frame) - 4)
	for _, fc := range r.Files {
		n += fc.Len
	}
	return uint32(n)
}
