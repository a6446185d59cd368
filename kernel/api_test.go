package kernel

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/segments"
)

func TestApiVersionsListsTable(t *testing.T) {
	b := newTestBroker(t)
	for v := int16(0); v <= 4; v++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = v
		resp := serve(t, b, req).(*kmsg.ApiVersionsResponse)
		if resp.ErrorCode != 0 {
			t.Fatalf("v%d: error %d", v, resp.ErrorCode)
		}
		got := map[int16][2]int16{}
		for _, k := range resp.ApiKeys {
			got[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
		}
		for _, a := range apiTable() {
			if got[a.key] != [2]int16{a.min, a.max} {
				t.Errorf("v%d: key %d advertised %v, table says %d-%d", v, a.key, got[a.key], a.min, a.max)
			}
		}
		if len(got) != len(apiTable()) {
			t.Errorf("v%d: %d keys advertised, table has %d", v, len(got), len(apiTable()))
		}
	}
}

func TestApiVersionsUnknownVersionAnswersV0(t *testing.T) {
	b := newTestBroker(t)
	frame := make([]byte, 0, 16)
	frame = binary.BigEndian.AppendUint16(frame, uint16(apiKeyApiVersions))
	frame = binary.BigEndian.AppendUint16(frame, 99)
	frame = binary.BigEndian.AppendUint32(frame, 42)
	frame = binary.BigEndian.AppendUint16(frame, 0xffff) // null client id
	r := b.ServeRequest(nil, frame)
	resp, err := decodeReply(apiKeyApiVersions, 0, 42, r)
	if err != nil {
		t.Fatal(err)
	}
	av := resp.(*kmsg.ApiVersionsResponse)
	if av.ErrorCode != kerr.UnsupportedVersion.Code || len(av.ApiKeys) == 0 {
		t.Fatalf("got error %d with %d keys; want UNSUPPORTED_VERSION and the key list", av.ErrorCode, len(av.ApiKeys))
	}
}

func TestBadFramesCloseTheConnection(t *testing.T) {
	b := newTestBroker(t)
	produce := kmsg.NewPtrProduceRequest()
	produce.Version = 2 // below the served range
	meta := kmsg.NewPtrMetadataRequest()
	meta.Version = 12
	full := encodeRequest(meta, 1)
	cases := map[string][]byte{
		"short header":        {0, 3, 0},
		"unknown key":         {0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff},
		"unsupported version": encodeRequest(produce, 1),
		"truncated body":      full[:len(full)-1],
		"client id too long":  {0, 3, 0, 1, 0, 0, 0, 1, 0x10, 0x00, 'a'},
	}
	for name, frame := range cases {
		r := b.ServeRequest(nil, frame)
		if r.CloseReason == "" {
			t.Errorf("%s: connection kept open", name)
		}
	}
}

func TestHandlerPanicAnswersUnknownServerError(t *testing.T) {
	b := newTestBroker(t)
	b.apis[22].handle = func(*Broker, *reqCtx, kmsg.Request) response { panic("boom") }
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version = 4
	resp := serve(t, b, req).(*kmsg.InitProducerIDResponse)
	if resp.ErrorCode != kerr.UnknownServerError.Code {
		t.Fatalf("error code %d, want UNKNOWN_SERVER_ERROR", resp.ErrorCode)
	}
}

func metadataFor(t *testing.T, b *Broker, version int16, allowAuto bool, names ...string) *kmsg.MetadataResponse {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = version
	req.AllowAutoTopicCreation = allowAuto
	for _, n := range names {
		n := n
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = &n
		req.Topics = append(req.Topics, rt)
	}
	return serve(t, b, req).(*kmsg.MetadataResponse)
}

