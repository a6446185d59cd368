package kernel

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/kernel/config"
)

const (
	resTopic  = kmsg.ConfigResourceTypeTopic
	resBroker = kmsg.ConfigResourceTypeBroker
)

type describeOpts struct {
	synonyms, docs bool
	names          []string
}

func describeReq(t *testing.T, b *Broker, version int16, typ kmsg.ConfigResourceType, name string, o describeOpts) kmsg.DescribeConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version = version
	req.IncludeSynonyms, req.IncludeDocumentation = o.synonyms, o.docs
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName, rr.ConfigNames = typ, name, o.names
	req.Resources = append(req.Resources, rr)
	resp := serve(t, b, req).(*kmsg.DescribeConfigsResponse)
	if len(resp.Resources) != 1 {
		t.Fatalf("DescribeConfigs v%d: %d resources answered", version, len(resp.Resources))
	}
	return resp.Resources[0]
}

func byName(r kmsg.DescribeConfigsResponseResource) map[string]kmsg.DescribeConfigsResponseResourceConfig {
	m := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
	for _, c := range r.Configs {
		m[c.Name] = c
	}
	return m
}

// topicValues describes a topic at v4 and returns its values and which
// of them are overridden.
func topicValues(t *testing.T, b *Broker, name string) (map[string]string, map[string]bool) {
	t.Helper()
	r := describeReq(t, b, 4, resTopic, name, describeOpts{})
	if r.ErrorCode != 0 {
		t.Fatalf("describe %s: error %d", name, r.ErrorCode)
	}
	vals, set := map[string]string{}, map[string]bool{}
	for _, c := range r.Configs {
		vals[c.Name] = *c.Value
		set[c.Name] = c.Source == kmsg.ConfigSourceDynamicTopicConfig
	}
	return vals, set
}

func alterReq(t *testing.T, b *Broker, version int16, validateOnly bool, typ kmsg.ConfigResourceType, name string, configs map[string]string) kmsg.AlterConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrAlterConfigsRequest()
	req.Version, req.ValidateOnly = version, validateOnly
	rr := kmsg.NewAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = typ, name
	for k, v := range configs {
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rr.Configs = append(rr.Configs, c)
	}
	req.Resources = append(req.Resources, rr)
	return serve(t, b, req).(*kmsg.AlterConfigsResponse).Resources[0]
}

type configOp struct {
	name  string
	op    kmsg.IncrementalAlterConfigOp
	value *string
}

func setOp(name, value string) configOp {
	return configOp{name, kmsg.IncrementalAlterConfigOpSet, &value}
}

func delOp(name string) configOp {
	return configOp{name, kmsg.IncrementalAlterConfigOpDelete, nil}
}

func appendOp(name, value string) configOp {
	return configOp{name, kmsg.IncrementalAlterConfigOpAppend, &value}
}

func subtractOp(name, value string) configOp {
	return configOp{name, kmsg.IncrementalAlterConfigOpSubtract, &value}
}

func incrementalReq(t testing.TB, b *Broker, version int16, validateOnly bool, typ kmsg.ConfigResourceType, name string, ops ...configOp) kmsg.IncrementalAlterConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Version, req.ValidateOnly = version, validateOnly
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = typ, name
	for _, o := range ops {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = o.name, o.op, o.value
		rr.Configs = append(rr.Configs, c)
	}
	req.Resources = append(req.Resources, rr)
	return serve(t, b, req).(*kmsg.IncrementalAlterConfigsResponse).Resources[0]
}

func TestConfigTablesCoverEveryConfig(t *testing.T) {
	for _, n := range config.TopicConfigNames() {
		info, ok := topicConfigInfos[n]
		if !ok || info.typ == kmsg.ConfigTypeUnknown || info.doc == "" || info.broker == "" {
			t.Errorf("topic config %s: no type, doc or broker synonym in topicConfigInfos", n)
		}
	}
	if len(topicConfigInfos) != len(config.TopicConfigNames()) {
		t.Errorf("topicConfigInfos has %d entries for %d topic configs", len(topicConfigInfos), len(config.TopicConfigNames()))
	}
	for _, p := range config.Properties() {
		if brokerConfigTypes[p.Name] == kmsg.ConfigTypeUnknown {
			t.Errorf("broker property %s: no type in brokerConfigTypes", p.Name)
		}
	}
	if len(brokerConfigTypes) != len(config.Properties()) {
		t.Errorf("brokerConfigTypes has %d entries for %d properties", len(brokerConfigTypes), len(config.Properties()))
	}
}

