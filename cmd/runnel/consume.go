package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

var consumeDoc = commandDoc{
	name:  "consume",
	usage: "consume -t TOPIC [flags]",
	detail: `Print the records of a topic on stdout, by default the value of each
record on its own line. It reads without a consumer group and commits
nothing, so it never disturbs the offsets of real consumers.

Without -c or -e it runs until interrupted (Ctrl-C), printing new records
as they arrive. With -e it stops once every partition has been read up to
the end it had when the command started.

--format takes a template where %t is the topic, %p the partition, %o the
offset, %k the key, %v the value, %h the headers (as k=v,k=v), %T the
timestamp in milliseconds since the epoch and %% a percent sign; \n, \t,
\r and \\ are a newline, a tab, a carriage return and a backslash.`,
	examples: []string{
		"runnel consume -t orders -e                     # print the whole topic and exit",
		"runnel consume -t orders -o end                 # follow new records",
		"runnel consume -t orders -p 2 -o 1500 -c 10     # 10 records of partition 2 from offset 1500",
		`runnel consume -t orders -e --format '%p/%o %k=%v\n'`,
	},
}

// offsetKind says where consuming starts.
type offsetKind int

const (
	offsetBeginning offsetKind = iota
	offsetEnd
	offsetExact
)

// startOffset is a parsed -o flag.
type startOffset struct {
	kind offsetKind
	at   int64 // for offsetExact
}

// parseOffset parses -o: beginning, end, or a non-negative offset.
func parseOffset(s string) (startOffset, error) {
	switch s {
	case "beginning":
		return startOffset{kind: offsetBeginning}, nil
	case "end":
		return startOffset{kind: offsetEnd}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return startOffset{}, fmt.Errorf("-o must be beginning, end or an offset (a number from 0), not %q", s)
	}
	return startOffset{kind: offsetExact, at: n}, nil
}

// kgo returns the offset to hand to kgo. kgo bounds an exact offset to
// the partition's log, so -o 1000000 on a short partition waits at its end.
func (o startOffset) kgo() kgo.Offset {
	switch o.kind {
	case offsetEnd:
		return kgo.NewOffset().AtEnd()
	case offsetExact:
		return kgo.NewOffset().At(o.at)
	}
	return kgo.NewOffset().AtStart()
}

// consumeOptions are the parsed flags of consume.
type consumeOptions struct {
	client    *clientFlags
	topic     string
	partition int32 // -1: every partition
	offset    startOffset
	count     int64 // 0: unlimited
	exitAtEnd bool
	format    recordFormat
}

func parseConsumeFlags(args []string, stdout io.Writer) (*consumeOptions, error) {
	f := newFlagSet(consumeDoc)
	o := &consumeOptions{client: addClientFlags(f)}
	f.StringVar(&o.topic, "topic", "", "`TOPIC` to read (required)")
	f.alias("topic", "t")
	partition := f.Int("partition", -1, "read only partition `N`; -1 reads every partition")
	f.alias("partition", "p")
	offset := f.String("offset", "beginning", "where to start in each partition: beginning, end or an `OFFSET`")
	f.alias("offset", "o")
	f.Int64Var(&o.count, "count", 0, "exit after printing `COUNT` records; 0 means no limit")
	f.alias("count", "c")
	f.BoolVar(&o.exitAtEnd, "exit", false, "exit once every partition is read to the end it had at start")
	f.alias("exit", "e")
	format := f.String("format", "%v\\n", "print each record with this `TEMPLATE` (see above)")
	rest, err := f.parse(args, stdout)
	if err != nil {
		return nil, err
	}
	if err := o.validate(f, rest, *partition, *offset, *format); err != nil {
		return nil, err
	}
	return o, nil
}

// validate checks what the flag package cannot and converts the rest.
func (o *consumeOptions) validate(f *flagSet, rest []string, partition int, offset, format string) error {
	if len(rest) > 0 {
		return f.usageErr("unexpected argument %q; name the topic with -t", rest[0])
	}
	if err := o.client.validate(f); err != nil {
		return err
	}
	if o.topic == "" {
		return f.usageErr("no topic given; use -t TOPIC")
	}
	if partition < -1 || partition > math.MaxInt32 {
		return f.usageErr("-p must be a partition number, or -1 for every partition; got %d", partition)
	}
	o.partition = int32(partition)
	if o.count < 0 {
		return f.usageErr("-c cannot be negative")
	}
	var err error
	if o.offset, err = parseOffset(offset); err != nil {
		return f.usageErr("%v", err)
	}
	if o.format, err = parseFormat(format); err != nil {
		return f.usageErr("--format: %v", err)
	}
	return nil
}

