package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrInterrupted is returned, wrapped, when the caller's context ends a run
// early. The Result then holds the figures up to that point.
var ErrInterrupted = errors.New("interrupted")

// Run runs the benchmark cfg describes and writes progress lines to
// progress (nil discards them). It returns the zero Result with the error
// if the run could not start: bad settings, no broker at the address, a
// topic of the wrong shape. Once measuring began it returns what was
// measured, also alongside an error: ErrInterrupted when ctx was cancelled,
// a stall, a run where every record failed, a broker reading or profile
// that could not be taken.
func Run(ctx context.Context, cfg Config, progress io.Writer) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if progress == nil {
		progress = io.Discard
	}
	r := &runner{cfg: &cfg, clock: realClock{}, out: progress}
	defer r.close()
	if err := r.prepare(ctx); err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("%w before the run started", ErrInterrupted)
		}
		return Result{}, err
	}
	return r.measure(ctx)
}

// runner holds one run from preparation to result.
type runner struct {
	cfg   *Config
	clock clock
	out   io.Writer

	clients    []*kgo.Client // every client, closed at the end
	partitions int32
	sched      *schedule
	goal       *goal // consumers' target; nil when reading up to the end offsets
	producers  []*producer
	consumers  []*consumer
	stats      statsSource // nil: no broker figures
	prof       *profiler   // nil: no profile
}

// prepare does everything that may fail before the window opens.
func (r *runner) prepare(ctx context.Context) error {
	cfg := r.cfg
	// kgo answers metadata requests from a cache for MetadataMinAge (5s
	// by default), which would hide a topic just created for that long.
	cl, err := r.newClient(append(baseOpts(cfg), kgo.MetadataMinAge(50*time.Millisecond))...)
	if err != nil {
		return err
	}
	if err := checkBroker(ctx, cfg, cl); err != nil {
		return err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(min(cfg.Timeout.Milliseconds(), 1<<31-1)))
	if r.partitions, err = prepareTopic(ctx, cfg, adm); err != nil {
		return err
	}
	if cfg.produces() {
		if err := r.makeProducers(); err != nil {
			return err
		}
	}
	if cfg.consumes() {
		if err := r.makeConsumers(ctx, adm); err != nil {
			return err
		}
	}
	r.stats = statsSourceFor(cfg)
	if cfg.ProfileFile != "" {
		if r.prof, err = newProfiler(cfg.AdminURL, cfg.ProfileFile, cfg.Timeout); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) newClient(opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot set up the Kafka client: %w", err)
	}
	r.clients = append(r.clients, cl)
	return cl, nil
}

func (r *runner) makeProducers() error {
	cfg := r.cfg
	pl := newPayload(cfg.RecordSize, cfg.BatchBytes, r.partitions)
	// The schedule's start is set when the window opens.
	r.sched = newSchedule(cfg.Records, cfg.Rate, time.Time{})
	for i := range cfg.Producers {
		cl, err := r.newClient(producerOpts(cfg, r.partitions)...)
		if err != nil {
			return err
		}
		r.producers = append(r.producers, &producer{
			cl: cl, topic: cfg.Topic, sched: r.sched, payload: pl, keys: cfg.Keys,
			stamp: cfg.Workload == EndToEnd, clock: r.clock, tally: newTally(),
			rng: rand.New(rand.NewPCG(rand.Uint64(), uint64(i))),
		})
	}
	return nil
}

// makeConsumers sets up the consumers: consume reads from the start of
// each partition, e2e from the end as it is now, so that it reads only
// what its producers send.
func (r *runner) makeConsumers(ctx context.Context, adm *kadm.Client) error {
	cfg := r.cfg
	starts, ends, err := offsets(ctx, cfg, adm)
	if err != nil {
		return err
	}
	untilEnd := cfg.Workload == Consume && cfg.Records == 0
	at := func(p int32) kgo.Offset { return kgo.NewOffset().At(starts[p]) }
	if cfg.Workload == EndToEnd {
		at = func(p int32) kgo.Offset { return kgo.NewOffset().At(ends[p]) }
	}
	if !untilEnd {
		r.goal = newGoal(cfg.Records)
	}
	var parts []int32
	for p := range ends {
		if !untilEnd || ends[p] > starts[p] {
			parts = append(parts, p)
		}
	}
	idle := 0
	for _, assigned := range assign(parts, cfg.Consumers, at) {
		if len(assigned) == 0 {
			idle++
		}
		c := &consumer{topic: cfg.Topic, assigned: assigned, goal: r.goal, stamped: cfg.Workload == EndToEnd,
			clock: r.clock, tally: newTally()}
		if untilEnd {
			c.ends = map[int32]int64{}
			for p := range assigned {
				c.ends[p] = ends[p]
			}
		}
		switch {
		case len(assigned) > 0 && cfg.Raw:
			if c.rawClient, err = r.newClient(baseOpts(cfg)...); err != nil { // for metadata only
				return err
			}
			c.rawStarts = map[int32]int64{}
			for p := range assigned {
				c.rawStarts[p] = starts[p]
			}
		case len(assigned) > 0:
			if c.cl, err = r.newClient(consumerOpts(cfg)...); err != nil {
				return err
			}
		}
		r.consumers = append(r.consumers, c)
	}
	if idle > 0 && len(parts) > 0 {
		fmt.Fprintf(r.out, "note: %d of %d consumers have no partition to read (the topic has %d)\n",
			idle, cfg.Consumers, r.partitions)
	}
	return nil
}

