package kernel

import (
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/kernel/config"
)

// Kafka's config APIs: DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs, for TOPIC resources (read and write) and the
// BROKER resource (read only: Runnel's broker configs are static).
//
// Errors follow Kafka's (KRaft) choices: a resource named twice, a config
// named twice in one resource, a null value to set, an unknown operation
// or resource type, a broker resource naming another node, and any change
// to a broker config are INVALID_REQUEST; an unknown topic config name, a
// bad value, or APPEND/SUBTRACT on a config that is not a list are
// INVALID_CONFIG.

// topicConfigInfo is what DescribeConfigs tells about a topic config
// besides its value.
type topicConfigInfo struct {
	typ kmsg.ConfigType
	// broker is the broker property the topic config defaults from, by
	// Kafka's name: the synonym DescribeConfigs lists after an override.
	broker string
	doc    string
}

// topicConfigInfos covers every name of config.TopicConfigNames;
// TestConfigTablesCoverEveryConfig checks that.
var topicConfigInfos = map[string]topicConfigInfo{
	"cleanup.policy": {kmsg.ConfigTypeList, "log.cleanup.policy",
		"What happens to old log segments: delete drops them by retention, compact keeps the latest record of each key; a list of delete and compact."},
	"delete.retention.ms": {kmsg.ConfigTypeLong, "log.cleaner.delete.retention.ms",
		"How long in milliseconds compaction keeps delete tombstones."},
	"flush.messages": {kmsg.ConfigTypeLong, "log.flush.interval.messages",
		"Unflushed records that trigger an fsync; 1 acknowledges a produce only once its batch is fsync'd."},
	"flush.ms": {kmsg.ConfigTypeLong, "log.flush.interval.ms",
		"Longest time in milliseconds unflushed data waits for an fsync when flush.messages is above 1."},
	"max.message.bytes": {kmsg.ConfigTypeInt, "message.max.bytes",
		"Largest record batch in bytes the topic accepts."},
	"message.timestamp.type": {kmsg.ConfigTypeString, "log.message.timestamp.type",
		"CreateTime keeps the producer's record timestamps; LogAppendTime stamps each batch with the broker's clock."},
	"min.insync.replicas": {kmsg.ConfigTypeInt, "min.insync.replicas",
		"Replicas that must have a write for an acks=all produce to succeed."},
	"retention.bytes": {kmsg.ConfigTypeLong, "log.retention.bytes",
		"Bytes to keep per partition before old segments are deleted; -1 is unbounded."},
	"retention.ms": {kmsg.ConfigTypeLong, "log.retention.ms",
		"How long in milliseconds to keep records before their segment is deleted; -1 keeps them forever."},
	"segment.bytes": {kmsg.ConfigTypeInt, "log.segment.bytes",
		"Size in bytes at which a log segment is rolled."},
	"segment.ms": {kmsg.ConfigTypeLong, "log.roll.ms",
		"Age in milliseconds at which a log segment is rolled."},
}