func TestDescribeTopicConfigs(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "d", 1, map[string]string{"retention.ms": "1000"})
	all := config.TopicConfigNames()

	// v0: values and is_default.
	r := describeReq(t, b, 0, resTopic, "d", describeOpts{})
	if r.ErrorCode != 0 || len(r.Configs) != len(all) || r.ResourceName != "d" || r.ResourceType != resTopic {
		t.Fatalf("v0: error %d, %d configs, want %d", r.ErrorCode, len(r.Configs), len(all))
	}
	m := byName(r)
	if c := m["retention.ms"]; *c.Value != "1000" || c.IsDefault || c.ReadOnly || c.IsSensitive {
		t.Errorf("v0 retention.ms: %+v", c)
	}
	if c := m["max.message.bytes"]; *c.Value != "1048588" || !c.IsDefault {
		t.Errorf("v0 max.message.bytes: value %s default %v", *c.Value, c.IsDefault)
	}

	// v1: sources and synonyms.
	r = describeReq(t, b, 1, resTopic, "d", describeOpts{synonyms: true})
	m = byName(r)
	type syn struct {
		name, value string
		source      kmsg.ConfigSource
	}
	synonyms := func(c kmsg.DescribeConfigsResponseResourceConfig) []syn {
		var out []syn
		for _, s := range c.ConfigSynonyms {
			out = append(out, syn{s.Name, *s.Value, s.Source})
		}
		return out
	}
	wantSyn := map[string][]syn{
		"retention.ms": {{"retention.ms", "1000", kmsg.ConfigSourceDynamicTopicConfig},
			{"log.retention.ms", "604800000", kmsg.ConfigSourceStaticBrokerConfig}},
		"segment.ms":     {{"log.roll.ms", "604800000", kmsg.ConfigSourceStaticBrokerConfig}},
		"cleanup.policy": {{"log.cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig}},
	}
	for name, want := range wantSyn {
		if got := synonyms(m[name]); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("v1 %s synonyms: %v, want %v", name, got, want)
		}
	}
	if m["retention.ms"].Source != kmsg.ConfigSourceDynamicTopicConfig || m["segment.ms"].Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("v1 sources: retention.ms %v, segment.ms %v", m["retention.ms"].Source, m["segment.ms"].Source)
	}
	r = describeReq(t, b, 1, resTopic, "d", describeOpts{})
	for _, c := range r.Configs {
		if len(c.ConfigSynonyms) != 0 {
			t.Errorf("v1 without include_synonyms: %s has synonyms", c.Name)
		}
	}

	// v4: types and documentation.
	r = describeReq(t, b, 4, resTopic, "d", describeOpts{docs: true})
	m = byName(r)
	for name, want := range map[string]kmsg.ConfigType{
		"retention.ms": kmsg.ConfigTypeLong, "segment.bytes": kmsg.ConfigTypeInt,
		"cleanup.policy": kmsg.ConfigTypeList, "message.timestamp.type": kmsg.ConfigTypeString,
	} {
		if m[name].ConfigType != want {
			t.Errorf("v4 %s: type %v, want %v", name, m[name].ConfigType, want)
		}
	}
	for _, c := range r.Configs {
		if c.Documentation == nil || *c.Documentation == "" {
			t.Errorf("v4 %s: no documentation", c.Name)
		}
	}
	r = describeReq(t, b, 4, resTopic, "d", describeOpts{})
	if r.Configs[0].Documentation != nil {
		t.Errorf("v4 without include_documentation: documentation sent")
	}

	// Name filter: unknown names are left out; an empty list means all.
	r = describeReq(t, b, 4, resTopic, "d", describeOpts{names: []string{"retention.ms", "no.such.config"}})
	if r.ErrorCode != 0 || len(r.Configs) != 1 || r.Configs[0].Name != "retention.ms" {
		t.Errorf("filtered: error %d, configs %+v", r.ErrorCode, r.Configs)
	}
	if r = describeReq(t, b, 4, resTopic, "d", describeOpts{names: []string{}}); len(r.Configs) != len(all) {
		t.Errorf("empty name list: %d configs, want %d", len(r.Configs), len(all))
	}
}

