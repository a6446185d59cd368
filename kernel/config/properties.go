package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ErrUnknownProperty is wrapped by Set's error for a name that is not a
// supported broker property. Load turns it into a warning.
var ErrUnknownProperty = errors.New("unknown property")

// Property describes one supported broker property for documentation:
// `runnel serve --help` and the README print this table.
type Property struct {
	Name    string // Kafka's property name
	Default string // the default, in the form Set accepts
	Doc     string // one line: meaning and units
}

// property is a Property with what Set needs to apply it.
type property struct {
	Property
	set func(b *Broker, name, value string) error
	// supersededBy lists aliases that win over this property when a single
	// source sets both, as Kafka lets log.retention.ms win over
	// log.retention.hours. See Load.
	supersededBy []string
}

// properties is the one table behind Properties and Set, in the order the
// documentation lists them.
var properties = []property{
	{Property: Property{"node.id", "1", "Id of this broker in the cluster; 0 or more."},
		set: func(b *Broker, n, v string) error { return setInt32(&b.NodeID, n, v, 0) }},
	{Property: Property{"listeners", "PLAINTEXT://127.0.0.1:9092",
		"Addresses to listen on, NAME://host:port, comma-separated; an empty host listens on every interface."},
		set: func(b *Broker, n, v string) error {
			ls, err := parseListeners(n, v)
			if err == nil && len(ls) == 0 {
				err = fmt.Errorf("%s: at least one listener is required", n)
			}
			if err == nil {
				b.Listeners = ls
			}
			return err
		}},
	{Property: Property{"advertised.listeners", "",
		"Addresses given to clients, NAME://host:port; empty means listeners, with a wildcard host shown as 127.0.0.1."},
		set: func(b *Broker, n, v string) error {
			ls, err := parseListeners(n, v)
			if err != nil {
				return err
			}
			for _, l := range ls {
				if l.Host == "0.0.0.0" || l.Host == "::" {
					return fmt.Errorf("%s: %q advertises the wildcard address %s, which clients cannot connect to; name a host they can reach", n, l.String(), l.Host)
				}
			}
			b.AdvertisedListeners = ls
			return nil
		}},
	{Property: Property{"log.dirs", "./data", "Directories holding partition data, comma-separated."},
		set: func(b *Broker, n, v string) error {
			dirs := parseList(v)
			if len(dirs) == 0 {
				return fmt.Errorf("%s: at least one directory is required", n)
			}
			b.LogDirs = dirs
			return nil
		}},
	{Property: Property{"log.dir", "./data", "A single data directory; log.dirs wins when both are set."},
		set: func(b *Broker, n, v string) error {
			if v == "" {
				return fmt.Errorf("%s: a directory is required", n)
			}
			b.LogDirs = []string{v}
			return nil
		},
		supersededBy: []string{"log.dirs"}},
	{Property: Property{"num.partitions", "1", "Partitions of an automatically created topic; 1 or more."},
		set: func(b *Broker, n, v string) error { return setInt32(&b.NumPartitions, n, v, 1) }},
	{Property: Property{"default.replication.factor", "1", "Replication factor of an automatically created topic; 1 or more."},
		set: func(b *Broker, n, v string) error {
			r, err := parseAtLeast(n, v, 16, 1)
			if err == nil {
				b.DefaultReplicationFactor = int16(r)
			}
			return err
		}},
	{Property: Property{"auto.create.topics.enable", "true", "Create a topic when a client first produces to or fetches metadata for it."},
		set: func(b *Broker, n, v string) error { return setBool(&b.AutoCreateTopics, n, v) }},
	{Property: Property{"delete.topic.enable", "true", "Allow DeleteTopics requests."},
		set: func(b *Broker, n, v string) error { return setBool(&b.DeleteTopicEnable, n, v) }},
	{Property: Property{"log.segment.bytes", "1073741824", "Size in bytes at which a log segment is rolled; 14 or more."},
		set: func(b *Broker, n, v string) error { return setInt64(&b.LogSegmentBytes, n, v, 32, minSegmentBytes) }},
	{Property: Property{"log.roll.ms", "604800000", "Age in milliseconds at which a log segment is rolled; 1 or more."},
		set: func(b *Broker, n, v string) error { return setInt64(&b.LogRollMs, n, v, 64, 1) }},
	{Property: Property{"log.roll.hours", "168", "log.roll.ms in hours; log.roll.ms wins when both are set."},
		set: func(b *Broker, n, v string) error {
			h, err := parseAtLeast(n, v, 32, 1)
			if err == nil {
				b.LogRollMs = h * msPerHour
			}
			return err
		},
		supersededBy: []string{"log.roll.ms"}},
	{Property: Property{"log.retention.ms", "604800000", "How long in milliseconds to keep log data; -1 keeps it forever."},
		set: func(b *Broker, n, v string) error { return setRetention(b, n, v, 64, 1) }},
	{Property: Property{"log.retention.minutes", "10080", "log.retention.ms in minutes; log.retention.ms wins when both are set."},
		set:          func(b *Broker, n, v string) error { return setRetention(b, n, v, 32, msPerMinute) },
		supersededBy: []string{"log.retention.ms"}},
	{Property: Property{"log.retention.hours", "168", "log.retention.ms in hours; .ms and .minutes win when set too."},
		set:          func(b *Broker, n, v string) error { return setRetention(b, n, v, 32, msPerHour) },
		supersededBy: []string{"log.retention.minutes", "log.retention.ms"}},
	{Property: Property{"log.retention.bytes", "-1", "Bytes to keep per partition before deleting old segments; -1 is unbounded."},
		set: func(b *Broker, n, v string) error { return setInt64(&b.LogRetentionBytes, n, v, 64, -1) }},
	{Property: Property{"message.max.bytes", "1048588", "Largest record batch in bytes the broker accepts; 0 or more."},
		set: func(b *Broker, n, v string) error { return setInt32(&b.MessageMaxBytes, n, v, 0) }},
	{Property: Property{"socket.request.max.bytes", "104857600", "Largest request in bytes the broker reads; 1 or more."},
		set: func(b *Broker, n, v string) error { return setInt32(&b.SocketRequestMaxBytes, n, v, 1) }},
	{Property: Property{"log.flush.interval.messages", "1",
		"Unflushed records that trigger an fsync; 1 acknowledges a produce only after its fsync (group-committed), more acknowledges from the page cache."},
		set: func(b *Broker, n, v string) error { return setInt64(&b.LogFlushIntervalMessages, n, v, 64, 1) }},
	{Property: Property{"log.flush.interval.ms", "9223372036854775807",
		"Longest time in milliseconds unflushed data waits for an fsync when log.flush.interval.messages is above 1."},
		set: func(b *Broker, n, v string) error { return setInt64(&b.LogFlushIntervalMs, n, v, 64, 0) }},
	{Property: Property{"log.retention.check.interval.ms", "300000",
		"How often in milliseconds the broker looks for segments past retention; 1 or more."},
		set: func(b *Broker, n, v string) error { return setInt64(&b.LogRetentionCheckIntervalMs, n, v, 64, 1) }},
	{Property: Property{"log.flush.offset.checkpoint.interval.ms", "60000",
		"How often in milliseconds recovery points, log start offsets and producer snapshots are written; 1 or more."},
		set: func(b *Broker, n, v string) error {
			return setInt64(&b.LogFlushOffsetCheckpointIntervalMs, n, v, 64, 1)
		}},
	{Property: Property{"log.cleaner.backoff.ms", "15000",
		"How often in milliseconds the log cleaner looks for compacted topics to clean; 1 or more."},
		set: func(b *Broker, n, v string) error { return setInt64(&b.LogCleanerBackoffMs, n, v, 64, 1) }},
	{Property: Property{"log.cleaner.min.cleanable.ratio", "0.5",
		"Share of a compacted log's closed bytes that must be uncleaned before it is cleaned again; 0 to 1."},
		set: func(b *Broker, n, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				return fmt.Errorf("%s: %q is not a number from 0 to 1", n, v)
			}
			b.LogCleanerMinCleanableRatio = f
			return nil
		}},
	{Property: Property{"admin.listener", "",
		"host:port of the admin HTTP listener (/metrics, /stats, /debug/pprof); empty serves none. Keep it on a private address: it has no authentication."},
		set: func(b *Broker, n, v string) error { return setHostPort(&b.AdminListener, n, v) }},
	{Property: Property{"fetch.zero.copy.enable", "true",
		"Send fetched records from the page cache with sendfile; false copies them through the broker."},
		set: func(b *Broker, n, v string) error { return setBool(&b.FetchZeroCopy, n, v) }},
	{Property: Property{"plugin.dir", "",
		"Directory of plugin binaries; each is bindable by name, and every assignor in it is offered to consumer groups. Empty reads none."},
		set: func(b *Broker, n, v string) error { b.Plugins.Dir = strings.TrimSpace(v); return nil }},
	{Property: Property{"plugin.assignor", "builtin:uniform",
		"Default server-side assignor of KIP-848 consumer groups: builtin:NAME, exec:/absolute/path, or a plugin name in plugin.dir."},
		set: func(b *Broker, n, v string) error { return setBinding(&b.Plugins.Assignor, n, v, true) }},
	{Property: Property{"plugin.assignor.fallback", "",
		"Assignor binding used when plugin.assignor's plugin cannot start; empty makes the broker refuse to start instead."},
		set: func(b *Broker, n, v string) error { return setBinding(&b.Plugins.AssignorFallback, n, v, true) }},
	{Property: Property{"plugin.assignor.groups", "",
		"Consumer groups whose server-side assignor the broker picks, whatever members ask for: group=assignor pairs, comma-separated; a group ending in * is a prefix."},
		set: func(b *Broker, n, v string) error {
			var pins []AssignorPin
			for _, kv := range strings.Split(v, ",") {
				kv = strings.TrimSpace(kv)
				if kv == "" {
					continue
				}
				g, a, ok := strings.Cut(kv, "=")
				g, a = strings.TrimSpace(g), strings.TrimSpace(a)
				if !ok || g == "" || a == "" {
					return fmt.Errorf("%s: %q is not group=assignor", n, kv)
				}
				pins = append(pins, AssignorPin{Group: g, Assignor: a})
			}
			b.Plugins.AssignorGroups = pins
			return nil
		}},
	{Property: Property{"plugin.consensus", "builtin:local",
		"Metadata consensus: builtin:local, the single-node metadata log."},
		set: func(b *Broker, n, v string) error { return setBinding(&b.Plugins.Consensus, n, v, false) }},
	{Property: Property{"plugin.replicator", "builtin:none",
		"Partition replication: builtin:none, a single node's durable log is committed."},
		set: func(b *Broker, n, v string) error { return setBinding(&b.Plugins.Replicator, n, v, false) }},
	{Property: Property{"plugin.call.timeout.ms", "5000",
		"Longest wait in milliseconds for one call into a plugin process; past it the call fails as retriable."},
		set: func(b *Broker, n, v string) error { return setInt64(&b.Plugins.CallTimeoutMs, n, v, 64, 1) }},
	{Property: Property{"plugin.start.timeout.ms", "10000",
		"Longest wait in milliseconds for a plugin process to start and complete its handshake."},
		set: func(b *Broker, n, v string) error { return setInt64(&b.Plugins.StartTimeoutMs, n, v, 64, 1) }},
	{Property: Property{"plugin.health.check.interval.ms", "1000",
		"How often in milliseconds plugin processes are checked; a dead or stuck one is restarted with backoff."},
		set: func(b *Broker, n, v string) error { return setInt64(&b.Plugins.HealthCheckIntervalMs, n, v, 64, 1) }},
	{Property: Property{"num.network.threads", "0", "Network event loops; 0 runs one per CPU core."},
		set: func(b *Broker, n, v string) error {
			t, err := parseAtLeast(n, v, 32, 0)
			if err == nil {
				b.NumNetworkThreads = int(t)
			}
			return err
		}},
	{Property: Property{"offsets.topic.num.partitions", "50",
		"Partitions of the internal __consumer_offsets topic, fixed when the broker first creates it; 1 or more."},
		set: func(b *Broker, n, v string) error { return setInt32(&b.OffsetsTopicNumPartitions, n, v, 1) }},
	{Property: Property{"offsets.retention.minutes", "10080",
		"How long in minutes a group's committed offsets are kept once the group is empty (or, for a group without members, since the commit); 1 or more."},
		set: func(b *Broker, n, v string) error { return setInt32(&b.OffsetsRetentionMinutes, n, v, 1) }},
	{Property: Property{"group.initial.rebalance.delay.ms", "3000",
		"How long in milliseconds the first rebalance of an empty classic group waits for more members to join; 0 or more."},
		set: func(b *Broker, n, v string) error { return setInt32(&b.GroupInitialRebalanceDelayMs, n, v, 0) }},
	{Property: Property{"group.min.session.timeout.ms", "6000",
		"Smallest session timeout in milliseconds a classic group member may ask for; 0 or more."},
		set: func(b *Broker, n, v string) error { return setInt32(&b.GroupMinSessionTimeoutMs, n, v, 0) }},
	{Property: Property{"group.max.session.timeout.ms", "1800000",
		"Largest session timeout in milliseconds a classic group member may ask for; 0 or more."},
		set: func(b *Broker, n, v string) error { return setInt32(&b.GroupMaxSessionTimeoutMs, n, v, 0) }},
	{Property: Property{"group.consumer.heartbeat.interval.ms", "5000",
		"Heartbeat interval in milliseconds the broker gives KIP-848 consumer group members; 1 or more."},
		set: func(b *Broker, n, v string) error { return setInt32(&b.ConsumerGroupHeartbeatMs, n, v, 1) }},
	{Property: Property{"group.consumer.session.timeout.ms", "45000",
		"How long in milliseconds a KIP-848 consumer group member may go without a heartbeat before it is removed; 1 or more."},
		set: func(b *Broker, n, v string) error { return setInt32(&b.ConsumerGroupSessionTimeoutMs, n, v, 1) }},
}