// brokerConfigTypes gives the Kafka type of every broker property of
// config.Properties; TestConfigTablesCoverEveryConfig checks that.
var brokerConfigTypes = map[string]kmsg.ConfigType{
	"node.id":                         kmsg.ConfigTypeInt,
	"listeners":                       kmsg.ConfigTypeString,
	"advertised.listeners":            kmsg.ConfigTypeString,
	"log.dirs":                        kmsg.ConfigTypeString,
	"log.dir":                         kmsg.ConfigTypeString,
	"num.partitions":                  kmsg.ConfigTypeInt,
	"default.replication.factor":      kmsg.ConfigTypeInt,
	"auto.create.topics.enable":       kmsg.ConfigTypeBoolean,
	"delete.topic.enable":             kmsg.ConfigTypeBoolean,
	"log.segment.bytes":               kmsg.ConfigTypeInt,
	"log.roll.ms":                     kmsg.ConfigTypeLong,
	"log.roll.hours":                  kmsg.ConfigTypeInt,
	"log.retention.ms":                kmsg.ConfigTypeLong,
	"log.retention.minutes":           kmsg.ConfigTypeInt,
	"log.retention.hours":             kmsg.ConfigTypeInt,
	"log.retention.bytes":             kmsg.ConfigTypeLong,
	"message.max.bytes":               kmsg.ConfigTypeInt,
	"socket.request.max.bytes":        kmsg.ConfigTypeInt,
	"log.flush.interval.messages":     kmsg.ConfigTypeLong,
	"log.flush.interval.ms":           kmsg.ConfigTypeLong,
	"admin.listener":                  kmsg.ConfigTypeString,
	"fetch.zero.copy.enable":          kmsg.ConfigTypeBoolean,
	"plugin.dir":                      kmsg.ConfigTypeString,
	"plugin.assignor":                 kmsg.ConfigTypeString,
	"plugin.assignor.fallback":        kmsg.ConfigTypeString,
	"plugin.assignor.groups":          kmsg.ConfigTypeList,
	"plugin.consensus":                kmsg.ConfigTypeString,
	"plugin.replicator":               kmsg.ConfigTypeString,
	"plugin.call.timeout.ms":          kmsg.ConfigTypeLong,
	"plugin.start.timeout.ms":         kmsg.ConfigTypeLong,
	"plugin.health.check.interval.ms": kmsg.ConfigTypeLong,
	"num.network.threads":             kmsg.ConfigTypeInt,

	"offsets.topic.num.partitions":            kmsg.ConfigTypeInt,
	"offsets.retention.minutes":               kmsg.ConfigTypeInt,
	"group.initial.rebalance.delay.ms":        kmsg.ConfigTypeInt,
	"group.min.session.timeout.ms":            kmsg.ConfigTypeInt,
	"group.max.session.timeout.ms":            kmsg.ConfigTypeInt,
	"group.consumer.heartbeat.interval.ms":    kmsg.ConfigTypeInt,
	"group.consumer.session.timeout.ms":       kmsg.ConfigTypeInt,
	"log.retention.check.interval.ms":         kmsg.ConfigTypeLong,
	"log.flush.offset.checkpoint.interval.ms": kmsg.ConfigTypeInt,
	"log.cleaner.backoff.ms":                  kmsg.ConfigTypeLong,
	"log.cleaner.min.cleanable.ratio":         kmsg.ConfigTypeDouble,
}

// brokerProperties indexes config.Properties by name.
var brokerProperties = func() map[string]config.Property {
	m := map[string]config.Property{}
	for _, p := range config.Properties() {
		m[p.Name] = p
	}
	return m
}()

// wanted is a DescribeConfigs name filter: null or empty asks for all
// (Kafka treats both alike); unknown names are left out, not errors.
func wanted(names []string) func(string) bool {
	if len(names) == 0 {
		return func(string) bool { return true }
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return func(n string) bool { return set[n] }
}

func (b *Broker) handleDescribeConfigs(rc *reqCtx, req *kmsg.DescribeConfigsRequest) response {
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var terr *topicError
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			sr.Configs, terr = b.describeTopicConfigs(req, rr)
		case kmsg.ConfigResourceTypeBroker:
			sr.Configs, terr = b.describeBrokerConfigs(req, rr)
		default:
			terr = unsupportedResource(rr.ResourceType)
		}
		if terr != nil {
			sr.Configs = nil
			setError(&sr.ErrorCode, &sr.ErrorMessage, terr)
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return response{msg: resp}
}

func (b *Broker) describeTopicConfigs(req *kmsg.DescribeConfigsRequest, rr kmsg.DescribeConfigsRequestResource) ([]kmsg.DescribeConfigsResponseResourceConfig, *topicError) {
	t, terr := b.configTopic(rr.ResourceName)
	if terr != nil {
		return nil, terr
	}
	s := t.settings.Load()
	defaults := b.cfg.TopicDefaults()
	include := wanted(rr.ConfigNames)
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, name := range config.TopicConfigNames() {
		if !include(name) {
			continue
		}
		v, _ := s.cfg.Get(name)
		info := topicConfigInfos[name]
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.ConfigType = name, &v, info.typ
		_, overridden := s.overrides[name]
		c.Source, c.IsDefault = kmsg.ConfigSourceDefaultConfig, !overridden
		if overridden {
			c.Source = kmsg.ConfigSourceDynamicTopicConfig
		}
		if req.IncludeSynonyms {
			if overridden {
				c.ConfigSynonyms = append(c.ConfigSynonyms, synonym(name, &v, kmsg.ConfigSourceDynamicTopicConfig))
			}
			if info.broker != "" {
				c.ConfigSynonyms = append(c.ConfigSynonyms, b.brokerSynonym(info.broker, name, defaults))
			}
		}
		if req.IncludeDocumentation && info.doc != "" {
			doc := info.doc
			c.Documentation = &doc
		}
		out = append(out, c)
	}
	return out, nil
}

// brokerSynonym is the broker-level default behind topic config name: a
// broker property Runnel has, as configured, or else Kafka's property of
// that name at its built-in default.
func (b *Broker) brokerSynonym(broker, name string, defaults config.Topic) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	if _, ok := brokerProperties[broker]; ok {
		if v, ok := b.cfg.Get(broker); ok {
			return synonym(broker, &v, kmsg.ConfigSourceStaticBrokerConfig)
		}
	}
	v, _ := defaults.Get(name)
	return synonym(broker, &v, kmsg.ConfigSourceDefaultConfig)
}

