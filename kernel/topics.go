package kernel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/runnel-dev/runnel/kernel/config"
	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/segments"
)

// topic is one topic of the metadata image. name, id and partitions never
// change after the topic is published; configs are replaced whole, by
// swapping settings (setTopicConfigs).
type topic struct {
	name       string
	id         [16]byte
	internal   bool
	settings   atomic.Pointer[topicSettings]
	partitions []*partition
}

// topicSettings is one version of a topic's configs. It is never modified
// once stored in a topic.
type topicSettings struct {
	overrides map[string]string // topic-level configs as set by users
	cfg       config.Topic      // effective configs (defaults + overrides)
}

func newTopic(name string, id [16]byte, overrides map[string]string, cfg config.Topic) *topic {
	t := &topic{name: name, id: id, internal: strings.HasPrefix(name, "__")}
	t.settings.Store(&topicSettings{overrides: overrides, cfg: cfg})
	return t
}

// config returns the topic's effective configs. They may change between
// two calls: read them once where several values must agree.
func (t *topic) config() config.Topic { return t.settings.Load().cfg }

// overrides returns the topic-level configs as users set them. The map is
// shared: never modify it.
func (t *topic) overrides() map[string]string { return t.settings.Load().overrides }

const maxTopicNameLen = 249

// validTopicName applies Kafka's rules: 1 to 249 characters from
// [a-zA-Z0-9._-], and not "." or "..".
func validTopicName(name string) error {
	if name == "" {
		return errors.New("topic name is empty")
	}
	if name == "." || name == ".." {
		return fmt.Errorf("topic name %q is not allowed", name)
	}
	if len(name) > maxTopicNameLen {
		return fmt.Errorf("topic name is %d characters long; at most %d are allowed", len(name), maxTopicNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic name %q contains %q; only ASCII letters, digits, '.', '_' and '-' are allowed", name, c)
		}
	}
	return nil
}

// topicConfig computes the effective configs from the broker defaults and
// a topic's overrides.
func (b *Broker) topicConfig(overrides map[string]string) (config.Topic, error) {
	cfg := b.cfg.TopicDefaults()
	names := make([]string, 0, len(overrides))
	for k := range overrides {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := cfg.Set(k, overrides[k]); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// loadMetadata replays the metadata log into the image and opens every
// partition it names.
//
// c is the metadata store (nil: the local metadata log). On error the
// store is closed again.
func (b *Broker) loadMetadata(c sdk.Consensus) (err error) {
	type entry struct {
		rec   topicRecord
		order int
	}
	image := map[[16]byte]*entry{}
	order := 0
	apply := func(r metaRecord) error {
		switch r.Type {
		case recFormat: // the local store's header, if a store passes it on
		case recCluster:
			b.clusterID = r.ClusterID
		case recProducerIDs:
			b.pids.upTo = max(b.pids.upTo, r.ProducerIDsUpTo)
		case recTopic, recDeleteTopic, recTopicConfigs:
			if r.Topic == nil {
				return fmt.Errorf("%s record without a topic", r.Type)
			}
			id, err := parseUUID(r.Topic.ID)
			if err != nil {
				return err
			}
			switch r.Type {
			case recTopic:
				order++
				image[id] = &entry{rec: *r.Topic, order: order}
			case recDeleteTopic:
				delete(image, id)
			case recTopicConfigs:
				if e := image[id]; e != nil {
					e.rec.Configs = r.Topic.Configs
				}
			}
		default:
			b.log.Warn("metadata log: skipping record of unknown type", "type", r.Type)
		}
		return nil
	}
	m, err := openMetaLog(c, b.cfg.LogDirs[0], b.log, apply)
	if err != nil {
		return err
	}
	b.meta = m
	defer func() {
		if err != nil {
			_ = m.close()
		}
	}()
	if b.clusterID == "" {
		b.clusterID = uuidString(newUUID())
		if err := m.append(metaRecord{Type: recCluster, ClusterID: b.clusterID}); err != nil {
			return err
		}
	}
	// Ids below upTo may have been handed out before a crash: never
	// reuse them.
	b.pids.next = b.pids.upTo

	entries := make([]*entry, 0, len(image))
	for _, e := range image {
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].order < entries[j].order })
	for _, e := range entries {
		id, _ := parseUUID(e.rec.ID)
		cfg, err := b.topicConfig(e.rec.Configs)
		if err != nil {
			b.log.Warn("topic has an invalid stored config; using defaults for it",
				"topic", e.rec.Name, "error", err)
		}
		t := newTopic(e.rec.Name, id, e.rec.Configs, cfg)
		if err := b.openPartitions(t, int(e.rec.Partitions), true); err != nil {
			return err
		}
		b.topics[t.name] = t
		b.topicsByID[t.id] = t
	}
	b.removeOrphans()
	return m.maybeCompact(len(entries)+2, b.snapshotRecords)
}