func TestDescribeConfigsErrors(t *testing.T) {
	b := newTestBroker(t)
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version = 4
	cases := []struct {
		typ  kmsg.ConfigResourceType
		name string
		want *kerr.Error
	}{
		{resTopic, "missing", kerr.UnknownTopicOrPartition},
		{resTopic, "bad name!", kerr.InvalidTopicException},
		{resTopic, "", kerr.InvalidTopicException},
		{resBroker, "2", kerr.InvalidRequest},
		{resBroker, "one", kerr.InvalidRequest},
		{kmsg.ConfigResourceTypeBrokerLogger, "1", kerr.InvalidRequest},
	}
	for _, c := range cases {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = c.typ, c.name
		req.Resources = append(req.Resources, rr)
	}
	resp := serve(t, b, req).(*kmsg.DescribeConfigsResponse)
	for i, c := range cases {
		r := resp.Resources[i]
		if r.ErrorCode != c.want.Code || r.ErrorMessage == nil || len(r.Configs) != 0 || r.ResourceName != c.name {
			t.Errorf("%v %q: error %d (%v), %d configs; want %s", c.typ, c.name, r.ErrorCode, r.ErrorMessage, len(r.Configs), c.want.Message)
		}
	}
}

func TestDescribeBrokerConfigs(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.LogRetentionMs = 90000 // not a whole number of hours or minutes
	b := openTestBroker(t, cfg)
	defer b.Close(context.Background())

	r := describeReq(t, b, 4, resBroker, "1", describeOpts{synonyms: true, docs: true})
	if r.ErrorCode != 0 || len(r.Configs) != len(config.Properties()) {
		t.Fatalf("error %d, %d configs, want %d", r.ErrorCode, len(r.Configs), len(config.Properties()))
	}
	m := byName(r)
	for _, c := range r.Configs {
		if !c.ReadOnly || c.Source != kmsg.ConfigSourceStaticBrokerConfig || c.ConfigType == kmsg.ConfigTypeUnknown || c.Documentation == nil {
			t.Errorf("%s: %+v", c.Name, c)
		}
	}
	if c := m["log.dirs"]; *c.Value != cfg.LogDirs[0] || len(c.ConfigSynonyms) != 1 {
		t.Errorf("log.dirs: %+v", c)
	}
	if c := m["log.retention.ms"]; *c.Value != "90000" {
		t.Errorf("log.retention.ms: %s", *c.Value)
	}
	if c := m["log.retention.hours"]; c.Value != nil {
		t.Errorf("log.retention.hours: %s, want null (90000 ms is not whole hours)", *c.Value)
	}
	if c := m["auto.create.topics.enable"]; c.ConfigType != kmsg.ConfigTypeBoolean || *c.Value != "true" {
		t.Errorf("auto.create.topics.enable: %v %s", c.ConfigType, *c.Value)
	}
	// A topic's retention.ms falls back to the broker's value.
	createTopic(t, b, "r", 1, nil)
	if vals, _ := topicValues(t, b, "r"); vals["retention.ms"] != "90000" {
		t.Errorf("topic retention.ms %s, want the broker's 90000", vals["retention.ms"])
	}

	r = describeReq(t, b, 0, resBroker, "1", describeOpts{names: []string{"node.id"}})
	if len(r.Configs) != 1 || *r.Configs[0].Value != "1" || r.Configs[0].IsDefault || !r.Configs[0].ReadOnly {
		t.Errorf("v0 node.id: %+v", r.Configs)
	}
	// The empty name is the cluster-wide dynamic defaults: none here.
	if r = describeReq(t, b, 4, resBroker, "", describeOpts{}); r.ErrorCode != 0 || len(r.Configs) != 0 {
		t.Errorf("empty broker name: error %d, %d configs", r.ErrorCode, len(r.Configs))
	}
}