// minSegmentBytes is Kafka's floor for segment sizes: the overhead of the
// smallest legacy record, so that a segment can hold at least one.
const minSegmentBytes = 14

// byName indexes properties by name.
var byName = func() map[string]*property {
	m := make(map[string]*property, len(properties))
	for i := range properties {
		m[properties[i].Name] = &properties[i]
	}
	return m
}()

// Properties returns the supported broker properties, aliases included,
// in documentation order. The slice is the caller's to keep.
func Properties() []Property {
	out := make([]Property, len(properties))
	for i, p := range properties {
		out[i] = p.Property
	}
	return out
}

// Set sets one property by its Kafka name. Surrounding whitespace in key
// and value is ignored. An unknown key returns an error wrapping
// ErrUnknownProperty; any other error is a sentence naming the property
// and the bad value, and leaves b unchanged.
func (b *Broker) Set(key, value string) error {
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	p, ok := byName[key]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownProperty, key)
	}
	return p.set(b, key, value)
}

func setInt32(dst *int32, name, value string, min int64) error {
	n, err := parseAtLeast(name, value, 32, min)
	if err == nil {
		*dst = int32(n)
	}
	return err
}

func setInt64(dst *int64, name, value string, bits int, min int64) error {
	n, err := parseAtLeast(name, value, bits, min)
	if err == nil {
		*dst = n
	}
	return err
}