func synonym(name string, value *string, source kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	s.Name, s.Value, s.Source = name, value, source
	return s
}

// describeBrokerConfigs lists the broker's properties, all static and
// read-only. An empty resource name asks Kafka for the dynamic
// cluster-wide defaults, of which Runnel has none.
func (b *Broker) describeBrokerConfigs(req *kmsg.DescribeConfigsRequest, rr kmsg.DescribeConfigsRequestResource) ([]kmsg.DescribeConfigsResponseResourceConfig, *topicError) {
	if rr.ResourceName == "" {
		return nil, nil
	}
	if terr := b.checkBrokerName(rr.ResourceName); terr != nil {
		return nil, terr
	}
	include := wanted(rr.ConfigNames)
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, p := range config.Properties() {
		if !include(p.Name) {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.ReadOnly, c.ConfigType = p.Name, true, brokerConfigTypes[p.Name]
		c.Source = kmsg.ConfigSourceStaticBrokerConfig
		if v, ok := b.cfg.Get(p.Name); ok {
			c.Value = &v
			if req.IncludeSynonyms {
				c.ConfigSynonyms = append(c.ConfigSynonyms, synonym(p.Name, &v, kmsg.ConfigSourceStaticBrokerConfig))
			}
		}
		if req.IncludeDocumentation {
			doc := p.Doc
			c.Documentation = &doc
		}
		out = append(out, c)
	}
	return out, nil
}

// configTopic finds the topic a config resource names.
func (b *Broker) configTopic(name string) (*topic, *topicError) {
	if err := validTopicName(name); err != nil {
		return nil, newTopicError(kerr.InvalidTopicException, "%v", err)
	}
	t := b.topicByName(name)
	if t == nil {
		return nil, newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", name)
	}
	return t, nil
}

// checkBrokerName accepts a BROKER resource naming this node.
func (b *Broker) checkBrokerName(name string) *topicError {
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return newTopicError(kerr.InvalidRequest, "broker id must be an integer, but it is %q", name)
	}
	if int32(id) != b.cfg.NodeID {
		return newTopicError(kerr.InvalidRequest, "unexpected broker id: expected %d or an empty name, but received %s", b.cfg.NodeID, name)
	}
	return nil
}

func unsupportedResource(typ kmsg.ConfigResourceType) *topicError {
	return newTopicError(kerr.InvalidRequest, "unsupported resource type %d (%s): Runnel serves configs of TOPIC (2) and BROKER (4) resources", int8(typ), typ)
}

