package segments

import "testing"

func TestAppendAllocs(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{})
	defer l.Close()
	b := testBatch(16, make([]byte, 1024))
	mustAppend(t, l, b) // first append may size the index
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := l.Append(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Append allocates %v times per call", allocs)
	}
}

func TestAppendReadAllocs(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 64 << 10})
	defer l.Close()
	appendMany(t, l, 500)
	end := l.EndOffset()
	dst := make([]byte, 0, 1<<20)
	off := int64(0)
	allocs := testing.AllocsPerRun(200, func() {
		var err error
		if dst, err = l.AppendRead(dst[:0], off, 1<<20); err != nil {
			t.Fatal(err)
		}
		off = (off + 97) % end
	})
	if allocs != 0 {
		t.Fatalf("AppendRead allocates %v times per call", allocs)
	}
}