// setHostPort sets an optional host:port; empty is allowed.
func setHostPort(dst *string, name, value string) error {
	value = strings.TrimSpace(value)
	if value != "" {
		host, port, err := net.SplitHostPort(value)
		if err != nil {
			return fmt.Errorf("%s: %q is not host:port: %v", name, value, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("%s: port %q of %q is not a number from 0 to 65535", name, port, value)
		}
		_ = host // empty listens on every interface
	}
	*dst = value
	return nil
}

func setBool(dst *bool, name, value string) error {
	v, err := parseBool(name, value)
	if err == nil {
		*dst = v
	}
	return err
}

// setRetention sets LogRetentionMs from a value in units of unit
// milliseconds; -1 (keep forever) stays -1 whatever the unit.
func setRetention(b *Broker, name, value string, bits int, unit int64) error {
	n, err := parseLimit(name, value, bits, 1)
	if err != nil {
		return err
	}
	if n != -1 {
		n *= unit
	}
	b.LogRetentionMs = n
	return nil
}

// setBinding checks the shape of an extension binding: "builtin:NAME",
// "exec:/absolute/path" (when external is allowed) or a bare name. What it
// names is resolved when the broker starts.
func setBinding(dst *string, name, value string, external bool) error {
	v := strings.TrimSpace(value)
	kind, target, hasKind := strings.Cut(v, ":")
	switch {
	case v == "" && strings.HasSuffix(name, ".fallback"):
	case v == "":
		return fmt.Errorf("%s: empty binding", name)
	case !hasKind:
	case kind == "builtin" && target != "":
	case kind == "exec" && external && strings.HasPrefix(target, "/"):
	case kind == "exec" && external:
		return fmt.Errorf("%s: %q: the plugin path must be absolute", name, value)
	case kind == "exec":
		return fmt.Errorf("%s: %q: this extension point runs in the broker only; use builtin:NAME", name, value)
	default:
		return fmt.Errorf("%s: %q is not builtin:NAME, exec:/path/to/plugin or a plugin name", name, value)
	}
	*dst = v
	return nil
}