// runConsume runs `runnel consume ARGS`. Records go to stdout; warnings,
// such as a data loss kgo detected, go to stderr. Ctrl-C (a cancelled ctx)
// ends it normally.
func runConsume(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseConsumeFlags(args, stdout)
	if err != nil {
		return err
	}
	plan, err := planConsume(ctx, o)
	if err != nil {
		return err
	}
	if plan.nothingToRead() {
		return nil
	}
	cl, err := o.client.newClient(plan.kgoOptions(o)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	w := bufio.NewWriterSize(stdout, 64<<10)
	p := &printer{w: w, format: o.format, limit: o.count, ends: plan.ends}
	err = pollLoop(ctx, cl, p, stderr)
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("cannot write the records: %w", ferr)
	}
	return err
}

// consumePlan is what to read, decided from the cluster's metadata before
// the consumer starts.
type consumePlan struct {
	// partitions maps each partition to read to its start offset; nil
	// means the whole topic, including partitions added while running.
	partitions map[int32]kgo.Offset
	// ends holds, with -e, the end offset of each partition still to
	// read; nil without -e.
	ends map[int32]int64
}

func (p *consumePlan) nothingToRead() bool {
	return p.ends != nil && len(p.ends) == 0
}

func (p *consumePlan) kgoOptions(o *consumeOptions) []kgo.Opt {
	opts := []kgo.Opt{
		// Kept so that -e notices a partition's end when the end is a
		// transaction marker, which is never shown; printer skips them.
		kgo.KeepControlRecords(),
	}
	if p.partitions == nil {
		return append(opts, kgo.ConsumeTopics(o.topic), kgo.ConsumeStartOffset(o.offset.kgo()))
	}
	return append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: p.partitions}))
}

// planConsume checks that the topic and partition exist (kgo would
// otherwise wait silently for a topic that is not there) and, with -e,
// finds where each partition starts and ends.
func planConsume(ctx context.Context, o *consumeOptions) (*consumePlan, error) {
	adm, ctx, done, err := o.client.openAdmin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	partitions, err := topicPartitions(ctx, adm, o.topic)
	if err != nil {
		return nil, err
	}
	if o.partition >= 0 {
		if o.partition >= int32(len(partitions)) {
			return nil, fmt.Errorf("topic %q has %d partitions; there is no partition %d", o.topic, len(partitions), o.partition)
		}
		partitions = []int32{o.partition}
	}
	plan := &consumePlan{}
	if !o.exitAtEnd {
		if o.partition >= 0 {
			plan.partitions = map[int32]kgo.Offset{o.partition: o.offset.kgo()}
		}
		return plan, nil
	}
	bounds, err := partitionBounds(ctx, adm, o.topic)
	if err != nil {
		return nil, err
	}
	plan.partitions, plan.ends = map[int32]kgo.Offset{}, map[int32]int64{}
	for _, p := range partitions {
		b, ok := bounds[p]
		if !ok {
			return nil, fmt.Errorf("topic %q: the broker did not report the offsets of partition %d", o.topic, p)
		}
		if from := o.offset.resolve(b); from < b.end {
			plan.partitions[p] = o.offset.kgo()
			plan.ends[p] = b.end
		}
	}
	return plan, nil
}

// topicPartitions returns the partition numbers of topic, or a clear
// error if it does not exist.
func topicPartitions(ctx context.Context, adm *kadm.Client, topic string) ([]int32, error) {
	topics, err := adm.ListTopicsWithInternal(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("could not look up topic %q: %w", topic, err)
	}
	t, ok := topics[topic]
	if !ok {
		return nil, fmt.Errorf("topic %q: the broker did not answer for it", topic)
	}
	if t.Err != nil {
		return nil, topicError(topic, t.Err, "")
	}
	ps := make([]int32, 0, len(t.Partitions))
	for _, p := range t.Partitions.Sorted() {
		ps = append(ps, p.Partition)
	}
	return ps, nil
}

// logBounds is the first offset and the end offset (one past the last
// record) of a partition.
type logBounds struct{ start, end int64 }

// resolve returns the offset consuming will start at, given the bounds,
// the same way kgo does: an exact offset is clamped into the log.
func (o startOffset) resolve(b logBounds) int64 {
	switch o.kind {
	case offsetEnd:
		return b.end
	case offsetExact:
		return min(max(o.at, b.start), b.end)
	}
	return b.start
}

// partitionBounds lists the start and end offsets of every partition of
// topic.
func partitionBounds(ctx context.Context, adm *kadm.Client, topic string) (map[int32]logBounds, error) {
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("could not list the start offsets of topic %q: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("could not list the end offsets of topic %q: %w", topic, err)
	}
	bounds := map[int32]logBounds{}
	ends.Each(func(e kadm.ListedOffset) {
		s, _ := starts.Lookup(e.Topic, e.Partition)
		bounds[e.Partition] = logBounds{start: s.Offset, end: e.Offset}
	})
	return bounds, nil
}

// pollLoop feeds fetched records to p until p is done, ctx is cancelled
// (not an error: that is how an operator stops following a topic) or the
// client reports an error it will not retry.
func pollLoop(ctx context.Context, cl *kgo.Client, p *printer, stderr io.Writer) error {
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err := fetchError(fetches, stderr); err != nil {
			return err
		}
		for it := fetches.RecordIter(); !it.Done(); {
			done, err := p.handle(it.Next())
			if done || err != nil {
				return err
			}
		}
		// Flush when caught up, so a follower sees records promptly
		// while a bulk read still writes in large chunks.
		if cl.BufferedFetchRecords() == 0 {
			if err := p.w.Flush(); err != nil {
				return fmt.Errorf("cannot write the records: %w", err)
			}
		}
	}
}