// snapshotRecords is the live image as metadata records.
func (b *Broker) snapshotRecords() []metaRecord {
	b.mu.RLock()
	defer b.mu.RUnlock()
	recs := []metaRecord{{Type: recCluster, ClusterID: b.clusterID}}
	if b.pids.upTo > 0 {
		recs = append(recs, metaRecord{Type: recProducerIDs, ProducerIDsUpTo: b.pids.upTo})
	}
	for _, t := range b.topics {
		recs = append(recs, metaRecord{Type: recTopic, Topic: &topicRecord{
			Name: t.name, ID: uuidString(t.id), Partitions: int32(len(t.partitions)), Configs: t.overrides(),
		}})
	}
	return recs
}

// partitionDirName is Kafka's directory name for a partition.
func partitionDirName(topic string, p int) string { return topic + "-" + strconv.Itoa(p) }

// partitionLogDir finds the log dir (as configured) holding a partition,
// or picks the one with the fewest partitions for a new one.
// REQUIRES: b.metaMu held, or the broker not yet published (New).
func (b *Broker) partitionLogDir(topic string, p int) string {
	name := partitionDirName(topic, p)
	if len(b.cfg.LogDirs) > 1 {
		for _, d := range b.cfg.LogDirs {
			if st, err := os.Stat(filepath.Join(d, name)); err == nil && st.IsDir() {
				return d
			}
		}
	}
	best := b.cfg.LogDirs[0]
	for _, d := range b.cfg.LogDirs[1:] {
		if b.dirLoad[d] < b.dirLoad[best] {
			best = d
		}
	}
	return best
}

// openPartitions opens (or creates) the topic's partitions. With
// tolerateOffline, a partition whose log cannot be opened is kept offline
// and logged, so one damaged partition does not stop the broker;
// otherwise (a topic being created) the first failure undoes the rest.
func (b *Broker) openPartitions(t *topic, n int, tolerateOffline bool) error {
	for i := 0; i < n; i++ {
		logDir := b.partitionLogDir(t.name, i)
		p, err := openPartition(t, int32(i), b.dirs[logDir], b.repl, b.log)
		if err != nil {
			if tolerateOffline {
				b.log.Error("partition offline: its log could not be opened; clients get KAFKA_STORAGE_ERROR",
					"partition", p.String(), "dir", p.dir, "error", err)
			} else {
				for _, q := range t.partitions {
					q.close()
				}
				return fmt.Errorf("topic %s partition %d: %w", t.name, i, err)
			}
		}
		p.logDir = logDir
		t.partitions = append(t.partitions, p)
		b.dirLoad[logDir]++
	}
	return nil
}

// removeOrphans deletes partition directories left by topic deletions
// that a crash interrupted.
func (b *Broker) removeOrphans() {
	for _, d := range b.cfg.LogDirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.IsDir() && strings.HasSuffix(e.Name(), deletedSuffix) {
				if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
					b.log.Warn("could not remove deleted partition dir", "dir", e.Name(), "error", err)
				}
			}
		}
	}
}

const deletedSuffix = "-delete"

func (b *Broker) topicByName(name string) *topic {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.topics[name]
}

func (b *Broker) topicByID(id [16]byte) *topic {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.topicsByID[id]
}

