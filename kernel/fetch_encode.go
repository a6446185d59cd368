package kernel

import (
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/valyala/bytebufferpool"

	"github.com/runnel-dev/runnel/netio"
	"github.com/runnel-dev/runnel/segments"
)

// fileFetch is a fetch answer whose record bytes stay in segment files:
// the response is encoded around them and netio sends them with sendfile
// (netio.FileChunk). It embeds the response so the router treats it as
// any other; encode recognises it.
type fileFetch struct {
	*kmsg.FetchResponse
	// ranges[i] holds partition i's record batches (partitions counted
	// across topics in response order). A partition without ranges
	// uses its RecordBatches.
	ranges   [][]segments.FileRange
	releases []func()
}

// release gives back the segment references the ranges hold. Call it once
// the ranges have been sent, or when the answer is dropped.
func (f *fileFetch) release() {
	for _, r := range f.releases {
		r()
	}
	f.releases = nil
}

// encodeFetch frames a fileFetch: the bytes around the records go in a
// pooled buffer and each range becomes a netio.FileChunk.
func (b *Broker) encodeFetch(version int16, correlation int32, f *fileFetch) netio.Reply {
	f.SetVersion(version)
	bb := bytebufferpool.Get()
	buf := append(bb.B[:0], 0, 0, 0, 0)
	buf = appendResponseHeader(buf, apiKeyFetch, f.IsFlexible(), correlation)
	buf, chunks := appendFetchResponse(buf, f, nil)
	bb.B = buf
	return netio.Reply{Frame: buf, Files: chunks, Done: func() {
		bytebufferpool.Put(bb)
		f.release()
	}}
}

// appendFetchResponse encodes f at its version exactly as kmsg's AppendTo
// would (a differential test holds it to that), except that a partition's
// ranges are not copied in: they are returned as chunks placed where
// their bytes belong.
//
// It covers the fields the broker fills: no aborted transactions (nil),
// no tagged fields (diverging epoch, current leader, snapshot id, node
// endpoints), which readFetch never sets. Being hand-written, it also
// skips the reflection kmsg does per partition to decide which tags to
// write.
func appendFetchResponse(dst []byte, f *fileFetch, chunks []netio.FileChunk) ([]byte, []netio.FileChunk) {
	version := f.Version
	flexible := version >= 12
	appendLen := func(dst []byte, n int) []byte {
		if flexible {
			return kbin.AppendCompactArrayLen(dst, n)
		}
		return kbin.AppendArrayLen(dst, n)
	}
	if version >= 1 {
		dst = kbin.AppendInt32(dst, f.ThrottleMillis)
	}
	if version >= 7 {
		dst = kbin.AppendInt16(dst, f.ErrorCode)
		dst = kbin.AppendInt32(dst, f.SessionID)
	}
	dst = appendLen(dst, len(f.Topics))
	i := 0
	for ti := range f.Topics {
		t := &f.Topics[ti]
		if version <= 12 {
			if flexible {
				dst = kbin.AppendCompactString(dst, t.Topic)
			} else {
				dst = kbin.AppendString(dst, t.Topic)
			}
		} else {
			dst = kbin.AppendUuid(dst, t.TopicID)
		}
		dst = appendLen(dst, len(t.Partitions))
		for pi := range t.Partitions {
			p := &t.Partitions[pi]
			dst = kbin.AppendInt32(dst, p.Partition)
			dst = kbin.AppendInt16(dst, p.ErrorCode)
			dst = kbin.AppendInt64(dst, p.HighWatermark)
			if version >= 4 {
				dst = kbin.AppendInt64(dst, p.LastStableOffset)
			}
			if version >= 5 {
				dst = kbin.AppendInt64(dst, p.LogStartOffset)
			}
			if version >= 4 {
				// Aborted transactions: null.
				if flexible {
					dst = kbin.AppendCompactNullableArrayLen(dst, 0, true)
				} else {
					dst = kbin.AppendNullableArrayLen(dst, 0, true)
				}
			}
			if version >= 11 {
				dst = kbin.AppendInt32(dst, p.PreferredReadReplica)
			}
			var ranges []segments.FileRange
			if i < len(f.ranges) {
				ranges = f.ranges[i]
			}
			i++
			if ranges == nil {
				if flexible {
					dst = kbin.AppendCompactNullableBytes(dst, p.RecordBatches)
				} else {
					dst = kbin.AppendNullableBytes(dst, p.RecordBatches)
				}
			} else {
				var n int64
				for _, r := range ranges {
					n += r.Len
				}
				if flexible {
					dst = kbin.AppendUvarint(dst, uint32(n)+1)
				} else {
					dst = kbin.AppendInt32(dst, int32(n))
				}
				for _, r := range ranges {
					chunks = append(chunks, netio.FileChunk{At: len(dst), File: r.File, Pos: r.Pos, Len: r.Len})
				}
			}
			if flexible {
				dst = append(dst, 0) // no partition tags
			}
		}
		if flexible {
			dst = append(dst, 0) // no topic tags
		}
	}
	if flexible {
		dst = append(dst, 0) // no response tags
	}
	return dst, chunks
}