func TestMetadataAutoCreates(t *testing.T) {
	b := newTestBroker(t)
	for _, v := range []int16{0, 1, 4, 9, 12} {
		name := "auto-" + string(rune('a'+v))
		resp := metadataFor(t, b, v, true, name)
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("v%d: %+v", v, resp.Topics)
		}
		if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1 {
			t.Fatalf("v%d: brokers %+v", v, resp.Brokers)
		}
	}
	resp := metadataFor(t, b, 12, false, "not-created")
	if resp.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("allow_auto_topic_creation=false: error %d", resp.Topics[0].ErrorCode)
	}
	resp = metadataFor(t, b, 12, true, "bad/name")
	if resp.Topics[0].ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("invalid name: error %d", resp.Topics[0].ErrorCode)
	}
	all := serve(t, b, &kmsg.MetadataRequest{Version: 12}).(*kmsg.MetadataResponse)
	if len(all.Topics) != 5 {
		t.Fatalf("null topic list lists %d topics, want 5", len(all.Topics))
	}
}

func createTopic(t *testing.T, b *Broker, name string, partitions int32, configs map[string]string) *kmsg.CreateTopicsResponseTopic {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 7
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, -1
	for k, v := range configs {
		v := v
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, &v
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp := serve(t, b, req).(*kmsg.CreateTopicsResponse)
	return &resp.Topics[0]
}

func TestCreateTopicErrors(t *testing.T) {
	b := newTestBroker(t)
	if r := createTopic(t, b, "orders", 3, nil); r.ErrorCode != 0 || r.NumPartitions != 3 {
		t.Fatalf("create: %+v", r)
	}
	cases := []struct {
		name       string
		partitions int32
		configs    map[string]string
		want       *kerr.Error
	}{
		{"orders", 1, nil, kerr.TopicAlreadyExists},
		{"bad name!", 1, nil, kerr.InvalidTopicException},
		{"zero", 0, nil, kerr.InvalidPartitions},
		{"badcfg", 1, map[string]string{"retention.ms": "soon"}, kerr.InvalidConfig},
		{"unknowncfg", 1, map[string]string{"no.such.config": "1"}, kerr.InvalidConfig},
	}
	for _, c := range cases {
		if r := createTopic(t, b, c.name, c.partitions, c.configs); r.ErrorCode != c.want.Code {
			t.Errorf("%s: error %d, want %s", c.name, r.ErrorCode, c.want.Message)
		}
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 7
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "replicated", 1, 3
	req.Topics = append(req.Topics, rt)
	if r := serve(t, b, req).(*kmsg.CreateTopicsResponse); r.Topics[0].ErrorCode != kerr.InvalidReplicationFactor.Code {
		t.Errorf("rf 3 on one broker: error %d", r.Topics[0].ErrorCode)
	}
}

func produce(t *testing.T, b *Broker, acks int16, topic string, partition int32, records []byte) *kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = acks
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := serve(t, b, req)
	if resp == nil {
		return nil
	}
	return &resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
}

func fetch(t *testing.T, b *Broker, version int16, topic string, partition int32, offset int64) *kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version = version
	req.MaxBytes = 1 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	if tp := b.topicByName(topic); tp != nil {
		rt.TopicID = tp.id
	}
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := serve(t, b, req).(*kmsg.FetchResponse)
	return &resp.Topics[0].Partitions[0]
}

func TestProduceFetchRoundTrip(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "t", 2, nil)
	for i := 0; i < 3; i++ {
		r := produce(t, b, -1, "t", 1, testBatch(-1, 0, 0, kv{key: []byte("k"), value: []byte("v")}, kv{value: []byte("w")}))
		if r.ErrorCode != 0 || r.BaseOffset != int64(2*i) {
			t.Fatalf("produce %d: error %d base %d", i, r.ErrorCode, r.BaseOffset)
		}
	}
	for _, v := range []int16{4, 11, 13, 16} {
		fp := fetch(t, b, v, "t", 1, 2)
		if fp.ErrorCode != 0 || fp.HighWatermark != 6 {
			t.Fatalf("fetch v%d: error %d hwm %d", v, fp.ErrorCode, fp.HighWatermark)
		}
		var offsets []int64
		for rest := fp.RecordBatches; len(rest) > 0; {
			n := int(binary.BigEndian.Uint32(rest[8:])) + 12
			offsets = append(offsets, int64(binary.BigEndian.Uint64(rest)))
			rest = rest[n:]
		}
		if len(offsets) != 2 || offsets[0] != 2 || offsets[1] != 4 {
			t.Fatalf("fetch v%d from offset 2: batch offsets %v", v, offsets)
		}
	}
	if fp := fetch(t, b, 12, "t", 1, 99); fp.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch past the end: error %d", fp.ErrorCode)
	}
	if fp := fetch(t, b, 12, "nope", 0, 0); fp.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("fetch unknown topic: error %d", fp.ErrorCode)
	}
}

