package bench

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigsAreValid(t *testing.T) {
	for _, w := range Workloads {
		c := DefaultConfig(w)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", w, err)
		}
	}
	if c := DefaultConfig(Consume); c.Records != 0 || c.Partitions != 0 || c.Producers != 0 {
		t.Errorf("consume defaults: %+v", c)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		w      Workload
		change func(*Config)
		want   string
	}{
		{"bogus", func(*Config) {}, "unknown workload"},
		{Produce, func(c *Config) { c.Brokers = nil }, "--bootstrap"},
		{Produce, func(c *Config) { c.Timeout = 0 }, "--timeout"},
		{Produce, func(c *Config) { c.Records = 0 }, "--records"},
		{Consume, func(c *Config) { c.Records = -1 }, "--records"},
		{Produce, func(c *Config) { c.Partitions = 0 }, "--partitions"},
		{Produce, func(c *Config) { c.Producers = 0 }, "--producers"},
		{EndToEnd, func(c *Config) { c.Consumers = 0 }, "--consumers"},
		{EndToEnd, func(c *Config) { c.RecordSize = 7 }, "--record-size must be at least 8 for e2e"},
		{Produce, func(c *Config) { c.RecordSize = -1 }, "--record-size"},
		{Produce, func(c *Config) { c.RecordSize = 2 << 20 }, "does not fit in a batch"},
		{Produce, func(c *Config) { c.Keys = -1 }, "--keys"},
		{Produce, func(c *Config) { c.Acks = "2" }, "--acks must be all, 1 or 0"},
		{Produce, func(c *Config) { c.Linger = -time.Millisecond }, "--linger"},
		{Produce, func(c *Config) { c.BatchBytes = 10 }, "--batch-bytes"},
		{Produce, func(c *Config) { c.Compression = "brotli" }, "--compression must be one of none, gzip"},
		{Produce, func(c *Config) { c.Rate = -1 }, "--rate"},
		{Produce, func(c *Config) { c.Rate = math.NaN() }, "--rate"},
		{Produce, func(c *Config) { c.BrokerPID = -3 }, "--broker-pid"},
		{Produce, func(c *Config) { c.AdminURL = "ftp://x" }, "--admin"},
		{Produce, func(c *Config) { c.ProfileFile = "cpu.pprof" }, "--profile needs --admin"},
	} {
		c := DefaultConfig(tc.w)
		tc.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.w, err, tc.want)
		}
	}
}

func TestConfigValidateNormalizes(t *testing.T) {
	c := DefaultConfig(Produce)
	c.Acks, c.AdminURL, c.ProfileFile = "-1", "localhost:9644/", "p"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Acks != "all" || c.AdminURL != "http://localhost:9644" {
		t.Fatalf("acks %q, admin %q", c.Acks, c.AdminURL)
	}
	// Producer settings do not matter to consume.
	c = DefaultConfig(Consume)
	c.Acks, c.RecordSize = "bogus", 1
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