func TestAlterConfigsReplacesOverrides(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "a", 1, map[string]string{"retention.ms": "1000", "cleanup.policy": "compact"})
	for v := int16(0); v <= 2; v++ {
		want := fmt.Sprint(5000 + v)
		r := alterReq(t, b, v, false, resTopic, "a", map[string]string{"max.message.bytes": want})
		if r.ErrorCode != 0 || r.ErrorMessage != nil || r.ResourceName != "a" {
			t.Fatalf("v%d: error %d %v", v, r.ErrorCode, r.ErrorMessage)
		}
		vals, set := topicValues(t, b, "a")
		if vals["max.message.bytes"] != want || !set["max.message.bytes"] {
			t.Errorf("v%d: max.message.bytes %s (overridden %v), want %s", v, vals["max.message.bytes"], set["max.message.bytes"], want)
		}
		// Configs the request leaves out go back to their defaults.
		if vals["retention.ms"] != "604800000" || set["retention.ms"] || vals["cleanup.policy"] != "delete" || set["cleanup.policy"] {
			t.Errorf("v%d: retention.ms %s, cleanup.policy %s: not reverted", v, vals["retention.ms"], vals["cleanup.policy"])
		}
	}
	if got := b.topicByName("a").overrides(); len(got) != 1 || got["max.message.bytes"] != "5002" {
		t.Errorf("overrides %v", got)
	}

	// validate_only checks but changes nothing.
	if r := alterReq(t, b, 2, true, resTopic, "a", map[string]string{"segment.bytes": "2000"}); r.ErrorCode != 0 {
		t.Errorf("validate only: error %d", r.ErrorCode)
	}
	if r := alterReq(t, b, 2, true, resTopic, "a", map[string]string{"segment.bytes": "big"}); r.ErrorCode != kerr.InvalidConfig.Code {
		t.Errorf("validate only, bad value: error %d", r.ErrorCode)
	}
	if vals, set := topicValues(t, b, "a"); set["segment.bytes"] || vals["max.message.bytes"] != "5002" {
		t.Errorf("validate only changed the configs: %v", vals)
	}

	// An empty set of configs clears every override.
	if r := alterReq(t, b, 2, false, resTopic, "a", nil); r.ErrorCode != 0 {
		t.Errorf("clear: error %d", r.ErrorCode)
	}
	if got := b.topicByName("a").overrides(); len(got) != 0 {
		t.Errorf("after clearing: overrides %v", got)
	}
}