func TestProduceRejectsBadBatches(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "t", 1, map[string]string{"max.message.bytes": "2000"})
	good := testBatch(-1, 0, 0, kv{value: []byte("hello")})

	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 0xff
	oldMagic := append([]byte(nil), good...)
	oldMagic[16] = 1
	lyingLength := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(lyingLength[8:], uint32(len(good)))
	twoBatches := append(append([]byte(nil), good...), good...)
	big := testBatch(-1, 0, 0, kv{value: make([]byte, 3000)})

	cases := []struct {
		name    string
		records []byte
		want    *kerr.Error
	}{
		{"bad crc", badCRC, kerr.CorruptMessage},
		{"magic 1", oldMagic, kerr.InvalidRecord},
		{"length that lies", lyingLength, kerr.CorruptMessage},
		{"truncated", good[:40], kerr.CorruptMessage},
		{"two batches", twoBatches, kerr.InvalidRecord},
		{"empty", nil, kerr.InvalidRecord},
		{"too large", big, kerr.MessageTooLarge},
	}
	for _, c := range cases {
		r := produce(t, b, 1, "t", 0, c.records)
		if r.ErrorCode != c.want.Code {
			t.Errorf("%s: error %d, want %s", c.name, r.ErrorCode, c.want.Message)
		}
	}
	if r := produce(t, b, 5, "t", 0, good); r.ErrorCode != kerr.InvalidRequiredAcks.Code {
		t.Errorf("acks=5: error %d", r.ErrorCode)
	}
	if r := produce(t, b, 0, "t", 0, good); r != nil {
		t.Errorf("acks=0 got a response")
	}
	if r := produce(t, b, 1, "t", 0, good); r.ErrorCode != 0 || r.BaseOffset != 1 {
		t.Errorf("good batch after the bad ones: error %d base %d (acks=0 batch should be at 0)", r.ErrorCode, r.BaseOffset)
	}
}

