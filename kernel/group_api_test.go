package kernel

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestPartitionForMatchesKafka(t *testing.T) {
	for _, c := range []struct {
		s    string
		hash int32
	}{
		{"", 0},
		{"abc", 96354},
		{"hello", 99162322},
		{"polygenelubricants", -1 << 31}, // Java's Integer.MIN_VALUE
		{"é", 233},
		{"😀", 1772899}, // a surrogate pair in UTF-16
	} {
		if got := javaStringHash(c.s); got != c.hash {
			t.Errorf("javaStringHash(%q) = %d, want %d", c.s, got, c.hash)
		}
	}
	// Kafka's Utils.abs maps MinInt32 to 0.
	if p := partitionFor("polygenelubricants", 50); p != 0 {
		t.Errorf("partitionFor(MinInt32 hash) = %d, want 0", p)
	}
	if p := partitionFor("hello", 50); p != 99162322%50 {
		t.Errorf("partitionFor(hello) = %d", p)
	}
}

func TestFindCoordinatorVersions(t *testing.T) {
	b := newTestBroker(t)
	for v := int16(0); v <= 6; v++ {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version = v
		req.CoordinatorKey = "g"
		req.CoordinatorKeys = []string{"g1", "g2"}
		resp := serve(t, b, req).(*kmsg.FindCoordinatorResponse)
		if v < 4 {
			if resp.ErrorCode != 0 || resp.NodeID != 1 || resp.Host != "127.0.0.1" {
				t.Fatalf("v%d: %+v", v, resp)
			}
			continue
		}
		if len(resp.Coordinators) != 2 || resp.Coordinators[1].Key != "g2" || resp.Coordinators[1].NodeID != 1 {
			t.Fatalf("v%d: %+v", v, resp.Coordinators)
		}
	}
	txn := serve(t, b, &kmsg.FindCoordinatorRequest{Version: 4, CoordinatorType: 1, CoordinatorKeys: []string{"t"}}).(*kmsg.FindCoordinatorResponse)
	if txn.Coordinators[0].ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("transaction coordinator: %+v", txn.Coordinators[0])
	}
	if b.topicByName(offsetsTopicName) == nil || !b.topicByName(offsetsTopicName).internal {
		t.Fatal("the first group request did not create the internal offsets topic")
	}
	if got := b.topicByName(offsetsTopicName).config().CleanupPolicy; got != "compact" {
		t.Fatalf("offsets topic cleanup.policy %q", got)
	}
}

// TestParkedJoinAnswersOnClose parks a JoinGroup (the group waits for a
// member that never rejoins) and closes the broker: the join is answered.
func TestParkedJoinAnswersOnClose(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.GroupInitialRebalanceDelayMs = 0
	b := openTestBroker(t, cfg)
	join := func(member string) kmsg.Request {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Version = 3 // no member id dance
		req.Group, req.MemberID, req.ProtocolType = "g", member, "consumer"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 60000
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{1}}}
		return req
	}
	first := serve(t, b, join("")).(*kmsg.JoinGroupResponse)
	if first.ErrorCode != 0 || first.Generation != 1 {
		t.Fatalf("first join: %+v", first)
	}
	r := b.ServeRequest(nil, encodeRequest(join(""), 9))
	if r.Wait == nil {
		t.Fatal("second join was not parked")
	}
	done := make(chan kmsg.Response)
	go func() {
		resp, _ := decodeReply(11, 3, 9, r)
		done <- resp
	}()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-done:
		if code := resp.(*kmsg.JoinGroupResponse).ErrorCode; code != kerr.CoordinatorNotAvailable.Code {
			t.Fatalf("parked join answered %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parked join still waiting after Close")
	}
}