func TestAlterConfigsErrors(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "e", 1, map[string]string{"retention.ms": "1000"})
	cases := []struct {
		name    string
		typ     kmsg.ConfigResourceType
		res     string
		configs map[string]string
		want    *kerr.Error
	}{
		{"unknown config", resTopic, "e", map[string]string{"no.such.config": "1"}, kerr.InvalidConfig},
		{"bad value", resTopic, "e", map[string]string{"retention.ms": "soon"}, kerr.InvalidConfig},
		{"out of range", resTopic, "e", map[string]string{"segment.bytes": "3"}, kerr.InvalidConfig},
		{"unknown topic", resTopic, "nope", map[string]string{"retention.ms": "1"}, kerr.UnknownTopicOrPartition},
		{"bad topic name", resTopic, "a/b", nil, kerr.InvalidTopicException},
		{"broker config", resBroker, "1", map[string]string{"log.retention.ms": "1"}, kerr.InvalidRequest},
		{"cluster default", resBroker, "", map[string]string{"message.max.bytes": "1"}, kerr.InvalidRequest},
		{"other broker", resBroker, "2", nil, kerr.InvalidRequest},
		{"logger", kmsg.ConfigResourceTypeBrokerLogger, "1", nil, kerr.InvalidRequest},
	}
	for _, c := range cases {
		r := alterReq(t, b, 1, false, c.typ, c.res, c.configs)
		if r.ErrorCode != c.want.Code || r.ErrorMessage == nil || *r.ErrorMessage == "" {
			t.Errorf("%s: error %d (%v), want %s with a message", c.name, r.ErrorCode, r.ErrorMessage, c.want.Message)
		}
	}
	if r := alterReq(t, b, 1, false, resBroker, "1", nil); r.ErrorCode != 0 {
		t.Errorf("broker, nothing to change: error %d", r.ErrorCode)
	}
	if got := b.topicByName("e").overrides(); len(got) != 1 || got["retention.ms"] != "1000" {
		t.Errorf("failed changes altered the topic: %v", got)
	}

	// Null values, configs named twice and resources named twice are
	// malformed requests.
	req := kmsg.NewPtrAlterConfigsRequest()
	req.Version = 2
	null := kmsg.NewAlterConfigsRequestResource()
	null.ResourceType, null.ResourceName = resTopic, "e"
	null.Configs = []kmsg.AlterConfigsRequestResourceConfig{{Name: "retention.ms"}}
	twice := kmsg.NewAlterConfigsRequestResource()
	twice.ResourceType, twice.ResourceName = resBroker, "1"
	dup := kmsg.NewAlterConfigsRequestResource()
	dup.ResourceType, dup.ResourceName = resTopic, "x"
	dup.Configs = []kmsg.AlterConfigsRequestResourceConfig{
		{Name: "retention.ms", Value: kmsg.StringPtr("1")}, {Name: "retention.ms", Value: kmsg.StringPtr("2")},
	}
	req.Resources = append(req.Resources, null, twice, dup, twice)
	resp := serve(t, b, req).(*kmsg.AlterConfigsResponse)
	for i, r := range resp.Resources {
		if r.ErrorCode != kerr.InvalidRequest.Code {
			t.Errorf("resource %d (%s): error %d, want INVALID_REQUEST", i, r.ResourceName, r.ErrorCode)
		}
	}
}