// staticBrokerConfigs is the answer to a change of broker configs.
func staticBrokerConfigs(names []string) *topicError {
	return newTopicError(kerr.InvalidRequest,
		"cannot update these configs dynamically: %s; Runnel's broker configs are static: set them in the properties file and restart the broker",
		strings.Join(names, ", "))
}

func setError(code *int16, msg **string, terr *topicError) {
	*code = terr.code
	m := terr.msg
	*msg = &m
}

// resourceKey identifies a config resource, to find ones named twice.
type resourceKey struct {
	typ  kmsg.ConfigResourceType
	name string
}

// namedTwice reports, for each resource of a request, whether the
// request names that resource more than once (Kafka refuses all of its
// entries then).
func namedTwice[R any](rs []R, key func(R) resourceKey) []bool {
	count := make(map[resourceKey]int, len(rs))
	for _, r := range rs {
		count[key(r)]++
	}
	twice := make([]bool, len(rs))
	for i, r := range rs {
		twice[i] = count[key(r)] > 1
	}
	return twice
}

// checkNames applies the checks Kafka makes before looking at a resource:
// no config named twice, no null value where one is needed.
func checkNames(names []string, null []string) *topicError {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return newTopicError(kerr.InvalidRequest, "config %q is named more than once", n)
		}
		seen[n] = true
	}
	if len(null) > 0 {
		return newTopicError(kerr.InvalidRequest, "null value not supported for: %s", strings.Join(null, ", "))
	}
	return nil
}

func (b *Broker) handleAlterConfigs(rc *reqCtx, req *kmsg.AlterConfigsRequest) response {
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	twice := namedTwice(req.Resources, func(rr kmsg.AlterConfigsRequestResource) resourceKey {
		return resourceKey{rr.ResourceType, rr.ResourceName}
	})
	for i, rr := range req.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		if terr := b.alterConfigs(rr, req.ValidateOnly, twice[i]); terr != nil {
			setError(&sr.ErrorCode, &sr.ErrorMessage, terr)
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return response{msg: resp}
}

// alterConfigs replaces every override of one resource: configs the
// request does not name go back to their defaults.
func (b *Broker) alterConfigs(rr kmsg.AlterConfigsRequestResource, validateOnly, twice bool) *topicError {
	if twice {
		return newTopicError(kerr.InvalidRequest, "each resource must appear at most once")
	}
	names := make([]string, len(rr.Configs))
	var null []string
	for i, c := range rr.Configs {
		names[i] = c.Name
		if c.Value == nil {
			null = append(null, c.Name)
		}
	}
	if terr := checkNames(names, null); terr != nil {
		return terr
	}
	switch rr.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		t, terr := b.configTopic(rr.ResourceName)
		if terr != nil {
			return terr
		}
		return b.setTopicConfigs(t, validateOnly, func(map[string]string) (map[string]string, *topicError) {
			next := make(map[string]string, len(rr.Configs))
			for _, c := range rr.Configs {
				next[c.Name] = *c.Value
			}
			return next, nil
		})
	case kmsg.ConfigResourceTypeBroker:
		if rr.ResourceName != "" {
			if terr := b.checkBrokerName(rr.ResourceName); terr != nil {
				return terr
			}
		}
		if len(names) > 0 {
			return staticBrokerConfigs(names)
		}
		return nil // no dynamic broker configs to clear
	}
	return unsupportedResource(rr.ResourceType)
}

func failAlterConfigs(req *kmsg.AlterConfigsRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, rr := range req.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName, sr.ErrorCode = rr.ResourceType, rr.ResourceName, code
		resp.Resources = append(resp.Resources, sr)
	}
	return resp
}

