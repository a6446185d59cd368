// Package kgoadapter turns any sdk.Partitioner, builtin or served by a
// plugin process, into the kgo.Partitioner franz-go's producer calls, so a
// Go application partitions exactly as Runnel's own tools do.
//
//	p, _ := plugins.NewPartitioner("murmur2") // or an external plugin's client
//	cl, _ := kgo.NewClient(kgo.RecordPartitioner(kgoadapter.New("murmur2", p)), ...)
//
// kgo asks for one record at a time, so each call is a batch of one key:
// with a partitioner in another process that is one round trip per
// record. Prefer a builtin (or partition whole batches with the sdk
// interface directly) where records are many.
package kgoadapter

import (
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel-dev/runnel/sdk"
)

// Partitioner adapts an sdk.Partitioner, which Runnel's extensions
// implement, to the kgo.Partitioner the franz-go producer calls.
//
// A partitioner that fails cannot report an error through kgo's interface:
// the adapter then returns an invalid partition, which makes kgo fail the
// record, and keeps the first error for Err so the operator sees the real
// cause rather than kgo's "invalid record partitioning choice".
type Partitioner struct {
	// mu serializes calls into p. kgo serializes calls per topic only, and
	// sdk partitioners are not required to be safe for concurrent use.
	mu   sync.Mutex
	p    sdk.Partitioner
	name string // for error messages
	keys [1][]byte
	dst  [1]int32
	err  error // first failure, guarded by mu
}

// New returns the kgo.Partitioner of p; name appears in its errors.
func New(name string, p sdk.Partitioner) *Partitioner {
	return &Partitioner{p: p, name: name}
}

// ForTopic implements kgo.Partitioner. The returned partitioner implements
// kgo.TopicPartitionerOnNewBatch only if p is an sdk.StatefulPartitioner:
// kgo holds a lock across buffering for partitioners that do, which costs
// concurrency for nothing when the partitioner has no state to move on.
func (k *Partitioner) ForTopic(topic string) kgo.TopicPartitioner {
	tp := &topicPartitioner{parent: k, topic: topic}
	if sp, ok := k.p.(sdk.StatefulPartitioner); ok {
		return &statefulTopicPartitioner{topicPartitioner: tp, sp: sp}
	}
	return tp
}

// Err returns the first error the partitioner reported, if any.
func (k *Partitioner) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}

// partition asks p for the partition of key among n and returns it, or -1
// after recording why there is none.
func (k *Partitioner) partition(topic string, n int, key []byte) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[0], k.dst[0] = key, -1
	err := k.p.Partition(topic, int32(n), k.keys[:], k.dst[:])
	k.keys[0] = nil // do not keep the record's key alive
	if err != nil {
		k.fail(fmt.Errorf("partitioner %s failed for topic %q: %w", k.name, topic, err))
		return -1
	}
	pick := int(k.dst[0])
	if pick < 0 || pick >= n {
		k.fail(fmt.Errorf("partitioner %s chose partition %d of topic %q, which has %d partitions available",
			k.name, pick, topic, n))
		return -1
	}
	return pick
}

// fail records err unless an earlier error is already recorded. mu is held.
func (k *Partitioner) fail(err error) {
	if k.err == nil {
		k.err = err
	}
}

// topicPartitioner is the kgo.TopicPartitioner of one topic.
type topicPartitioner struct {
	parent *Partitioner
	topic  string
}

// RequiresConsistency tells kgo that a keyed record must go to the
// partition its key maps to among all partitions, even one that is
// currently unwritable: moving it would break per-key ordering. An unkeyed
// record may go to any writable partition, and then n counts only those.
func (t *topicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return r.Key != nil
}

// Partition implements kgo.TopicPartitioner.
func (t *topicPartitioner) Partition(r *kgo.Record, n int) int {
	return t.parent.partition(t.topic, n, r.Key)
}

// statefulTopicPartitioner also forwards kgo's new-batch notifications, so
// a sticky partitioner moves on when the producer opens a batch.
//
// kgo calls OnNewBatch in the middle of placing a record: it asks
// Partition, finds that the record would open a new batch, calls
// OnNewBatch, and asks Partition again for the same record. The sdk
// promises a partitioner one question per record, and one that counts
// records (round-robin) would skip a partition on every new batch if asked
// twice, the bug Kafka had as KAFKA-9965. So the second question is
// answered with the first answer: the record goes where the partitioner
// sent it, and the partitioner's move applies from the next record on.
type statefulTopicPartitioner struct {
	*topicPartitioner
	sp sdk.StatefulPartitioner

	// kgo serializes calls per topic, so these need no lock.
	last     *kgo.Record // the record of the last Partition call
	lastPick int
	reask    bool // OnNewBatch came after the last Partition call
}

// Partition implements kgo.TopicPartitioner.
func (s *statefulTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if s.reask && r == s.last && s.lastPick < n {
		s.reask, s.last = false, nil
		return s.lastPick
	}
	s.reask = false
	s.last, s.lastPick = r, s.topicPartitioner.Partition(r, n)
	return s.lastPick
}

// OnNewBatch implements kgo.TopicPartitionerOnNewBatch.
func (s *statefulTopicPartitioner) OnNewBatch() {
	s.parent.mu.Lock()
	s.sp.OnNewBatch(s.topic)
	s.parent.mu.Unlock()
	s.reask = true
}

var (
	_ kgo.Partitioner                = (*Partitioner)(nil)
	_ kgo.TopicPartitioner           = (*topicPartitioner)(nil)
	_ kgo.TopicPartitionerOnNewBatch = (*statefulTopicPartitioner)(nil)
)