func TestIncrementalAlterConfigs(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "i", 1, map[string]string{"retention.ms": "1000"})
	check := func(step string, r kmsg.IncrementalAlterConfigsResponseResource, want *kerr.Error) {
		t.Helper()
		code := int16(0)
		if want != nil {
			code = want.Code
		}
		if r.ErrorCode != code || (want != nil && r.ErrorMessage == nil) {
			t.Fatalf("%s: error %d (%v), want %d", step, r.ErrorCode, r.ErrorMessage, code)
		}
	}
	values := func(step string, want map[string]string, overridden ...string) {
		t.Helper()
		vals, set := topicValues(t, b, "i")
		for k, v := range want {
			if vals[k] != v {
				t.Errorf("%s: %s = %s, want %s", step, k, vals[k], v)
			}
		}
		n := 0
		for _, ok := range set {
			if ok {
				n++
			}
		}
		for _, k := range overridden {
			if !set[k] {
				t.Errorf("%s: %s not overridden", step, k)
			}
		}
		if n != len(overridden) {
			t.Errorf("%s: %d overrides, want %v", step, n, overridden)
		}
	}

	check("set", incrementalReq(t, b, 0, false, resTopic, "i", setOp("segment.bytes", "100000")), nil)
	values("set", map[string]string{"segment.bytes": "100000", "retention.ms": "1000"}, "segment.bytes", "retention.ms")
	check("delete", incrementalReq(t, b, 1, false, resTopic, "i", delOp("retention.ms"), delOp("segment.ms")), nil)
	values("delete", map[string]string{"retention.ms": "604800000"}, "segment.bytes")
	check("append", incrementalReq(t, b, 1, false, resTopic, "i", appendOp("cleanup.policy", "compact")), nil)
	values("append", map[string]string{"cleanup.policy": "compact,delete"}, "segment.bytes", "cleanup.policy")
	check("append again", incrementalReq(t, b, 1, false, resTopic, "i", appendOp("cleanup.policy", "compact,delete")), nil)
	values("append again", map[string]string{"cleanup.policy": "compact,delete"}, "segment.bytes", "cleanup.policy")
	check("subtract", incrementalReq(t, b, 1, false, resTopic, "i", subtractOp("cleanup.policy", "delete")), nil)
	values("subtract", map[string]string{"cleanup.policy": "compact"}, "segment.bytes", "cleanup.policy")
	check("subtract all", incrementalReq(t, b, 1, false, resTopic, "i", subtractOp("cleanup.policy", "compact")), kerr.InvalidConfig)
	check("append to a number", incrementalReq(t, b, 1, false, resTopic, "i", appendOp("retention.ms", "5")), kerr.InvalidConfig)
	check("unknown name", incrementalReq(t, b, 1, false, resTopic, "i", setOp("retention.minutes", "5")), kerr.InvalidConfig)
	check("delete unknown name", incrementalReq(t, b, 1, false, resTopic, "i", delOp("no.such.config")), kerr.InvalidConfig)
	check("bad value", incrementalReq(t, b, 1, false, resTopic, "i", setOp("message.timestamp.type", "createtime")), kerr.InvalidConfig)
	check("one bad op fails all", incrementalReq(t, b, 1, false, resTopic, "i", setOp("retention.ms", "5"), setOp("max.message.bytes", "-1")), kerr.InvalidConfig)
	check("validate only", incrementalReq(t, b, 1, true, resTopic, "i", setOp("retention.ms", "5"), delOp("segment.bytes")), nil)
	values("after the failures", map[string]string{"cleanup.policy": "compact", "retention.ms": "604800000"}, "segment.bytes", "cleanup.policy")

	check("unknown topic", incrementalReq(t, b, 1, false, resTopic, "nope", setOp("retention.ms", "5")), kerr.UnknownTopicOrPartition)
	check("null value", incrementalReq(t, b, 1, false, resTopic, "i", configOp{"retention.ms", kmsg.IncrementalAlterConfigOpSet, nil}), kerr.InvalidRequest)
	check("twice", incrementalReq(t, b, 1, false, resTopic, "i", setOp("retention.ms", "5"), delOp("retention.ms")), kerr.InvalidRequest)
	check("unknown op", incrementalReq(t, b, 1, false, resTopic, "i", configOp{"retention.ms", 9, kmsg.StringPtr("5")}), kerr.InvalidRequest)
	check("broker set", incrementalReq(t, b, 1, false, resBroker, "1", setOp("log.retention.ms", "5")), kerr.InvalidRequest)
	check("broker delete", incrementalReq(t, b, 1, false, resBroker, "1", delOp("log.retention.ms")), nil)
	check("other broker", incrementalReq(t, b, 1, false, resBroker, "7", delOp("log.retention.ms")), kerr.InvalidRequest)
}

// A new max.message.bytes or message.timestamp.type holds from the very
// next produce.
func TestAlteredConfigsApplyAtOnce(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "p", 1, nil)
	batch := testBatch(-1, 0, 0, kv{value: make([]byte, 3000)})
	if r := produce(t, b, -1, "p", 0, batch); r.ErrorCode != 0 || r.LogAppendTime != -1 {
		t.Fatalf("produce before: error %d, log append time %d", r.ErrorCode, r.LogAppendTime)
	}
	if r := incrementalReq(t, b, 1, false, resTopic, "p", setOp("max.message.bytes", "2000")); r.ErrorCode != 0 {
		t.Fatalf("alter: error %d", r.ErrorCode)
	}
	if r := produce(t, b, -1, "p", 0, batch); r.ErrorCode != kerr.MessageTooLarge.Code {
		t.Fatalf("produce after lowering max.message.bytes: error %d, want MESSAGE_TOO_LARGE", r.ErrorCode)
	}
	if r := incrementalReq(t, b, 1, false, resTopic, "p", delOp("max.message.bytes"), setOp("message.timestamp.type", "LogAppendTime")); r.ErrorCode != 0 {
		t.Fatalf("alter: error %d", r.ErrorCode)
	}
	if r := produce(t, b, -1, "p", 0, batch); r.ErrorCode != 0 || r.LogAppendTime <= 0 {
		t.Fatalf("produce after the second change: error %d, log append time %d", r.ErrorCode, r.LogAppendTime)
	}
}