func TestOffsetFetchVersions(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "t", 2, nil)
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version, commit.Group, commit.Generation = 2, "g", -1
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 1, Offset: 42}}}}
	if r := serve(t, b, commit).(*kmsg.OffsetCommitResponse); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("commit: %+v", r)
	}
	for _, v := range []int16{1, 2, 5, 7} {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version, req.Group = v, "g"
		req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}}
		resp := serve(t, b, req).(*kmsg.OffsetFetchResponse)
		ps := resp.Topics[0].Partitions
		if resp.ErrorCode != 0 || ps[0].Offset != -1 || ps[1].Offset != 42 {
			t.Fatalf("v%d: %+v", v, resp)
		}
	}
	// v8+: several groups at once; an unknown group has -1 offsets.
	for _, v := range []int16{8, 9} {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = v
		req.Groups = []kmsg.OffsetFetchRequestGroup{
			{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{1}}}},
			{Group: "unknown", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{1}}}},
			{Group: "g"}, // null topics: everything committed
		}
		resp := serve(t, b, req).(*kmsg.OffsetFetchResponse)
		if len(resp.Groups) != 3 || resp.Groups[0].Topics[0].Partitions[0].Offset != 42 ||
			resp.Groups[1].Topics[0].Partitions[0].Offset != -1 || resp.Groups[1].ErrorCode != 0 ||
			len(resp.Groups[2].Topics) != 1 {
			t.Fatalf("v%d: %+v", v, resp.Groups)
		}
	}
}

func TestListAndDescribeGroups(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "t", 1, nil)
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version, commit.Group, commit.Generation = 8, "simple", -1
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}}}
	serve(t, b, commit)
	list := func(v int16, states, types []string) []kmsg.ListGroupsResponseGroup {
		return serve(t, b, &kmsg.ListGroupsRequest{Version: v, StatesFilter: states, TypesFilter: types}).(*kmsg.ListGroupsResponse).Groups
	}
	if gs := list(0, nil, nil); len(gs) != 1 || gs[0].Group != "simple" {
		t.Fatalf("v0: %+v", gs)
	}
	if gs := list(4, []string{"stable"}, nil); len(gs) != 0 {
		t.Fatalf("state filter: %+v", gs)
	}
	if gs := list(5, []string{"EMPTY"}, []string{"Classic"}); len(gs) != 1 || gs[0].GroupState != "Empty" || gs[0].GroupType != "classic" {
		t.Fatalf("filters: %+v", gs)
	}
	if gs := list(5, nil, []string{"consumer"}); len(gs) != 0 {
		t.Fatalf("type filter: %+v", gs)
	}
	d := serve(t, b, &kmsg.DescribeGroupsRequest{Version: 5, Groups: []string{"simple", "nope"}, IncludeAuthorizedOperations: true}).(*kmsg.DescribeGroupsResponse)
	if d.Groups[0].State != "Empty" || d.Groups[1].State != "Dead" || d.Groups[1].ErrorCode != 0 || d.Groups[0].AuthorizedOperations != groupOperations {
		t.Fatalf("describe: %+v", d.Groups)
	}
	del := serve(t, b, &kmsg.DeleteGroupsRequest{Version: 2, Groups: []string{"simple", "nope"}}).(*kmsg.DeleteGroupsResponse)
	if del.Groups[0].ErrorCode != 0 || del.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("delete: %+v", del.Groups)
	}
}

// TestConsumerGroupsNeedAssignors: without server-side assignors the
// broker refuses KIP-848 heartbeats with UNSUPPORTED_VERSION, which makes
// clients fall back to the classic protocol.
func TestConsumerGroupsNeedAssignors(t *testing.T) {
	b := newTestBroker(t)
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version, req.Group, req.MemberID, req.RebalanceTimeoutMillis = 1, "g", "m", 1000
	req.SubscribedTopicNames, req.Topics = []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	resp := serve(t, b, req).(*kmsg.ConsumerGroupHeartbeatResponse)
	if resp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("error %d", resp.ErrorCode)
	}
	d := serve(t, b, &kmsg.ConsumerGroupDescribeRequest{Groups: []string{"g"}}).(*kmsg.ConsumerGroupDescribeResponse)
	if d.Groups[0].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("describe: %+v", d.Groups[0])
	}
}

func TestOffsetsBatchRoundTrip(t *testing.T) {
	recs := []logRecord{{key: []byte("k1"), value: []byte("v1")}, {key: []byte("k2")}, {key: []byte{}, value: []byte{}}}
	batch := appendRecordBatch(nil, recs, 1234)
	if _, err, msg := validateProduceBatch(batch, 9, 1<<20); err != nil {
		t.Fatalf("batch does not validate: %v %s", err.Message, msg)
	}
	var got []logRecord
	if err := eachRecord(batch, func(k, v []byte) { got = append(got, logRecord{k, v}) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || string(got[0].value) != "v1" || got[1].value != nil || got[2].value == nil {
		t.Fatalf("records: %+v", got)
	}
}