// allTopics returns the topics sorted by name.
func (b *Broker) allTopics() []*topic {
	b.mu.RLock()
	ts := make([]*topic, 0, len(b.topics))
	for _, t := range b.topics {
		ts = append(ts, t)
	}
	b.mu.RUnlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	return ts
}

// topicError is a Kafka error code with a message for the client.
type topicError struct {
	code int16
	msg  string
}

func (e *topicError) Error() string { return e.msg }

func newTopicError(err *kerr.Error, format string, args ...any) *topicError {
	return &topicError{code: err.Code, msg: fmt.Sprintf(format, args...)}
}

// createTopic validates and, unless validateOnly, creates a topic. It
// returns the new (or, for validateOnly, would-be) topic.
func (b *Broker) createTopic(name string, partitions int32, replication int16, configs map[string]string, validateOnly bool) (*topic, *topicError) {
	if err := validTopicName(name); err != nil {
		return nil, newTopicError(kerr.InvalidTopicException, "%v", err)
	}
	if partitions == -1 {
		partitions = b.cfg.NumPartitions
	}
	if partitions <= 0 {
		return nil, newTopicError(kerr.InvalidPartitions, "number of partitions must be larger than 0, got %d", partitions)
	}
	if partitions > maxPartitionsPerTopic {
		return nil, newTopicError(kerr.InvalidPartitions, "number of partitions %d is above the limit of %d", partitions, maxPartitionsPerTopic)
	}
	if replication == -1 {
		replication = b.cfg.DefaultReplicationFactor
	}
	if replication <= 0 {
		return nil, newTopicError(kerr.InvalidReplicationFactor, "replication factor must be larger than 0, got %d", replication)
	}
	if replication > 1 {
		return nil, newTopicError(kerr.InvalidReplicationFactor,
			"replication factor %d is larger than the number of brokers (1)", replication)
	}
	cfg, err := b.topicConfig(configs)
	if err != nil {
		return nil, newTopicError(kerr.InvalidConfig, "%v", err)
	}
	b.metaMu.Lock()
	defer b.metaMu.Unlock()
	if b.isClosing() {
		return nil, newTopicError(kerr.NotController, "broker is shutting down")
	}
	if b.topicByName(name) != nil {
		return nil, newTopicError(kerr.TopicAlreadyExists, "topic %q already exists", name)
	}
	t := newTopic(name, newUUID(), configs, cfg)
	if validateOnly {
		for i := int32(0); i < partitions; i++ {
			t.partitions = append(t.partitions, &partition{topic: t, index: i})
		}
		return t, nil
	}
	// Write the record first: a crash after it and before the partition
	// dirs exist just creates empty partitions at the next start.
	rec := metaRecord{Type: recTopic, Topic: &topicRecord{Name: name, ID: uuidString(t.id), Partitions: partitions, Configs: configs}}
	if err := b.meta.append(rec); err != nil {
		b.log.Error("could not persist new topic", "topic", name, "error", err)
		return nil, newTopicError(kerr.KafkaStorageError, "could not persist topic: %v", err)
	}
	if err := b.openPartitions(t, int(partitions), false); err != nil {
		b.log.Error("could not create partitions", "topic", name, "error", err)
		_ = b.meta.append(metaRecord{Type: recDeleteTopic, Topic: &topicRecord{ID: uuidString(t.id)}})
		return nil, newTopicError(kerr.KafkaStorageError, "could not create partitions: %v", err)
	}
	b.mu.Lock()
	b.topics[name] = t
	b.topicsByID[t.id] = t
	b.mu.Unlock()
	b.log.Info("created topic", "topic", name, "id", uuidString(t.id), "partitions", partitions)
	return t, nil
}

const maxPartitionsPerTopic = 100000