// Config changes race with produces and with each other without losing
// any (run with -race).
func TestConcurrentConfigChanges(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "c", 1, nil)
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				name := [...]string{"retention.ms", "segment.ms"}[g]
				if r := incrementalReq(t, b, 1, false, resTopic, "c", setOp(name, fmt.Sprint(1000+i))); r.ErrorCode != 0 {
					t.Errorf("alter %s: error %d", name, r.ErrorCode)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 10; i++ {
			produce(t, b, 1, "c", 0, testBatch(-1, 0, 0, kv{value: []byte("x")}))
		}
	}()
	wg.Wait()
	if got := b.topicByName("c").overrides(); got["retention.ms"] != "1009" || got["segment.ms"] != "1009" {
		t.Errorf("overrides after concurrent changes: %v", got)
	}
}

func TestTopicConfigsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	b := openTestBroker(t, testConfig(dir))
	createTopic(t, b, "k", 2, map[string]string{"retention.ms": "1000"})
	createTopic(t, b, "other", 1, nil)
	// Enough changes that the metadata log is rewritten at least once.
	for i := 0; i < 80; i++ {
		if r := alterReq(t, b, 2, false, resTopic, "k", map[string]string{"segment.ms": fmt.Sprint(1000 + i)}); r.ErrorCode != 0 {
			t.Fatalf("alter %d: error %d", i, r.ErrorCode)
		}
	}
	if r := incrementalReq(t, b, 1, false, resTopic, "k", setOp("max.message.bytes", "2000"), appendOp("cleanup.policy", "compact")); r.ErrorCode != 0 {
		t.Fatalf("alter: error %d", r.ErrorCode)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b = openTestBroker(t, testConfig(dir))
	defer b.Close(context.Background())
	vals, set := topicValues(t, b, "k")
	want := map[string]string{"segment.ms": "1079", "max.message.bytes": "2000", "cleanup.policy": "compact,delete", "retention.ms": "604800000"}
	for k, v := range want {
		if vals[k] != v {
			t.Errorf("after restart: %s = %s, want %s", k, vals[k], v)
		}
	}
	if set["retention.ms"] || !set["segment.ms"] {
		t.Errorf("after restart: overridden %v", set)
	}
	if r := produce(t, b, -1, "k", 0, testBatch(-1, 0, 0, kv{value: make([]byte, 3000)})); r.ErrorCode != kerr.MessageTooLarge.Code {
		t.Errorf("produce after restart: error %d, want MESSAGE_TOO_LARGE", r.ErrorCode)
	}
	if got := b.topicByName("other").overrides(); len(got) != 0 {
		t.Errorf("other topic's overrides after restart: %v", got)
	}
}

func TestConfigHandlerPanicsAnswerUnknownServerError(t *testing.T) {
	b := newTestBroker(t)
	for _, k := range []int16{32, 33, 44} {
		b.apis[k].handle = func(*Broker, *reqCtx, kmsg.Request) response { panic("boom") }
	}
	code := kerr.UnknownServerError.Code
	d := describeReq(t, b, 4, resTopic, "x", describeOpts{})
	a := alterReq(t, b, 2, false, resTopic, "x", nil)
	i := incrementalReq(t, b, 1, false, resBroker, "1")
	if d.ErrorCode != code || a.ErrorCode != code || i.ErrorCode != code || d.ResourceName != "x" || i.ResourceName != "1" {
		t.Errorf("errors %d %d %d, want UNKNOWN_SERVER_ERROR for each", d.ErrorCode, a.ErrorCode, i.ErrorCode)
	}
}

func TestNamedTwice(t *testing.T) {
	rs := []resourceKey{{resTopic, "a"}, {resBroker, "a"}, {resTopic, "a"}, {resTopic, "b"}}
	got := namedTwice(rs, func(k resourceKey) resourceKey { return k })
	want := []bool{true, false, true, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("namedTwice = %v, want %v", got, want)
		}
	}
}
