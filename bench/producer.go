package bench

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// sender is the part of *kgo.Client a producer uses; tests fake it.
type sender interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
	Flush(ctx context.Context) error
}

var _ sender = (*kgo.Client)(nil)

// producer sends the records the schedule hands it through one client,
// and counts acknowledgements in its tally.
type producer struct {
	cl      sender
	topic   string
	sched   *schedule
	payload *payload
	keys    int  // 0: no keys
	stamp   bool // e2e: write the send time into each value
	clock   clock
	rng     *rand.Rand // draws keys; one per producer, so no lock
	tally   *tally
}

// inflight is one record on its way, and the context kgo carries with it.
// kgo hands a promise only the *kgo.Record; the send time travels in
// Record.Context, which kgo keeps for enrichment like this. Being the
// context itself (embedding the run's context, so cancelling still works)
// saves the allocations of context.WithValue: one allocation per record
// holds the record, its send time and its key.
type inflight struct {
	context.Context
	rec  kgo.Record
	sent time.Time
	key  [keyBytes]byte
}

// run produces until the schedule runs out or ctx is done, then waits for
// the outstanding acknowledgements.
func (p *producer) run(ctx context.Context) {
	for ctx.Err() == nil {
		i, ok := p.sched.claim()
		if !ok {
			break
		}
		sent := p.sched.sendTime(ctx, p.clock, i)
		if ctx.Err() != nil {
			break
		}
		f := &inflight{Context: ctx, sent: sent}
		f.rec.Context = f
		f.rec.Topic = p.topic
		if p.stamp {
			f.rec.Value = p.payload.stampedValue(i, sent)
		} else {
			f.rec.Value = p.payload.value(i)
		}
		if p.keys > 0 {
			putKey(&f.key, p.rng.IntN(p.keys))
			f.rec.Key = f.key[:]
		}
		p.cl.Produce(ctx, &f.rec, p.promise)
	}
	// Flush returns when every record is acknowledged or failed, or when
	// ctx is cancelled; the run's stall watchdog bounds the wait.
	_ = p.cl.Flush(ctx)
}

// promise is the kgo callback of every record. kgo calls the promises of a
// client one at a time.
func (p *producer) promise(r *kgo.Record, err error) {
	f := r.Context.(*inflight)
	if err != nil {
		// Records cut short by an interruption or a stall are not the
		// broker's failures.
		if f.Context.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return
		}
		p.tally.fail(err)
		return
	}
	now := p.clock.Now()
	p.tally.done(now, now.Sub(f.sent), len(r.Key)+len(r.Value))
}

// producerOpts are the kgo options of a producer's client.
func producerOpts(cfg *Config, partitions int32) []kgo.Opt {
	acks, _ := acksOf(cfg.Acks)          // validated
	codec, _ := codecOf(cfg.Compression) // validated
	batch := int64(cfg.BatchBytes)
	// Enough buffer for a few batches of every partition in flight, so
	// lingering batches fill while others are sent; more only costs memory.
	buffered := min(max(4*batch*int64(partitions), 64<<20), 1<<30)
	perRecord := int64(cfg.RecordSize) + keyBytes + recordOverhead
	opts := append(baseOpts(cfg),
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.RequiredAcks(acks),
		kgo.ProducerLinger(cfg.Linger),
		kgo.ProducerBatchMaxBytes(cfg.BatchBytes),
		kgo.ProducerBatchCompression(codec),
		kgo.MaxBufferedBytes(int(buffered)),
		// kgo's default of 10,000 records would bind before the byte limit
		// for small records.
		kgo.MaxBufferedRecords(int(min(max(buffered/perRecord, 10_000), 1_000_000))),
		// A produce request carries a batch per partition of the broker.
		kgo.BrokerMaxWriteBytes(int32(max(100<<20, 2*batch))),
		kgo.ProduceRequestTimeout(cfg.Timeout),
		kgo.RecordDeliveryTimeout(cfg.Timeout+cfg.Linger),
	)
	if cfg.Acks != "all" {
		// kgo refuses idempotent writes without acks=all.
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if cfg.Partitioner != nil {
		opts = append(opts, kgo.RecordPartitioner(cfg.Partitioner))
	}
	return opts
}
