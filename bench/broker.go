package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// clientID names the benchmark's connections in the broker's logs.
const clientID = "runnel-bench"

// baseOpts are the options of every client of a run.
func baseOpts(cfg *Config) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(clientID),
		kgo.DialTimeout(cfg.Timeout),
		// kgo bounds a request by this overhead (10s by default), not by
		// the caller's context: a server that accepts and never answers
		// would hold the connection check that long.
		kgo.RequestTimeoutOverhead(cfg.Timeout),
	}
}

// checkBroker makes sure a Kafka broker answers at the bootstrap address
// before anything is measured: a wrong address, or one where something else
// listens, fails here within the timeout with the address in the message,
// instead of as a run where every record times out.
func checkBroker(ctx context.Context, cfg *Config, cl *kgo.Client) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	// Ping does not give up when ctx ends while it is connecting; waiting
	// for it here keeps Ctrl-C and the timeout prompt. Closing the client
	// stops it.
	errc := make(chan error, 1)
	go func() { errc <- cl.Ping(ctx) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		return nil
	}
	addr := strings.Join(cfg.Brokers, ",")
	// The timeout ends the check in one of two ways: our deadline, or the
	// connection's (kgo's RequestTimeoutOverhead), whichever fires first.
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("no Kafka broker answered at %s within %v", addr, cfg.Timeout)
	}
	return fmt.Errorf("cannot talk to a Kafka broker at %s: %w", addr, err)
}

// prepareTopic makes sure the topic exists with the partitions the run
// asks for, creating it for produce and e2e, and returns its partition
// count.
func prepareTopic(ctx context.Context, cfg *Config, adm *kadm.Client) (int32, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	n, err := partitionCount(ctx, adm, cfg.Topic, false)
	if errors.Is(err, kerr.UnknownTopicOrPartition) && cfg.produces() {
		n, err = createTopic(ctx, cfg, adm)
	}
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition) && !cfg.produces():
		return 0, fmt.Errorf("topic %q does not exist; fill it first, e.g. runnel bench produce -t %s", cfg.Topic, cfg.Topic)
	case err != nil:
		return 0, fmt.Errorf("topic %q: %w", cfg.Topic, err)
	case cfg.Partitions > 0 && n != cfg.Partitions:
		return 0, fmt.Errorf("topic %q already exists with %d partitions, not the %d asked for: "+
			"pass --partitions %d, use another --topic, or delete it (runnel topic delete %s)",
			cfg.Topic, n, cfg.Partitions, n, cfg.Topic)
	}
	return n, nil
}

// partitionCount returns the partitions of topic once every one has a
// leader. Just after creating the topic (created), the broker may not list
// it, or its leaders, for a moment: those answers are asked again until ctx
// ends.
func partitionCount(ctx context.Context, adm *kadm.Client, topic string, created bool) (int32, error) {
	for {
		tds, err := adm.ListTopics(ctx, topic)
		if err != nil {
			return 0, err
		}
		td, ok := tds[topic]
		switch {
		case !ok:
			err = kerr.UnknownTopicOrPartition
		case td.Err != nil:
			err = td.Err
		case leadersKnown(td):
			return int32(len(td.Partitions)), nil
		default:
			err = errors.New("its partitions have no leader yet")
		}
		if !created && errors.Is(err, kerr.UnknownTopicOrPartition) {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%w (gave up waiting: %v)", err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func leadersKnown(td kadm.TopicDetail) bool {
	if len(td.Partitions) == 0 {
		return false
	}
	for _, p := range td.Partitions {
		if p.Err != nil || p.Leader < 0 {
			return false
		}
	}
	return true
}

// createTopic creates the topic and returns its partition count. Losing a
// creation race to another client is fine: the topic is then checked like
// one that existed.
func createTopic(ctx context.Context, cfg *Config, adm *kadm.Client) (int32, error) {
	var configs map[string]*string
	// Brokers accept batches up to about 1 MiB by default
	// (message.max.bytes); a larger --batch-bytes needs the topic to say so.
	if cfg.BatchBytes > DefaultBatchBytes {
		v := fmt.Sprint(cfg.BatchBytes)
		configs = map[string]*string{"max.message.bytes": &v}
	}
	resp, err := adm.CreateTopic(ctx, cfg.Partitions, -1, configs, cfg.Topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		if resp.ErrMessage != "" {
			err = fmt.Errorf("%w (%s)", err, resp.ErrMessage)
		}
		return 0, fmt.Errorf("cannot create it: %w", err)
	}
	return partitionCount(ctx, adm, cfg.Topic, true)
}

// offsets returns the topic's start and end offsets per partition.
func offsets(ctx context.Context, cfg *Config, adm *kadm.Client) (start, end map[int32]int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if start, err = listOffsets(ctx, adm.ListStartOffsets, cfg.Topic); err != nil {
		return nil, nil, fmt.Errorf("listing the start offsets of %q: %w", cfg.Topic, err)
	}
	if end, err = listOffsets(ctx, adm.ListEndOffsets, cfg.Topic); err != nil {
		return nil, nil, fmt.Errorf("listing the end offsets of %q: %w", cfg.Topic, err)
	}
	return start, end, nil
}

func listOffsets(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error),
	topic string) (map[int32]int64, error) {
	lo, err := list(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for p, o := range lo[topic] {
		if o.Err != nil {
			return nil, fmt.Errorf("partition %d: %w", p, o.Err)
		}
		out[p] = o.Offset
	}
	return out, nil
}
