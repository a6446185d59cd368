// Package netio owns Runnel's network edge: gnet event loops, Kafka
// framing, and per-connection request ordering.
//
// The wire format it frames is Kafka's: every request and response is a
// 4-byte big-endian size followed by that many bytes. netio knows nothing
// else of the protocol; it hands whole request frames to a Handler and
// writes back the frames the Handler returns.
//
// Threading model. Event loops only frame bytes: OnTraffic cuts complete
// frames out of gnet's inbound buffer, copies each into a pooled buffer and
// queues it on its connection. Each connection has a request goroutine that
// calls the Handler for one frame at a time, in arrival order (as Kafka
// does: a connection's requests are processed in order), and a writer
// goroutine that writes replies in that same order. A Handler may return a
// reply whose bytes are not ready yet (Reply.Wait): the request goroutine
// moves on to the next request while the writer waits, so a client that
// pipelines requests (produce with acks=all, for example) gets them
// processed back to back, with responses still strictly in request order.
//
// Frames larger than Config.MaxFrameBytes, or with a negative size, close
// the connection; the reason is logged. When a connection's queue of
// unprocessed frames is full, OnTraffic stops framing and leaves the bytes
// in gnet's buffer until the request goroutine catches up and wakes the
// connection.
//
// netio, with segments, is the only package that talks to x/sys/unix.
package netio
