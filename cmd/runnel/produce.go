package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel-dev/runnel/plugins"
	"github.com/runnel-dev/runnel/sdk/kgoadapter"
)

var produceDoc = commandDoc{
	name:  "produce",
	usage: "produce -t TOPIC [flags]",
	detail: `Write records to a topic: one record per input line, read from stdin or
from the file given with -f. The line ending (\n or \r\n) is not part of
the record; lines may be of any length. With -K, each line is split into
key and value at the first occurrence of the delimiter; a line without
it becomes a record without a key.

Records go to the partition given with -p, or else to the one the
partitioner picks. runnel produce waits until the cluster acknowledged
every record, prints "produced N records to TOPIC" on stderr, and exits
non-zero if any record could not be produced.`,
	examples: []string{
		`echo hello | runnel produce -t greetings`,
		`runnel produce -t orders -K : -f orders.txt          # lines like "order-17:{...}"`,
		`runnel produce -t events -p 0 -H source=import -H version=2 < events.jsonl`,
		`runnel produce -t logs --acks 1 --linger 50ms --partitioner roundrobin < app.log`,
	},
}

// produceOptions are the parsed flags of produce.
type produceOptions struct {
	client      *clientFlags
	topic       string
	partition   int32 // -1: use the partitioner
	keyDelim    string
	headers     []kgo.RecordHeader
	partitioner string
	// closePartitioner stops the partitioner's plugin process, if any.
	closePartitioner func()
	acks             kgo.Acks
	idempotent       bool
	linger           time.Duration
	file             string
}

func parseProduceFlags(args []string, stdout io.Writer) (*produceOptions, error) {
	f := newFlagSet(produceDoc)
	o := &produceOptions{client: addClientFlags(f)}
	f.StringVar(&o.topic, "topic", "", "`TOPIC` to produce to (required)")
	f.alias("topic", "t")
	partition := f.Int("partition", -1, "produce every record to partition `N`; -1 lets the partitioner choose")
	f.alias("partition", "p")
	f.StringVar(&o.keyDelim, "key-delimiter", "", "split each line into key and value at the first `DELIM`")
	f.alias("key-delimiter", "K")
	var headers stringList
	f.Var(&headers, "header", "add header `key=value` to every record; repeat for more than one")
	f.alias("header", "H")
	f.StringVar(&o.partitioner, "partitioner", "murmur2", "partitioner that places records without -p: a builtin `NAME` ("+partitionerNames()+"), or exec:/path/to/plugin")
	acks := f.String("acks", "all", "`LEVEL` of acknowledgement to wait for: all, 1 (the leader only) or 0 (none)")
	f.DurationVar(&o.linger, "linger", 10*time.Millisecond, "how long to wait for more records before sending a batch, as a `DURATION`")
	f.StringVar(&o.file, "file", "", "read records from `FILE` instead of stdin (- is stdin)")
	f.alias("file", "f")
	rest, err := f.parse(args, stdout)
	if err != nil {
		return nil, err
	}
	if err := o.validate(f, rest, *partition, *acks, headers); err != nil {
		return nil, err
	}
	return o, nil
}

// validate checks what the flag package cannot and fills in the fields
// that need converting.
func (o *produceOptions) validate(f *flagSet, rest []string, partition int, acks string, headers []string) error {
	if len(rest) > 0 {
		return f.usageErr("unexpected argument %q; records are read from stdin or from -f FILE", rest[0])
	}
	if err := o.client.validate(f); err != nil {
		return err
	}
	if o.topic == "" {
		return f.usageErr("no topic given; use -t TOPIC")
	}
	if partition < -1 || partition > math.MaxInt32 {
		return f.usageErr("-p must be a partition number, or -1 to let the partitioner choose; got %d", partition)
	}
	o.partition = int32(partition)
	if o.partition >= 0 && flagWasSet(f, "partitioner") {
		return f.usageErr("-p and --partitioner exclude each other: -p sends every record to one partition")
	}
	var err error
	if o.acks, o.idempotent, err = parseAcks(acks); err != nil {
		return f.usageErr("%v", err)
	}
	if o.linger < 0 {
		return f.usageErr("--linger cannot be negative")
	}
	if o.headers, err = parseHeaders(headers); err != nil {
		return f.usageErr("%v", err)
	}
	return nil
}