func (b *Broker) handleIncrementalAlterConfigs(rc *reqCtx, req *kmsg.IncrementalAlterConfigsRequest) response {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	twice := namedTwice(req.Resources, func(rr kmsg.IncrementalAlterConfigsRequestResource) resourceKey {
		return resourceKey{rr.ResourceType, rr.ResourceName}
	})
	for i, rr := range req.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		if terr := b.incrementalAlterConfigs(rr, req.ValidateOnly, twice[i]); terr != nil {
			setError(&sr.ErrorCode, &sr.ErrorMessage, terr)
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return response{msg: resp}
}

// incrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT
// operations to one resource's overrides.
func (b *Broker) incrementalAlterConfigs(rr kmsg.IncrementalAlterConfigsRequestResource, validateOnly, twice bool) *topicError {
	if twice {
		return newTopicError(kerr.InvalidRequest, "each resource must appear at most once")
	}
	names := make([]string, len(rr.Configs))
	var null []string
	for i, c := range rr.Configs {
		names[i] = c.Name
		if c.Value == nil && c.Op != kmsg.IncrementalAlterConfigOpDelete {
			null = append(null, c.Name)
		}
	}
	if terr := checkNames(names, null); terr != nil {
		return terr
	}
	for _, c := range rr.Configs {
		if c.Op < kmsg.IncrementalAlterConfigOpSet || c.Op > kmsg.IncrementalAlterConfigOpSubtract {
			return newTopicError(kerr.InvalidRequest, "config %q: unknown operation type %d", c.Name, c.Op)
		}
	}
	switch rr.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		t, terr := b.configTopic(rr.ResourceName)
		if terr != nil {
			return terr
		}
		return b.setTopicConfigs(t, validateOnly, func(cur map[string]string) (map[string]string, *topicError) {
			return b.applyConfigOps(cur, rr.Configs)
		})
	case kmsg.ConfigResourceTypeBroker:
		if rr.ResourceName != "" {
			if terr := b.checkBrokerName(rr.ResourceName); terr != nil {
				return terr
			}
		}
		var changed []string
		for _, c := range rr.Configs {
			if c.Op != kmsg.IncrementalAlterConfigOpDelete {
				changed = append(changed, c.Name)
			}
		}
		if len(changed) > 0 {
			return staticBrokerConfigs(changed)
		}
		return nil // deleting dynamic broker configs, of which there are none
	}
	return unsupportedResource(rr.ResourceType)
}

// applyConfigOps returns cur (left unmodified) with ops applied. The
// result is validated by the caller.
func (b *Broker) applyConfigOps(cur map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) (map[string]string, *topicError) {
	next := make(map[string]string, len(cur)+len(ops))
	for k, v := range cur {
		next[k] = v
	}
	for _, c := range ops {
		if _, known := (config.Topic{}).Get(c.Name); !known {
			return nil, newTopicError(kerr.InvalidConfig, "unknown topic config %q", c.Name)
		}
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			next[c.Name] = *c.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(next, c.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if topicConfigInfos[c.Name].typ != kmsg.ConfigTypeList {
				return nil, newTopicError(kerr.InvalidConfig,
					"%s is not a list config: APPEND and SUBTRACT apply only to list configs (cleanup.policy)", c.Name)
			}
			old, ok := next[c.Name]
			if !ok {
				old, _ = b.cfg.TopicDefaults().Get(c.Name)
			}
			next[c.Name] = editList(old, *c.Value, c.Op == kmsg.IncrementalAlterConfigOpAppend)
		}
	}
	return next, nil
}

// editList adds the comma-separated items of change to list (those not in
// it yet), or removes them from it.
func editList(list, change string, add bool) string {
	items := splitList(list)
	for _, item := range splitList(change) {
		at := slices.Index(items, item)
		switch {
		case add && at < 0:
			items = append(items, item)
		case !add && at >= 0:
			items = slices.Delete(items, at, at+1)
		}
	}
	return strings.Join(items, ",")
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func failIncrementalAlterConfigs(req *kmsg.IncrementalAlterConfigsRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range req.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName, sr.ErrorCode = rr.ResourceType, rr.ResourceName, code
		resp.Resources = append(resp.Resources, sr)
	}
	return resp
}

func failDescribeConfigs(req *kmsg.DescribeConfigsRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName, sr.ErrorCode = rr.ResourceType, rr.ResourceName, code
		resp.Resources = append(resp.Resources, sr)
	}
	return resp
}