// close closes every client. kgo fails the records still buffered, which
// only happens after an interruption or a stall.
func (r *runner) close() {
	var wg sync.WaitGroup
	for _, cl := range r.clients {
		wg.Go(cl.Close)
	}
	wg.Wait()
	if r.prof != nil {
		r.prof.abandon() // keeps a profile that was written
	}
}

// measure opens the window, runs the workload, and builds the result.
func (r *runner) measure(ctx context.Context) (Result, error) {
	cfg := r.cfg
	var mon *monitor
	if r.stats != nil {
		var err error
		if mon, err = startMonitor(r.stats); err != nil {
			return Result{}, err
		}
	}
	if r.prof != nil {
		if err := r.prof.start(); err != nil {
			if mon != nil {
				_, _ = mon.finish()
			}
			return Result{}, err
		}
	}

	wctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	start := r.clock.Now()
	if r.sched != nil {
		r.sched.start = start
	}
	prog := &progress{w: r.out, interval: cmp.Or(cfg.ProgressInterval, time.Second), workload: cfg.Workload,
		target: cfg.Records, tallies: r.primary(), all: r.allTallies(), latency: cfg.Workload != Consume}
	prog.start()
	dog := r.watch(wctx, stop)
	r.work(wctx)
	dog.finish()
	prog.finish()

	// The broker's side first, to close its window as near the last
	// record as possible.
	var errs []error
	var usage *brokerUsage
	if mon != nil {
		u, err := mon.finish()
		if err == nil {
			usage = &u
		}
		errs = append(errs, err)
	}
	if r.prof != nil {
		errs = append(errs, r.prof.stop())
	}
	res, err := r.result(ctx, start)
	if usage != nil {
		res.setBroker(*usage)
	}
	if cause := context.Cause(wctx); cause != nil && ctx.Err() == nil {
		err = errors.Join(err, cause) // the watchdog's: a stall
	}
	return res, errors.Join(append([]error{err}, errs...)...)
}

// work runs the producers and consumers and returns when the workload is
// done or ctx is.
func (r *runner) work(ctx context.Context) {
	cctx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	var consumers sync.WaitGroup
	for _, c := range r.consumers {
		switch {
		case c.rawClient != nil:
			consumers.Go(func() { c.runRaw(cctx, c.rawClient, c.rawStarts) })
		case c.cl != nil:
			consumers.Go(func() { c.run(cctx) })
		}
	}
	if r.goal != nil {
		// Consumers blocked in a poll learn that others reached the goal
		// through their context.
		go func() {
			select {
			case <-r.goal.reached:
				stopConsumers()
			case <-cctx.Done():
			}
		}()
	}
	var producers sync.WaitGroup
	for _, p := range r.producers {
		producers.Go(func() { p.run(ctx) })
	}
	producers.Wait()
	if r.goal != nil && len(r.producers) > 0 {
		r.goal.lower(sum(r.producerTallies(), false).records)
	}
	consumers.Wait()
}

// primary returns the tallies whose records the result counts: the
// consumers', except for produce.
func (r *runner) primary() []*tally {
	if r.cfg.Workload == Produce {
		return r.producerTallies()
	}
	return r.consumerTallies()
}

func (r *runner) producerTallies() []*tally {
	var ts []*tally
	for _, p := range r.producers {
		ts = append(ts, p.tally)
	}
	return ts
}

func (r *runner) consumerTallies() []*tally {
	var ts []*tally
	for _, c := range r.consumers {
		ts = append(ts, c.tally)
	}
	return ts
}

func (r *runner) allTallies() []*tally {
	return slices.Concat(r.producerTallies(), r.consumerTallies())
}

// result builds the Result from the tallies. It returns ErrInterrupted if
// ctx was cancelled, and an error if every record failed.
func (r *runner) result(ctx context.Context, start time.Time) (Result, error) {
	cfg := r.cfg
	res := newResult(cfg, r.partitions)
	main := sum(r.primary(), true)
	all := sum(r.allTallies(), false)
	end := main.last
	if main.records == 0 {
		end = r.clock.Now()
	}
	res.setThroughput(main.records, main.bytes, end.Sub(start))
	if cfg.Workload != Consume {
		res.Latency = summarize(main.hist)
	}
	if cfg.Workload == Consume && main.records > 0 {
		res.RecordBytes = int((main.bytes - main.keyBytes) / main.records)
	}
	if cfg.Workload == EndToEnd {
		pl := summarize(sum(r.producerTallies(), true).hist)
		res.ProduceLatency = &pl
	}
	res.Errors = all.errors
	if all.firstErr != nil {
		res.FirstError = all.firstErr.Error()
	}
	var err error
	switch {
	case ctx.Err() != nil:
		res.Interrupted = true
		err = fmt.Errorf("%w after %d records", ErrInterrupted, main.records)
	case main.records == 0 && all.errors > 0:
		err = fmt.Errorf("every record failed (%d errors); the first: %w", all.errors, all.firstErr)
	}
	return res, err
}