// partitionerNames lists the registered partitioners for --help, so the
// list stays true whatever extensions the binary was built with.
func partitionerNames() string {
	var names []string
	for _, m := range plugins.List("partitioner.") {
		names = append(names, m.Name())
	}
	if len(names) == 0 {
		return "none are registered"
	}
	return strings.Join(names, ", ")
}

// flagWasSet reports whether name was given on the command line.
func flagWasSet(f *flagSet, name string) bool {
	set := false
	f.Visit(func(fl *flag.Flag) {
		if fl.Name == name {
			set = true
		}
	})
	return set
}

// parseAcks maps --acks to kgo's setting. Idempotent writes need acks=all
// (Kafka rejects the combination otherwise), so the weaker levels turn
// idempotence off.
func parseAcks(s string) (acks kgo.Acks, idempotent bool, err error) {
	switch s {
	case "all", "-1":
		return kgo.AllISRAcks(), true, nil
	case "1":
		return kgo.LeaderAck(), false, nil
	case "0":
		return kgo.NoAck(), false, nil
	}
	return kgo.Acks{}, false, fmt.Errorf("--acks must be all, 1 or 0, not %q", s)
}

// parseHeaders parses repeated -H key=value flags.
func parseHeaders(kvs []string) ([]kgo.RecordHeader, error) {
	var hs []kgo.RecordHeader
	for _, kv := range kvs {
		k, v, err := parseKeyValue(kv)
		if err != nil {
			return nil, fmt.Errorf("-H %v", err)
		}
		hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return hs, nil
}

// runProduce runs `runnel produce ARGS`, reading records from stdin unless
// -f names a file. The summary goes to stderr, so stdout stays clean.
func runProduce(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := parseProduceFlags(args, stdout)
	if err != nil {
		return err
	}
	in, err := openInput(o.file, stdin)
	if err != nil {
		return err
	}
	defer in.Close()
	kopts, part, err := o.kgoOptions()
	if err != nil {
		return err
	}
	if o.closePartitioner != nil {
		defer o.closePartitioner()
	}
	cl, err := o.client.newClient(kopts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	res := produceLines(ctx, cl, o, in)
	fmt.Fprintf(stderr, "produced %d records to %s\n", res.ok, o.topic)
	return res.err(part)
}

// openInput opens -f FILE, or returns stdin for "" and "-".
func openInput(file string, stdin io.Reader) (io.ReadCloser, error) {
	if file == "" || file == "-" {
		return io.NopCloser(stdin), nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read the input: %w", err)
	}
	return f, nil
}

// kgoOptions returns the producer options, and the partitioner adapter
// when records are partitioned by a plugin (nil with -p).
func (o *produceOptions) kgoOptions() ([]kgo.Opt, *kgoadapter.Partitioner, error) {
	opts := []kgo.Opt{
		kgo.RequiredAcks(o.acks),
		kgo.ProducerLinger(o.linger),
		kgo.ProduceRequestTimeout(o.client.timeout),
		// Without a delivery timeout kgo retries forever, and a CLI
		// pointed at a dead broker would hang. The linger is added as kgo
		// documents: a batch's clock starts with its first record.
		kgo.RecordDeliveryTimeout(o.client.timeout + o.linger),
		// Like kcat and the Java producer: a missing topic is created
		// when the broker's auto.create.topics.enable allows it.
		kgo.AllowAutoTopicCreation(),
	}
	if !o.idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if o.partition >= 0 {
		return append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner())), nil, nil
	}
	p, closePartitioner, err := openPartitioner(o.partitioner)
	if err != nil {
		return nil, nil, err
	}
	o.closePartitioner = closePartitioner
	part := kgoadapter.New(o.partitioner, p)
	return append(opts, kgo.RecordPartitioner(part)), part, nil
}