// setTopicConfigs replaces every config override of t with what edit
// returns, given the current overrides (which edit must not modify): it
// validates the result, persists it in the metadata log and swaps it in,
// so the next request sees it. edit runs under metaMu, so concurrent
// changes to one topic apply in turn and none is lost. With validateOnly
// nothing is persisted or changed.
func (b *Broker) setTopicConfigs(t *topic, validateOnly bool, edit func(cur map[string]string) (map[string]string, *topicError)) *topicError {
	b.metaMu.Lock()
	defer b.metaMu.Unlock()
	if b.topicByID(t.id) != t {
		return newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", t.name)
	}
	overrides, terr := edit(t.overrides())
	if terr != nil {
		return terr
	}
	if len(overrides) == 0 {
		overrides = nil
	}
	cfg, err := b.topicConfig(overrides)
	if err != nil {
		return newTopicError(kerr.InvalidConfig, "%v", err)
	}
	if validateOnly {
		return nil
	}
	if b.isClosing() {
		return newTopicError(kerr.NotController, "broker is shutting down")
	}
	rec := metaRecord{Type: recTopicConfigs, Topic: &topicRecord{ID: uuidString(t.id), Configs: overrides}}
	if err := b.meta.append(rec); err != nil {
		b.log.Error("could not persist topic configs", "topic", t.name, "error", err)
		return newTopicError(kerr.KafkaStorageError, "could not persist topic configs: %v", err)
	}
	t.settings.Store(&topicSettings{overrides: overrides, cfg: cfg})
	b.log.Info("changed topic configs", "topic", t.name, "configs", overrides)
	b.onTopicConfigChange(t)
	b.compactMetadata()
	return nil
}

// onTopicConfigChange runs after t's configs changed (t.config() has the
// new ones), under metaMu and in the order of the changes; it must not
// block. It applies segment.bytes and segment.ms to the open logs. The
// other configs are read from t.config() at each use: max.message.bytes,
// message.timestamp.type and the flush configs per request, retention.*,
// cleanup.policy and delete.retention.ms at each retention or cleaner
// pass.
func (b *Broker) onTopicConfigChange(t *topic) {
	cfg := t.config()
	for _, p := range t.partitions {
		if p.log == nil {
			continue
		}
		if err := p.log.SetRoll(cfg.SegmentBytes, cfg.SegmentMs); err != nil && !errors.Is(err, segments.ErrClosed) {
			b.log.Warn("could not apply the new segment configs", "partition", p.String(), "error", err)
		}
	}
}

// deleteTopic removes a topic from the image and deletes its data.
func (b *Broker) deleteTopic(t *topic) *topicError {
	if !b.cfg.DeleteTopicEnable {
		return newTopicError(kerr.TopicDeletionDisabled, "topic deletion is disabled (delete.topic.enable=false)")
	}
	b.metaMu.Lock()
	defer b.metaMu.Unlock()
	if b.topicByID(t.id) != t {
		return newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", t.name)
	}
	if err := b.meta.append(metaRecord{Type: recDeleteTopic, Topic: &topicRecord{ID: uuidString(t.id)}}); err != nil {
		return newTopicError(kerr.KafkaStorageError, "could not persist topic deletion: %v", err)
	}
	b.mu.Lock()
	delete(b.topics, t.name)
	delete(b.topicsByID, t.id)
	b.mu.Unlock()
	for _, p := range t.partitions {
		b.dirLoad[p.logDir]--
		p.markDeleted()
		if err := p.remove(); err != nil {
			b.log.Warn("could not remove partition data", "partition", p.String(), "error", err)
		}
	}
	b.log.Info("deleted topic", "topic", t.name, "id", uuidString(t.id))
	b.compactMetadata()
	return nil
}

// compactMetadata compacts the metadata log if the store can and it is
// due. A failure is logged: the log is still whole, only longer.
// REQUIRES: b.metaMu held.
func (b *Broker) compactMetadata() {
	b.mu.RLock()
	live := len(b.topics) + 2
	b.mu.RUnlock()
	if err := b.meta.maybeCompact(live, b.snapshotRecords); err != nil {
		b.log.Warn("could not compact the metadata log", "error", err)
	}
}

func (b *Broker) isClosing() bool {
	select {
	case <-b.closing:
		return true
	default:
		return false
	}
}
