package kernel

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/sdk"
)

// memConsensus is an sdk.Consensus that keeps its entries in memory, so
// a test can see what the kernel commits and reopen a broker on them.
type memConsensus struct {
	mu      sync.Mutex
	entries [][]byte
	open    bool
	dir     string
}

var _ sdk.Consensus = (*memConsensus)(nil)

func (c *memConsensus) Open(dir string, replay func([]byte) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open {
		return errors.New("already open")
	}
	c.dir = dir
	for _, e := range c.entries {
		if err := replay(bytes.Clone(e)); err != nil {
			return err
		}
	}
	c.open = true
	return nil
}

func (c *memConsensus) Append(_ context.Context, entry []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.open {
		return errors.New("closed")
	}
	c.entries = append(c.entries, bytes.Clone(entry))
	return nil
}

func (c *memConsensus) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.open {
		return errors.New("closed")
	}
	c.open = false
	return nil
}

// records decodes the committed entries.
func (c *memConsensus) records(t *testing.T) []metaRecord {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []metaRecord
	for _, e := range c.entries {
		r, err := decodeMetaRecord(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// memCompactor adds sdk.Compactor, compacting early so a test sees it.
type memCompactor struct {
	memConsensus
	compactions int
}

var _ sdk.Compactor = (*memCompactor)(nil)

func (c *memCompactor) NeedsCompaction(live int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries) > live+10
}

func (c *memCompactor) Compact(entries [][]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = entries
	c.compactions++
	return nil
}

func openWith(t *testing.T, opts Options) *Broker {
	t.Helper()
	opts.Logger = quietLogger()
	b, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// TestConsensusSeam gives the broker its own Consensus: topics, configs
// and producer id blocks are committed through it (and nothing through
// the local metadata log), and a broker reopened on it replays them.
func TestConsensusSeam(t *testing.T) {
	dir := t.TempDir()
	c := &memConsensus{}
	b := openWith(t, Options{Config: testConfig(dir), Consensus: c})
	if r := createTopic(t, b, "seam", 2, map[string]string{"retention.ms": "5000"}); r.ErrorCode != 0 {
		t.Fatalf("create: error %d", r.ErrorCode)
	}
	pid := serve(t, b, &kmsg.InitProducerIDRequest{Version: 4, ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse)
	if pid.ErrorCode != 0 {
		t.Fatalf("InitProducerID: error %d", pid.ErrorCode)
	}
	id, cluster := b.topicByName("seam").id, b.ClusterID()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	if c.dir != filepath.Join(dir, metaDirName) {
		t.Errorf("Consensus opened on %s, want the metadata dir of the first log dir", c.dir)
	}
	if c.open {
		t.Error("Close did not close the Consensus")
	}
	var types []string
	for _, r := range c.records(t) {
		types = append(types, r.Type)
		if r.Type == recTopic && (r.Topic.Name != "seam" || r.Topic.Partitions != 2 || r.Topic.Configs["retention.ms"] != "5000") {
			t.Errorf("topic record %+v", r.Topic)
		}
	}
	if want := []string{recCluster, recTopic, recProducerIDs}; !slices.Equal(types, want) {
		t.Fatalf("committed records %v, want %v", types, want)
	}
	if _, err := os.Stat(filepath.Join(dir, metaDirName, "metadata.log")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the local metadata log was written beside a configured Consensus: %v", err)
	}

	b = openWith(t, Options{Config: testConfig(dir), Consensus: c})
	defer b.Close(context.Background())
	tp := b.topicByName("seam")
	if tp == nil || tp.id != id || len(tp.partitions) != 2 || tp.overrides()["retention.ms"] != "5000" {
		t.Fatalf("reopened broker's topic: %+v", tp)
	}
	if b.ClusterID() != cluster {
		t.Errorf("cluster id %s after reopening, want %s", b.ClusterID(), cluster)
	}
	again := serve(t, b, &kmsg.InitProducerIDRequest{Version: 4, ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse)
	if again.ProducerID < producerIDBlock {
		t.Errorf("producer id %d handed out again after reopening", again.ProducerID)
	}
}

// TestConsensusCompactor checks the kernel compacts through sdk.Compactor
// when the Consensus has it, and that the snapshot replays.
func TestConsensusCompactor(t *testing.T) {
	dir := t.TempDir()
	c := &memCompactor{}
	b := openWith(t, Options{Config: testConfig(dir), Consensus: c})
	createTopic(t, b, "stays", 1, nil)
	for i := 0; i < 20; i++ {
		name := "churn-" + string(rune('a'+i))
		createTopic(t, b, name, 1, nil)
		del := serve(t, b, &kmsg.DeleteTopicsRequest{Version: 1, TopicNames: []string{name}}).(*kmsg.DeleteTopicsResponse)
		if del.Topics[0].ErrorCode != 0 {
			t.Fatalf("delete %s: %d", name, del.Topics[0].ErrorCode)
		}
	}
	b.Close(context.Background())
	if c.compactions == 0 {
		t.Fatal("the kernel never compacted through sdk.Compactor")
	}
	if n := len(c.records(t)); n > 3+10 {
		t.Fatalf("%d records after churn", n)
	}
	b = openWith(t, Options{Config: testConfig(dir), Consensus: c})
	defer b.Close(context.Background())
	if ts := b.allTopics(); len(ts) != 1 || ts[0].name != "stays" {
		t.Fatalf("after compaction and reopening: %d topics", len(ts))
	}
}

// TestOpensV1MetadataLog opens a data dir whose metadata log was written
// by the kernel before the store moved to segments/metalog
// (testdata/metadata-v1, made by Runnel at e73148c: topic legacy with 3
// partitions and altered configs, topic gone created and deleted, one
// producer id handed out).
func TestOpensV1MetadataLog(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("testdata", "metadata-v1", "metadata.log"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, metaDirName, "metadata.log")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	b := openTestBroker(t, testConfig(dir))
	defer b.Close(context.Background())
	if b.ClusterID() != "d7TYan867bfO-PX4gKWALw" {
		t.Errorf("cluster id %q", b.ClusterID())
	}
	ts := b.allTopics()
	if len(ts) != 1 || ts[0].name != "legacy" || len(ts[0].partitions) != 3 || uuidString(ts[0].id) != "vJ3SXCrK6W5BMpkXVkj1ug" {
		t.Fatalf("topics of the v1 log: %d", len(ts))
	}
	if o := ts[0].overrides(); len(o) != 2 || o["retention.ms"] != "7000" || o["segment.ms"] != "60000" {
		t.Errorf("legacy's configs %v", o)
	}
	pid := serve(t, b, &kmsg.InitProducerIDRequest{Version: 4, ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse)
	if pid.ProducerID != producerIDBlock {
		t.Errorf("first producer id after the v1 log's block: %d, want %d", pid.ProducerID, producerIDBlock)
	}
	now, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(now, old) || len(now) == len(old) {
		t.Fatal("the v1 log was not appended to in place")
	}
}