// produceResult counts what happened to the records of one run.
type produceResult struct {
	mu          sync.Mutex
	read        int64 // lines read and handed to the client
	ok          int64 // records acknowledged
	failed      int64
	firstErr    error
	interrupted bool
	readErr     error
}

// promise is the kgo produce callback.
func (r *produceResult) promise(_ *kgo.Record, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.ok++
		return
	}
	r.failed++
	if r.firstErr == nil {
		r.firstErr = err
	}
}

// err summarises the failures, or returns nil if every line read was
// produced. part may be nil.
func (r *produceResult) err(part *kgoadapter.Partitioner) error {
	var errs []error
	if r.readErr != nil {
		errs = append(errs, fmt.Errorf("reading the input failed after %d lines: %w", r.read, r.readErr))
	}
	if r.failed > 0 {
		cause := r.firstErr
		// A partitioner failure reaches the promise as kgo's generic
		// "invalid partitioning choice"; the adapter knows why.
		if part != nil && part.Err() != nil {
			cause = part.Err()
		}
		errs = append(errs, fmt.Errorf("%d of %d records were not produced; first error: %w", r.failed, r.read, cause))
	}
	if r.interrupted {
		errs = append(errs, errors.New("interrupted before the end of the input"))
	}
	return errors.Join(errs...)
}

// produceLines produces one record per line of in, waits for all of them
// to be acknowledged or to fail, and returns the tally. Cancelling ctx
// stops reading and fails the records still buffered.
func produceLines(ctx context.Context, cl *kgo.Client, o *produceOptions, in io.Reader) *produceResult {
	res := &produceResult{}
	lines, readErr := readLines(ctx, in)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			res.interrupted = true
			done = true
		case line, ok := <-lines:
			if !ok {
				res.readErr = <-readErr
				done = true
				break
			}
			res.read++
			cl.Produce(ctx, o.record(line), res.promise)
		}
	}
	// Flush returns once every record has been acknowledged or failed;
	// the delivery timeout bounds how long that takes.
	_ = cl.Flush(context.Background())
	return res
}

// record builds the record for one input line.
func (o *produceOptions) record(line []byte) *kgo.Record {
	key, value := splitKey(line, o.keyDelim)
	r := &kgo.Record{Topic: o.topic, Key: key, Value: value, Headers: o.headers}
	if o.partition >= 0 {
		r.Partition = o.partition
	}
	return r
}

// splitKey splits line at the first delim into key and value, like kcat
// -K. Without a delimiter, or without delim in the line, the whole line is
// the value and the key is nil: the record has no key.
func splitKey(line []byte, delim string) (key, value []byte) {
	if delim == "" {
		return nil, line
	}
	k, v, ok := bytes.Cut(line, []byte(delim))
	if !ok {
		return nil, line
	}
	return k, v
}

// readLines reads in line by line on its own goroutine, so that Ctrl-C
// is noticed even while a read from a terminal blocks. The error channel
// receives nil at EOF; lines is closed after it is sent.
func readLines(ctx context.Context, in io.Reader) (<-chan []byte, <-chan error) {
	lines := make(chan []byte, 256)
	errc := make(chan error, 1)
	go func() {
		defer close(lines)
		br := bufio.NewReaderSize(in, 64<<10)
		for {
			line, err := readLine(br)
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				errc <- err
				return
			}
			select {
			case lines <- line:
			case <-ctx.Done():
				errc <- nil
				return
			}
		}
	}()
	return lines, errc
}

// readLine returns the next line without its line ending, however long it
// is (bufio.Scanner would stop at 64 KiB), or io.EOF after the last line.
// A last line without a final newline is still a line. The returned slice
// is freshly allocated, so kgo may keep it until the record is acknowledged.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, nil
}
