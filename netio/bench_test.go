package netio

import (
	"encoding/binary"
	"io"
	"testing"
	"time"
)

// ack answers every frame with 4 bytes of body.
type ack struct{}

func (ack) ServeRequest(c *Conn, frame []byte) Reply {
	return Reply{Frame: make([]byte, 8)}
}

// BenchmarkReceiveFrames measures the request side of the network edge
// for a producer's large requests: framing 8 MiB frames (8 partitions ×
// 1 MiB batches) off a loopback socket into pooled buffers, with one
// small reply each. The client writes the next frame while the previous
// reply is in flight, as a pipelining producer does.
func BenchmarkReceiveFrames(b *testing.B) {
	const size = 8 << 20
	s := startServer(b, ack{}, 16<<20)
	c := dial(b, s)
	_ = c.SetDeadline(time.Time{}) // a benchmark may run longer than dial's deadline
	frame := make([]byte, 4+size)
	binary.BigEndian.PutUint32(frame, size)
	replies := make(chan error, 1)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		var r [8]byte
		for i := 0; i < b.N; i++ {
			if _, err := io.ReadFull(c, r[:]); err != nil {
				replies <- err
				return
			}
		}
		replies <- nil
	}()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(frame); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-replies; err != nil {
		b.Fatal(err)
	}
}
