package bench

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Workload names what a run measures.
type Workload string

const (
	// Produce sends records and measures acknowledgements.
	Produce Workload = "produce"
	// Consume reads an existing topic from its beginning.
	Consume Workload = "consume"
	// EndToEnd produces and consumes at once and measures the time from
	// send to receive.
	EndToEnd Workload = "e2e"
)

// Workloads lists the workloads in the order help texts show them.
var Workloads = []Workload{Produce, Consume, EndToEnd}

// Compressions lists the accepted Config.Compression names.
var Compressions = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// Config says what to run. The comments name the `runnel bench` flag of each
// field, and Validate's messages use those names, since the flags are how
// people meet these settings.
type Config struct {
	Workload Workload
	Brokers  []string      // --bootstrap
	Timeout  time.Duration // --timeout: the connection check, each admin request, and how long a run may make no progress

	Topic      string
	Partitions int32 // --partitions; for consume, 0 accepts the topic as it is
	// Records is how many records to send (produce, e2e; more than 0), or
	// to read (consume; 0 reads what the topic holds when the run starts).
	Records    int64
	RecordSize int // --record-size: value bytes per record
	Keys       int // --keys: 0 sends no keys, N draws keys from N distinct values

	// Partitioner places records; nil leaves it to kgo's default. The one
	// value is shared by every producer's client, so it must be safe for
	// concurrent use. PartitionerName is only reported.
	Partitioner     kgo.Partitioner
	PartitionerName string

	Acks        string        // --acks: "all", "1" or "0"
	Linger      time.Duration // --linger
	BatchBytes  int32         // --batch-bytes: the producer's batch limit
	Compression string        // --compression: one of Compressions
	Rate        float64       // --rate: records/s over all producers; 0 is as fast as possible
	Producers   int           // --producers
	Consumers   int           // --consumers
	// Raw (--raw, consume only) reads with plain Fetch requests and counts
	// records from batch headers instead of decoding them (rawfetch.go).
	Raw bool

	BrokerPID   int    // --broker-pid: read the broker's CPU and memory from /proc
	AdminURL    string // --admin: the broker's admin listener, e.g. http://127.0.0.1:9644
	ProfileFile string // --profile: write the broker's CPU profile of the window here (needs AdminURL)

	// ProgressInterval is how often a progress line is written; 0 means
	// once a second.
	ProgressInterval time.Duration
}

// Default values of the settings.
const (
	DefaultTopic      = "runnel-bench"
	DefaultRecords    = 1_000_000
	DefaultRecordSize = 1024
	DefaultLinger     = 5 * time.Millisecond
	DefaultBatchBytes = 1 << 20
	DefaultTimeout    = 10 * time.Second
)

// maxKeys bounds --keys: keys are 8 decimal digits (see payload.go).
const maxKeys = 100_000_000

// maxBatchBytes keeps a batch far below any broker's request limit
// (socket.request.max.bytes is 100 MiB by default).
const maxBatchBytes = 64 << 20

// DefaultConfig returns the defaults of `runnel bench WORKLOAD`.
func DefaultConfig(w Workload) Config {
	c := Config{
		Workload:    w,
		Brokers:     []string{"127.0.0.1:9092"},
		Timeout:     DefaultTimeout,
		Topic:       DefaultTopic,
		Partitions:  1,
		Records:     DefaultRecords,
		RecordSize:  DefaultRecordSize,
		Acks:        "all",
		Linger:      DefaultLinger,
		BatchBytes:  DefaultBatchBytes,
		Compression: "none",
		Producers:   1,
		Consumers:   1,
	}
	if w == Consume {
		c.Partitions, c.Records, c.Producers = 0, 0, 0
	}
	if w == Produce {
		c.Consumers = 0
	}
	return c
}

// produces reports whether the workload sends records.
func (c *Config) produces() bool { return c.Workload == Produce || c.Workload == EndToEnd }

// consumes reports whether the workload reads records.
func (c *Config) consumes() bool { return c.Workload == Consume || c.Workload == EndToEnd }