// fetchError returns the first error of fetches that ends consuming.
// kgo retries what can be retried, so what it reports is final, except
// data loss, which it has already recovered from and which is only worth
// a warning.
func fetchError(fetches kgo.Fetches, stderr io.Writer) error {
	for _, fe := range fetches.Errors() {
		var loss *kgo.ErrDataLoss
		if errors.As(fe.Err, &loss) {
			fmt.Fprintf(stderr, "runnel consume: warning: %v\n", fe.Err)
			continue
		}
		if errors.Is(fe.Err, context.Canceled) {
			continue
		}
		if fe.Topic == "" {
			return fe.Err
		}
		return fmt.Errorf("topic %q partition %d: %w", fe.Topic, fe.Partition, fe.Err)
	}
	return nil
}

// printer writes records and decides when consuming is complete.
type printer struct {
	w       *bufio.Writer
	format  recordFormat
	limit   int64 // 0: no limit
	printed int64
	// ends holds, with -e, the end offset of every partition not yet read
	// to its end; nil without -e.
	ends map[int32]int64
	buf  []byte
}

// handle prints r unless it is a control record or lies beyond its
// partition's end (with -e), and reports whether consuming is complete.
func (p *printer) handle(r *kgo.Record) (done bool, err error) {
	if p.ends != nil {
		end, reading := p.ends[r.Partition]
		if !reading || r.Offset >= end {
			return p.finish(r.Partition), nil
		}
	}
	if !r.Attrs.IsControl() {
		p.buf = p.format.appendRecord(p.buf[:0], r)
		if _, err := p.w.Write(p.buf); err != nil {
			return true, fmt.Errorf("cannot write the records: %w", err)
		}
		p.printed++
		if p.limit > 0 && p.printed >= p.limit {
			return true, nil
		}
	}
	if p.ends != nil && r.Offset >= p.ends[r.Partition]-1 {
		return p.finish(r.Partition), nil
	}
	return false, nil
}

// finish marks partition as read to its end and reports whether that was
// the last one.
func (p *printer) finish(partition int32) bool {
	delete(p.ends, partition)
	return len(p.ends) == 0
}

// recordFormat is a compiled --format template: literal text and verbs.
type recordFormat []formatPart

// formatPart is literal text, or one verb (t, p, o, k, v, h or T) when
// verb is non-zero.
type formatPart struct {
	lit  string
	verb byte
}

// parseFormat compiles a --format template, rejecting unknown verbs and
// escapes so that a typo shows up at once instead of in the output.
func parseFormat(s string) (recordFormat, error) {
	var parts recordFormat
	var lit []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' && c != '\\' {
			lit = append(lit, c)
			continue
		}
		if i+1 == len(s) {
			return nil, fmt.Errorf("the template ends with a lone %q", c)
		}
		i++
		if c == '\\' {
			e, ok := formatEscapes[s[i]]
			if !ok {
				return nil, fmt.Errorf("unknown escape \\%c (known: \\n \\t \\r \\\\)", s[i])
			}
			lit = append(lit, e)
			continue
		}
		switch v := s[i]; v {
		case '%':
			lit = append(lit, '%')
		case 't', 'p', 'o', 'k', 'v', 'h', 'T':
			if len(lit) > 0 {
				parts = append(parts, formatPart{lit: string(lit)})
				lit = lit[:0]
			}
			parts = append(parts, formatPart{verb: v})
		default:
			return nil, fmt.Errorf("unknown verb %%%c (known: %%t %%p %%o %%k %%v %%h %%T %%%%)", v)
		}
	}
	if len(lit) > 0 {
		parts = append(parts, formatPart{lit: string(lit)})
	}
	return parts, nil
}

var formatEscapes = map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', '\\': '\\'}

// appendRecord appends r rendered with f to dst. A record without a key
// prints an empty key.
func (f recordFormat) appendRecord(dst []byte, r *kgo.Record) []byte {
	for _, part := range f {
		switch part.verb {
		case 0:
			dst = append(dst, part.lit...)
		case 't':
			dst = append(dst, r.Topic...)
		case 'p':
			dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		case 'o':
			dst = strconv.AppendInt(dst, r.Offset, 10)
		case 'k':
			dst = append(dst, r.Key...)
		case 'v':
			dst = append(dst, r.Value...)
		case 'h':
			dst = appendHeaders(dst, r.Headers)
		case 'T':
			dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
		}
	}
	return dst
}

// appendHeaders appends headers as k=v,k=v.
func appendHeaders(dst []byte, hs []kgo.RecordHeader) []byte {
	for i, h := range hs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, h.Key...)
		dst = append(dst, '=')
		dst = append(dst, h.Value...)
	}
	return dst
}
