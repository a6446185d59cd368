package kernel

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// countingTagReader is a kmsg.TagReader over a byte slice that counts the
// reads made of it.
type countingTagReader struct {
	src   []byte
	reads int
	bad   bool
}

func (r *countingTagReader) Uvarint() uint32 {
	r.reads++
	if r.reads > 1000 {
		panic("tag reading does not stop at the end of its input")
	}
	var v uint32
	for i, c := range r.src {
		if i == 5 {
			break
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.src = r.src[i+1:]
			return v
		}
	}
	r.bad, r.src = true, nil
	return 0
}

func (r *countingTagReader) Span(n int) []byte {
	r.reads++
	if r.bad || n < 0 || n > len(r.src) {
		r.bad, r.src = true, nil
		return nil
	}
	s := r.src[:n]
	r.src = r.src[n:]
	return s
}

// TestTagCountBoundedByInput checks the patch Runnel carries on kmsg
// (third_party/kmsg): a tagged-field section that claims more fields than
// its bytes can hold stops at the end of the input instead of looping
// over the claimed count, which let one 40-byte request burn seconds of
// CPU.
func TestTagCountBoundedByInput(t *testing.T) {
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x00} // count 2^32-1, then one empty field
	r := &countingTagReader{src: huge}
	kmsg.SkipTags(r)
	if r.reads > 10 {
		t.Fatalf("SkipTags made %d reads of a 7-byte section", r.reads)
	}
	r = &countingTagReader{src: huge}
	tags := kmsg.ReadTags(r)
	if r.reads > 10 || tags.Len() > 1 {
		t.Fatalf("ReadTags made %d reads and kept %d tags from a 7-byte section", r.reads, tags.Len())
	}

	// The fuzzer's input, through a generated decoder (kmsg's internal
	// reader): it must fail. Before the patch this took about 5 s.
	frame := []byte("\x00\x03\x00\f0000\x00\v00000000000\x00\x020000000000000000\x00\xe2\xe2\xe2\xe2\x01")
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	_, body, err := parseRequestHeader(frame, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.ReadFrom(body); err == nil {
		t.Fatal("a truncated Metadata request decoded")
	}
}