// Validate checks c and fills in what can be derived: "-1" acks become
// "all", an admin URL without a scheme gets http://.
func (c *Config) Validate() error {
	switch c.Workload {
	case Produce, Consume, EndToEnd:
	default:
		return fmt.Errorf("unknown workload %q (expected produce, consume or e2e)", c.Workload)
	}
	if len(c.Brokers) == 0 {
		return errors.New("--bootstrap needs at least one HOST:PORT")
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, not %v", c.Timeout)
	}
	if c.Topic == "" {
		return errors.New("--topic cannot be empty")
	}
	if c.Partitions < 0 || (c.Partitions == 0 && c.Workload != Consume) {
		return fmt.Errorf("--partitions must be at least 1, not %d", c.Partitions)
	}
	if c.Records < 0 || (c.Records == 0 && c.Workload != Consume) {
		return fmt.Errorf("--records must be at least 1, not %d", c.Records)
	}
	if c.ProgressInterval < 0 {
		return fmt.Errorf("the progress interval cannot be negative (%v)", c.ProgressInterval)
	}
	if c.produces() {
		if err := c.validateProducer(); err != nil {
			return err
		}
	}
	if c.Raw && c.Workload != Consume {
		return fmt.Errorf("--raw is for consume only")
	}
	if c.consumes() && c.Consumers < 1 {
		return fmt.Errorf("--consumers must be at least 1, not %d", c.Consumers)
	}
	return c.validateBrokerSide()
}

func (c *Config) validateProducer() error {
	if c.Producers < 1 {
		return fmt.Errorf("--producers must be at least 1, not %d", c.Producers)
	}
	if c.RecordSize < 0 {
		return fmt.Errorf("--record-size cannot be negative (%d)", c.RecordSize)
	}
	if c.Workload == EndToEnd && c.RecordSize < stampBytes {
		return fmt.Errorf("--record-size must be at least %d for e2e, which writes the send time into the value; got %d",
			stampBytes, c.RecordSize)
	}
	if c.Keys < 0 || c.Keys > maxKeys {
		return fmt.Errorf("--keys must be from 0 (no keys) to %d, not %d", maxKeys, c.Keys)
	}
	if _, err := acksOf(c.Acks); err != nil {
		return err
	}
	if c.Acks == "-1" {
		c.Acks = "all"
	}
	if c.Linger < 0 {
		return fmt.Errorf("--linger cannot be negative (%v)", c.Linger)
	}
	if c.BatchBytes < 1024 || c.BatchBytes > maxBatchBytes {
		return fmt.Errorf("--batch-bytes must be from 1024 to %d, not %d", maxBatchBytes, c.BatchBytes)
	}
	// A record that does not fit in a batch on its own is failed by kgo,
	// every one of them; say so before starting instead.
	if int64(c.RecordSize)+keyBytes+recordOverhead > int64(c.BatchBytes) {
		return fmt.Errorf("a record of --record-size %d does not fit in a batch of --batch-bytes %d",
			c.RecordSize, c.BatchBytes)
	}
	if _, err := codecOf(c.Compression); err != nil {
		return err
	}
	if c.Rate < 0 || c.Rate != c.Rate { // the second test catches NaN
		return fmt.Errorf("--rate must be 0 (as fast as possible) or a positive number of records/s, not %v", c.Rate)
	}
	return nil
}

func (c *Config) validateBrokerSide() error {
	if c.BrokerPID < 0 {
		return fmt.Errorf("--broker-pid must be a process id, not %d", c.BrokerPID)
	}
	if c.AdminURL != "" {
		u, err := normalizeAdminURL(c.AdminURL)
		if err != nil {
			return err
		}
		c.AdminURL = u
	}
	if c.ProfileFile != "" && c.AdminURL == "" {
		return errors.New("--profile needs --admin URL: the broker's admin listener takes the profile")
	}
	return nil
}

// normalizeAdminURL checks an admin listener address and returns it with a
// scheme and without a trailing slash, ready for paths to be appended.
func normalizeAdminURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--admin must be an http(s) URL such as http://127.0.0.1:9644, not %q", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// acksOf maps --acks to kgo's setting.
func acksOf(s string) (kgo.Acks, error) {
	switch s {
	case "all", "-1":
		return kgo.AllISRAcks(), nil
	case "1":
		return kgo.LeaderAck(), nil
	case "0":
		return kgo.NoAck(), nil
	}
	return kgo.Acks{}, fmt.Errorf("--acks must be all, 1 or 0, not %q", s)
}

// codecOf maps --compression to kgo's codec. "none" must be explicit:
// kgo's default is snappy.
func codecOf(s string) (kgo.CompressionCodec, error) {
	switch s {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("--compression must be one of %s, not %q",
		strings.Join(Compressions, ", "), s)
}
