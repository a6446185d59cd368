package netio

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// fileServer answers a request naming a size with a reply made of a
// short header, then chunks of its file interleaved with small byte runs,
// so that the client can check every byte and its order. A request "big
// N" is answered with N plain bytes instead, filling gnet's outbound
// buffer when the client does not read.
type fileServer struct {
	file     *os.File
	content  []byte
	built    atomic.Int64 // replies made (a deferred one only once its Wait runs)
	released atomic.Int64
}

// reply builds the frame for a request with sequence number seq: header
// "hdr" + seq, then for each chunk a 3-byte marker and the chunk's bytes,
// then "end".
func (h *fileServer) reply(seq uint32, chunks [][2]int64) Reply {
	h.built.Add(1)
	frame := append([]byte{0, 0, 0, 0}, "hdr"...)
	frame = binary.BigEndian.AppendUint32(frame, seq)
	var files []FileChunk
	for i, ch := range chunks {
		frame = append(frame, 'c', byte(i), '|')
		files = append(files, FileChunk{At: len(frame), File: h.file, Pos: ch[0], Len: ch[1]})
	}
	frame = append(frame, "end"...)
	return Reply{Frame: frame, Files: files, Done: func() { h.released.Add(1) }}
}

// expect is what the client should read for reply(seq, chunks).
func (h *fileServer) expect(seq uint32, chunks [][2]int64) []byte {
	want := append([]byte("hdr"), binary.BigEndian.AppendUint32(nil, seq)...)
	for i, ch := range chunks {
		want = append(want, 'c', byte(i), '|')
		want = append(want, h.content[ch[0]:ch[0]+ch[1]]...)
	}
	return append(want, "end"...)
}

// chunksFor derives a reply's chunks from its sequence number, so server
// and client agree without sharing state.
func chunksFor(seq uint32, size int64) [][2]int64 {
	rng := rand.New(rand.NewPCG(uint64(seq), 7))
	n := 1 + rng.IntN(3)
	out := make([][2]int64, n)
	for i := range out {
		pos := rng.Int64N(size - 1)
		out[i] = [2]int64{pos, 1 + rng.Int64N(min(size-pos, 3<<20))}
	}
	return out
}

func (h *fileServer) ServeRequest(c *Conn, frame []byte) Reply {
	if bytes.HasPrefix(frame, []byte("big")) {
		n := binary.BigEndian.Uint32(frame[3:])
		out := make([]byte, 4+n)
		for i := range out[4:] {
			out[4+i] = byte(i)
		}
		return Reply{Frame: out}
	}
	seq := binary.BigEndian.Uint32(frame)
	chunks := chunksFor(seq, int64(len(h.content)))
	if seq%4 == 1 {
		// Deferred: later requests are served meanwhile, and the
		// replies must still come back in order.
		return Reply{Wait: func() Reply {
			time.Sleep(time.Millisecond)
			return h.reply(seq, chunks)
		}}
	}
	return h.reply(seq, chunks)
}

func newFileServer(t *testing.T, size int) *fileServer {
	t.Helper()
	content := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	path := filepath.Join(t.TempDir(), "segment")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &fileServer{file: f, content: content}
}

func startFileServer(t *testing.T, h Handler, copyFiles bool) *Server {
	t.Helper()
	s, err := Listen(Config{
		Addrs:      []string{"127.0.0.1:0"},
		EventLoops: 2,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handler:    h,
		CopyFiles:  copyFiles,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func TestFileRepliesArriveWholeAndInOrder(t *testing.T) {
	for _, tc := range []struct {
		name      string
		copyFiles bool
	}{{"sendfile", false}, {"copy", true}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newFileServer(t, 8<<20)
			s := startFileServer(t, h, tc.copyFiles)
			c := dial(t, s)
			const n = 40
			var all []byte
			var wantFile int64
			for i := uint32(0); i < n; i++ {
				all = append(all, frameOf(binary.BigEndian.AppendUint32(nil, i))...)
				for _, ch := range chunksFor(i, int64(len(h.content))) {
					wantFile += ch[1]
				}
			}
			go func() { _, _ = c.Write(all) }()
			for i := uint32(0); i < n; i++ {
				if i%8 == 0 {
					// A slow reader: the socket fills, and sendfile
					// must wait for it without reordering anything.
					time.Sleep(20 * time.Millisecond)
				}
				got := readFrame(t, c)
				if want := h.expect(i, chunksFor(i, int64(len(h.content)))); !bytes.Equal(got, want) {
					t.Fatalf("reply %d: %d bytes differ from the %d expected", i, len(got), len(want))
				}
			}
			waitFor(t, func() bool { return h.released.Load() == n })
			st := s.Stats()
			if st.SendfileBytes+st.CopiedFileBytes != wantFile {
				t.Fatalf("stats count %d sendfile + %d copied bytes, sent %d", st.SendfileBytes, st.CopiedFileBytes, wantFile)
			}
			if tc.copyFiles && st.SendfileBytes != 0 {
				t.Fatalf("CopyFiles set, yet %d bytes went by sendfile", st.SendfileBytes)
			}
			if !tc.copyFiles && st.SendfileBytes == 0 {
				t.Fatal("nothing went by sendfile")
			}
		})
	}
}

// TestFileReplyBehindBufferedBytesIsCopied: when gnet still holds bytes
// of an earlier reply, a file reply must not jump ahead of them with
// sendfile; it is copied through gnet instead.
func TestFileReplyBehindBufferedBytesIsCopied(t *testing.T) {
	h := newFileServer(t, 4<<20)
	s := startFileServer(t, h, false)
	c := dial(t, s)
	const big = 48 << 20 // more than the loopback socket buffers hold
	req := append([]byte("big"), binary.BigEndian.AppendUint32(nil, big)...)
	all := frameOf(req)
	all = append(all, frameOf(binary.BigEndian.AppendUint32(nil, 2))...)
	if _, err := c.Write(all); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let gnet buffer the big reply
	got := readFrame(t, c)
	if len(got) != big || got[big-1] != byte((big-1)%256) {
		t.Fatalf("big reply: %d bytes", len(got))
	}
	if want := h.expect(2, chunksFor(2, int64(len(h.content)))); !bytes.Equal(readFrame(t, c), want) {
		t.Fatal("file reply differs")
	}
	if st := s.Stats(); st.CopiedFileBytes == 0 {
		t.Fatalf("file reply behind buffered bytes was not copied: %+v", st)
	}
}

// TestFileReplyToClosedConnectionIsReleased: a client that goes away
// mid-reply gets its replies dropped, and their files released.
func TestFileReplyToClosedConnectionIsReleased(t *testing.T) {
	h := newFileServer(t, 8<<20)
	s := startFileServer(t, h, false)
	c := dial(t, s)
	const n = 20
	var all []byte
	for i := uint32(0); i < n; i++ {
		all = append(all, frameOf(binary.BigEndian.AppendUint32(nil, i))...)
	}
	if _, err := c.Write(all); err != nil {
		t.Fatal(err)
	}
	readFrame(t, c)
	c.Close()
	// Every reply made is released; deferred ones not yet made when the
	// connection closed are never made.
	waitFor(t, func() bool { return h.built.Load() >= n-n/4 && h.released.Load() == h.built.Load() })
	// The server still serves others.
	c2 := dial(t, s)
	if _, err := c2.Write(frameOf(binary.BigEndian.AppendUint32(nil, 0))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFrame(t, c2), h.expect(0, chunksFor(0, int64(len(h.content))))) {
		t.Fatal("reply on a new connection differs")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
