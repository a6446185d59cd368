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
// Zero-copy. A reply may carry file chunks (Reply.Files): runs of a file
// spliced into the frame, which is how fetch responses carry record
// batches straight from segment files. The writer sends them with
// sendfile, from the page cache to the socket without a copy through user
// space, when gnet holds no earlier bytes of the connection (gnet has no
// "writable" hook, so that is the only moment the writer can take the
// socket without reordering); otherwise, with Config.CopyFiles, or where
// the kernel refuses sendfile, it reads them into a buffer and writes that
// through gnet. Server.Stats counts the bytes of each path. io_uring is
// not used: sendfile already reaches the zero-copy goal here, and no Go
// io_uring module is available to build on.
//
// netio, with segments, is the only package that talks to x/sys/unix.
package netio
