package e2e

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestKadmTopicConfigs describes, incrementally alters and describes again
// a topic's configs with kadm, and checks a change holds for the next
// produce.
func TestKadmTopicConfigs(t *testing.T) {
	b := startBroker(t, "")
	ctx := testContext(t)
	adm := b.admin()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "cfg"); err != nil {
		t.Fatal(err)
	}
	describe := func() map[string]kadm.Config {
		t.Helper()
		rcs, err := adm.DescribeTopicConfigs(ctx, "cfg")
		if err != nil {
			t.Fatal(err)
		}
		rc, err := rcs.On("cfg", nil)
		if err != nil || rc.Err != nil {
			t.Fatalf("describe: %v %v %s", err, rc.Err, rc.ErrMessage)
		}
		m := map[string]kadm.Config{}
		for _, c := range rc.Configs {
			m[c.Key] = c
		}
		return m
	}
	before := describe()
	if c := before["retention.ms"]; c.Value == nil || *c.Value != "604800000" || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("retention.ms before: %+v", c)
	}

	resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("3600000")},
		{Op: kadm.SetConfig, Name: "max.message.bytes", Value: kadm.StringPtr("1000")},
		{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
	}, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := resp.On("cfg", nil); err != nil || r.Err != nil {
		t.Fatalf("alter: %v %v %s", err, r.Err, r.ErrMessage)
	}
	after := describe()
	for name, want := range map[string]string{"retention.ms": "3600000", "max.message.bytes": "1000", "cleanup.policy": "compact,delete"} {
		c := after[name]
		if c.Value == nil || *c.Value != want || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
			t.Errorf("%s after alter: %+v, want %s from DYNAMIC_TOPIC_CONFIG", name, c, want)
		}
	}

	prod := b.client(kgo.DefaultProduceTopic("cfg"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	err = prod.ProduceSync(ctx, &kgo.Record{Value: make([]byte, 2000)}).FirstErr()
	if !errors.Is(err, kerr.MessageTooLarge) {
		t.Errorf("produce above the new max.message.bytes: %v, want MESSAGE_TOO_LARGE", err)
	}

	bad, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("soon")},
	}, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := bad.On("cfg", nil); !errors.Is(r.Err, kerr.InvalidConfig) || r.ErrMessage == "" {
		t.Errorf("bad value: %v %q, want INVALID_CONFIG with a message", r.Err, r.ErrMessage)
	}

	brokers, err := adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := brokers.On("1", nil)
	if err != nil || rc.Err != nil || len(rc.Configs) == 0 {
		t.Fatalf("broker configs: %v %v, %d configs", err, rc.Err, len(rc.Configs))
	}
}
