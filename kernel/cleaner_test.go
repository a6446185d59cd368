package kernel

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/runnel-dev/runnel/segments/compact"
)

// TestCompactedTopicKeepsLatestPerKey produces many versions of a few
// keys into a compacted topic, runs the cleaner, and reads the log back:
// every key's latest value is there at its original offset, older
// versions in closed segments are gone, and new produces still land.
func TestCompactedTopicKeepsLatestPerKey(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "cmp", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "300"})
	latest := map[string]int64{}
	for i := 0; i < 60; i++ {
		key := fmt.Sprintf("k%d", i%4)
		r := produce(t, b, -1, "cmp", 0, testBatch(-1, 0, 0, kv{key: []byte(key), value: []byte(fmt.Sprintf("v%02d", i))}))
		if r.ErrorCode != 0 {
			t.Fatalf("produce %d: error %d", i, r.ErrorCode)
		}
		latest[key] = r.BaseOffset
	}
	p := b.topicByName("cmp").partitions[0]
	before := p.log.Size()
	b.compactAll(time.Now())
	if p.log.Size() >= before {
		t.Fatalf("log size %d after cleaning, was %d", p.log.Size(), before)
	}
	// Read everything and decode the records.
	seen := map[string]int64{}
	count := 0
	for off := int64(0); off < p.highWatermark(); {
		fp := fetch(t, b, 12, "cmp", 0, off)
		if fp.ErrorCode != 0 || len(fp.RecordBatches) == 0 {
			t.Fatalf("fetch at %d: error %d, %d bytes", off, fp.ErrorCode, len(fp.RecordBatches))
		}
		for rest := fp.RecordBatches; len(rest) > 0; {
			n := int(binary.BigEndian.Uint32(rest[8:])) + 12
			batch := rest[:n]
			rest = rest[n:]
			base := int64(binary.BigEndian.Uint64(batch))
			recs, err := compact.ReadRecords(nil, batch)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				o := base + int64(r.OffsetDelta)
				if prev, ok := seen[string(r.Key)]; ok && prev >= o {
					t.Fatalf("key %s at offset %d after %d", r.Key, o, prev)
				}
				seen[string(r.Key)] = o
				count++
			}
			off = base + int64(binary.BigEndian.Uint32(batch[23:])) + 1
		}
	}
	for k, o := range latest {
		if seen[k] != o {
			t.Fatalf("key %s: latest at %d, read back at %d", k, o, seen[k])
		}
	}
	if count >= 60 {
		t.Fatalf("%d records after cleaning 60 writes of 4 keys: nothing removed", count)
	}
	if r := produce(t, b, -1, "cmp", 0, testBatch(-1, 0, 0, kv{key: []byte("k0"), value: []byte("after")})); r.ErrorCode != 0 || r.BaseOffset != 60 {
		t.Fatalf("produce after cleaning: error %d base %d", r.ErrorCode, r.BaseOffset)
	}
}
