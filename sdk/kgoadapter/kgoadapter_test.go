package kgoadapter

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel-dev/runnel/sdk"
)

// fakePartitioner maps a key to its length modulo the partition count, and
// an unkeyed record to the last partition. It records what it was asked.
type fakePartitioner struct {
	topics []string
	counts []int32
	fail   error
	pick   int32 // when >= 0, returned for every record
}

func (f *fakePartitioner) Partition(topic string, n int32, keys [][]byte, dst []int32) error {
	f.topics = append(f.topics, topic)
	f.counts = append(f.counts, n)
	if f.fail != nil {
		return f.fail
	}
	for i, k := range keys {
		switch {
		case f.pick >= 0:
			dst[i] = f.pick
		case k == nil:
			dst[i] = n - 1
		default:
			dst[i] = int32(len(k)) % n
		}
	}
	return nil
}

// fakeStickyPartitioner stays on a partition until told a batch closed.
type fakeStickyPartitioner struct {
	current  int32
	newBatch []string
}

func (f *fakeStickyPartitioner) Partition(_ string, n int32, keys [][]byte, dst []int32) error {
	for i := range keys {
		dst[i] = f.current % n
	}
	return nil
}

func (f *fakeStickyPartitioner) OnNewBatch(topic string) {
	f.newBatch = append(f.newBatch, topic)
	f.current++
}

var _ sdk.StatefulPartitioner = (*fakeStickyPartitioner)(nil)

func TestPartitionerAdapterStateless(t *testing.T) {
	fake := &fakePartitioner{pick: -1}
	tp := New("fake", fake).ForTopic("orders")
	if _, ok := tp.(kgo.TopicPartitionerOnNewBatch); ok {
		t.Fatal("a stateless partitioner must not implement OnNewBatch: kgo would lock for nothing")
	}
	if got := tp.Partition(&kgo.Record{Key: []byte("abcde")}, 3); got != 2 {
		t.Errorf("keyed: got %d, want 2", got)
	}
	if got := tp.Partition(&kgo.Record{}, 4); got != 3 {
		t.Errorf("unkeyed: got %d, want 3", got)
	}
	if fake.topics[0] != "orders" || fake.counts[0] != 3 || fake.counts[1] != 4 {
		t.Errorf("partitioner saw topics %q counts %v", fake.topics, fake.counts)
	}
	if !tp.RequiresConsistency(&kgo.Record{Key: []byte{}}) || tp.RequiresConsistency(&kgo.Record{}) {
		t.Error("keyed records need consistency, unkeyed ones do not")
	}
}

func TestPartitionerAdapterStateful(t *testing.T) {
	sticky := &fakeStickyPartitioner{}
	tp := New("sticky", sticky).ForTopic("logs")
	onb, ok := tp.(kgo.TopicPartitionerOnNewBatch)
	if !ok {
		t.Fatal("a stateful partitioner must implement kgo.TopicPartitionerOnNewBatch")
	}
	if got := tp.Partition(&kgo.Record{}, 3); got != 0 {
		t.Fatalf("before OnNewBatch: got %d", got)
	}
	onb.OnNewBatch()
	if got := tp.Partition(&kgo.Record{}, 3); got != 1 {
		t.Fatalf("after OnNewBatch: got %d", got)
	}
	if len(sticky.newBatch) != 1 || sticky.newBatch[0] != "logs" {
		t.Fatalf("OnNewBatch topics = %q", sticky.newBatch)
	}
}

func TestPartitionerAdapterErrors(t *testing.T) {
	boom := errors.New("boom")
	k := New("fake", &fakePartitioner{fail: boom})
	if got := k.ForTopic("t").Partition(&kgo.Record{}, 3); got != -1 {
		t.Fatalf("failing partitioner: got %d, want -1", got)
	}
	if err := k.Err(); !errors.Is(err, boom) || !strings.Contains(err.Error(), `partitioner fake failed for topic "t"`) {
		t.Fatalf("Err = %v", err)
	}

	k = New("fake", &fakePartitioner{pick: 7})
	if got := k.ForTopic("t").Partition(&kgo.Record{}, 3); got != -1 {
		t.Fatalf("out of range pick: got %d, want -1", got)
	}
	if err := k.Err(); err == nil || !strings.Contains(err.Error(), "chose partition 7") {
		t.Fatalf("Err = %v", err)
	}
}

// TestPartitionerAdapterAsksOncePerRecord replays kgo's sequence for a
// record that opens a new batch (Partition, OnNewBatch, Partition again for
// the same record) and checks that a counting partitioner is asked once,
// so a round-robin rotation does not skip partitions.
func TestPartitionerAdapterAsksOncePerRecord(t *testing.T) {
	sticky := &fakeStickyPartitioner{}
	counting := &countingPartitioner{fakeStickyPartitioner: sticky}
	tp := New("rr", counting).ForTopic("t")
	onb := tp.(kgo.TopicPartitionerOnNewBatch)
	var got []int
	for i := 0; i < 6; i++ {
		r := &kgo.Record{}
		pick := tp.Partition(r, 3)
		onb.OnNewBatch() // every record opens a batch
		if again := tp.Partition(r, 3); again != pick {
			t.Fatalf("record %d: first answer %d, second %d", i, pick, again)
		}
		got = append(got, pick)
	}
	if want := []int{0, 1, 2, 0, 1, 2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("partitions %v, want %v", got, want)
	}
	if counting.calls != 6 || len(sticky.newBatch) != 6 {
		t.Fatalf("asked %d times, told of %d new batches; want 6 and 6", counting.calls, len(sticky.newBatch))
	}
}

// countingPartitioner is a round-robin partitioner that counts questions;
// its OnNewBatch (inherited, which only records the call) must not move it.
type countingPartitioner struct {
	*fakeStickyPartitioner
	calls int
	next  int32
}

func (c *countingPartitioner) Partition(_ string, n int32, keys [][]byte, dst []int32) error {
	c.calls++
	for i := range keys {
		dst[i] = c.next % n
		c.next++
	}
	return nil
}