func TestIdempotentProduce(t *testing.T) {
	dir := t.TempDir()
	b := openTestBroker(t, testConfig(dir))
	createTopic(t, b, "idem", 1, nil)
	pid := serve(t, b, &kmsg.InitProducerIDRequest{Version: 4, ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse)
	if pid.ErrorCode != 0 || pid.ProducerID < 0 {
		t.Fatalf("InitProducerId: %+v", pid)
	}
	id := pid.ProducerID
	one := kv{value: []byte("x")}
	steps := []struct {
		name  string
		epoch int16
		seq   int32
		n     int
		code  *kerr.Error
		base  int64
	}{
		{"first", 0, 0, 2, nil, 0},
		{"next", 0, 2, 1, nil, 2},
		{"duplicate of first", 0, 0, 2, nil, 0},
		{"duplicate of next", 0, 2, 1, nil, 2},
		{"gap", 0, 5, 1, kerr.OutOfOrderSequenceNumber, -1},
		{"in order", 0, 3, 1, nil, 3},
		{"new epoch not at 0", 1, 4, 1, kerr.OutOfOrderSequenceNumber, -1},
		{"new epoch", 1, 0, 1, nil, 4},
		{"old epoch", 0, 4, 1, kerr.InvalidProducerEpoch, -1},
	}
	run := func(b *Broker, i int) {
		s := steps[i]
		recs := make([]kv, s.n)
		for j := range recs {
			recs[j] = one
		}
		r := produce(t, b, -1, "idem", 0, testBatch(id, s.epoch, s.seq, recs...))
		wantCode := int16(0)
		if s.code != nil {
			wantCode = s.code.Code
		}
		if r.ErrorCode != wantCode || (wantCode == 0 && r.BaseOffset != s.base) {
			t.Fatalf("%s: error %d base %d; want error %d base %d", s.name, r.ErrorCode, r.BaseOffset, wantCode, s.base)
		}
	}
	for i := 0; i < 6; i++ {
		run(b, i)
	}
	// Producer state survives a restart: duplicates are still caught.
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b = openTestBroker(t, testConfig(dir))
	defer b.Close(context.Background())
	run(b, 3)
	for i := 6; i < len(steps); i++ {
		run(b, i)
	}
	again := serve(t, b, &kmsg.InitProducerIDRequest{Version: 4, ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse)
	if again.ProducerID <= id {
		t.Fatalf("producer id %d reused after restart (had %d)", again.ProducerID, id)
	}
	bump := serve(t, b, &kmsg.InitProducerIDRequest{Version: 4, ProducerID: id, ProducerEpoch: 1}).(*kmsg.InitProducerIDResponse)
	if bump.ErrorCode != 0 || bump.ProducerID != id || bump.ProducerEpoch != 2 {
		t.Fatalf("epoch bump: %+v", bump)
	}
}

func TestListOffsets(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "lo", 1, nil)
	b0 := testBatch(-1, 0, 0, kv{value: []byte("a")}, kv{value: []byte("b")})
	produce(t, b, 1, "lo", 0, b0)
	ts0 := int64(binary.BigEndian.Uint64(b0[27:]))
	list := func(version int16, ts int64) kmsg.ListOffsetsResponseTopicPartition {
		req := kmsg.NewPtrListOffsetsRequest()
		req.Version = version
		req.ReplicaID = -1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "lo"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = 0, ts, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return serve(t, b, req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
	}
	cases := []struct {
		version    int16
		ts, offset int64
	}{
		{1, -2, 0}, {1, -1, 2}, {8, -2, 0}, {8, -1, 2},
		{5, ts0, 0}, {5, ts0 + 1, 1}, {5, ts0 + 1000, -1},
		{8, -3, 1},
	}
	for _, c := range cases {
		p := list(c.version, c.ts)
		if p.ErrorCode != 0 || p.Offset != c.offset {
			t.Errorf("v%d ts %d: error %d offset %d, want %d", c.version, c.ts, p.ErrorCode, p.Offset, c.offset)
		}
	}
}

func TestRestartKeepsTopicsAndRecords(t *testing.T) {
	dir := t.TempDir()
	b := openTestBroker(t, testConfig(dir))
	createTopic(t, b, "keep", 3, map[string]string{"retention.ms": "1000000"})
	createTopic(t, b, "gone", 1, nil)
	for p := int32(0); p < 3; p++ {
		produce(t, b, -1, "keep", p, testBatch(-1, 0, 0, kv{value: []byte{byte(p)}}))
	}
	del := serve(t, b, &kmsg.DeleteTopicsRequest{Version: 6, Topics: []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("gone")}}}).(*kmsg.DeleteTopicsResponse)
	if del.Topics[0].ErrorCode != 0 {
		t.Fatalf("delete: %d", del.Topics[0].ErrorCode)
	}
	id := b.topicByName("keep").id
	cluster := b.ClusterID()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b = openTestBroker(t, testConfig(dir))
	defer b.Close(context.Background())
	if b.ClusterID() != cluster {
		t.Errorf("cluster id changed: %s -> %s", cluster, b.ClusterID())
	}
	tp := b.topicByName("keep")
	if tp == nil || tp.id != id || len(tp.partitions) != 3 || tp.overrides()["retention.ms"] != "1000000" {
		t.Fatalf("topic after restart: %+v", tp)
	}
	if b.topicByName("gone") != nil {
		t.Fatal("deleted topic came back")
	}
	for p := int32(0); p < 3; p++ {
		fp := fetch(t, b, 12, "keep", p, 0)
		if fp.ErrorCode != 0 || fp.HighWatermark != 1 || len(fp.RecordBatches) == 0 {
			t.Fatalf("partition %d after restart: error %d hwm %d", p, fp.ErrorCode, fp.HighWatermark)
		}
	}
}

func TestSecondBrokerOnSameDirIsRefused(t *testing.T) {
	cfg := testConfig(t.TempDir())
	b := openTestBroker(t, cfg)
	defer b.Close(context.Background())
	if _, err := New(Options{Config: cfg, Logger: quietLogger()}); !errors.Is(err, segments.ErrDirLocked) {
		t.Fatalf("second broker on the same log dir: %v, want ErrDirLocked", err)
	}
}

// TestUnopenablePartitionIsOffline damages one partition so its log cannot
// be opened: the broker still starts, the other partition works, and the
// damaged one answers KAFKA_STORAGE_ERROR everywhere.
func TestUnopenablePartitionIsOffline(t *testing.T) {
	dir := t.TempDir()
	b := openTestBroker(t, testConfig(dir))
	createTopic(t, b, "hurt", 2, nil)
	produce(t, b, -1, "hurt", 0, testBatch(-1, 0, 0, kv{value: []byte("ok")}))
	b.Close(context.Background())
	// A regular file where the partition directory should be: the log
	// cannot be opened.
	p1 := filepath.Join(dir, "hurt-1")
	if err := os.RemoveAll(p1); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p1, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	b = openTestBroker(t, testConfig(dir))
	defer b.Close(context.Background())
	if r := produce(t, b, -1, "hurt", 0, testBatch(-1, 0, 0, kv{value: []byte("still")})); r.ErrorCode != 0 || r.BaseOffset != 1 {
		t.Fatalf("healthy partition: error %d base %d", r.ErrorCode, r.BaseOffset)
	}
	if r := produce(t, b, -1, "hurt", 1, testBatch(-1, 0, 0, kv{value: []byte("x")})); r.ErrorCode != kerr.KafkaStorageError.Code {
		t.Fatalf("offline partition produce: error %d", r.ErrorCode)
	}
	if fp := fetch(t, b, 12, "hurt", 1, 0); fp.ErrorCode != kerr.KafkaStorageError.Code {
		t.Fatalf("offline partition fetch: error %d", fp.ErrorCode)
	}
	meta := metadataFor(t, b, 12, false, "hurt")
	if meta.Topics[0].Partitions[1].ErrorCode != kerr.KafkaStorageError.Code || len(meta.Topics[0].Partitions[1].OfflineReplicas) != 1 {
		t.Fatalf("offline partition metadata: %+v", meta.Topics[0].Partitions[1])
	}
	del := serve(t, b, &kmsg.DeleteTopicsRequest{Version: 1, TopicNames: []string{"hurt"}}).(*kmsg.DeleteTopicsResponse)
	if del.Topics[0].ErrorCode != 0 {
		t.Fatalf("deleting a topic with an offline partition: error %d", del.Topics[0].ErrorCode)
	}
	if _, err := os.Stat(p1); !os.IsNotExist(err) {
		t.Fatalf("offline partition's data left behind: %v", err)
	}
}

func TestCompactedTopicRejectsNullKeys(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "compacted", 1, map[string]string{"cleanup.policy": "compact"})
	if r := produce(t, b, 1, "compacted", 0, testBatch(-1, 0, 0, kv{key: []byte("k"), value: []byte("v")}, kv{value: []byte("no key")})); r.ErrorCode != kerr.InvalidRecord.Code {
		t.Fatalf("null key on a compacted topic: error %d, want INVALID_RECORD", r.ErrorCode)
	}
	if r := produce(t, b, 1, "compacted", 0, testBatch(-1, 0, 0, kv{key: []byte("k"), value: nil})); r.ErrorCode != 0 {
		t.Fatalf("keyed tombstone on a compacted topic: error %d", r.ErrorCode)
	}
}
