package kernel

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	apiKeyFetch       int16 = 1
	apiKeyApiVersions int16 = 18
)

// response is a handler's answer: a ready kmsg response, one computed
// later (off the request goroutine, in order), or nothing at all.
type response struct {
	msg   kmsg.Response
	later func() kmsg.Response
	none  bool
}

// api is one row of the API table: the versions served and the handler.
type api struct {
	key      int16
	min, max int16
	handle   func(b *Broker, rc *reqCtx, req kmsg.Request) response
	// failAll builds the response to req with every error code set to
	// code. The router uses it when a handler panics.
	failAll func(req kmsg.Request, code int16) kmsg.Response
}

// apiTable is the one list of served APIs: the router dispatches from it
// and ApiVersions reports it. An API absent here is not advertised.
func apiTable() []api {
	t := []api{
		{key: 0, min: 3, max: 11, handle: typed((*Broker).handleProduce), failAll: typedFail(failProduce)},
		{key: 1, min: 4, max: 16, handle: typed((*Broker).handleFetch), failAll: typedFail(failFetch)},
		{key: 2, min: 1, max: 8, handle: typed((*Broker).handleListOffsets), failAll: typedFail(failListOffsets)},
		{key: 3, min: 0, max: 12, handle: typed((*Broker).handleMetadata), failAll: typedFail(failMetadata)},
		{key: 8, min: 2, max: 9, handle: typed((*Broker).handleOffsetCommit), failAll: typedFail(failOffsetCommit)},
		{key: 9, min: 1, max: 9, handle: typed((*Broker).handleOffsetFetch), failAll: typedFail(failOffsetFetch)},
		{key: 10, min: 0, max: 6, handle: typed((*Broker).handleFindCoordinator), failAll: typedFail(failFindCoordinator)},
		{key: 11, min: 0, max: 9, handle: typed((*Broker).handleJoinGroup), failAll: typedFail(failJoinGroup)},
		{key: 12, min: 0, max: 4, handle: typed((*Broker).handleHeartbeat), failAll: typedFail(failHeartbeat)},
		{key: 13, min: 0, max: 5, handle: typed((*Broker).handleLeaveGroup), failAll: typedFail(failLeaveGroup)},
		{key: 14, min: 0, max: 5, handle: typed((*Broker).handleSyncGroup), failAll: typedFail(failSyncGroup)},
		{key: 15, min: 0, max: 5, handle: typed((*Broker).handleDescribeGroups), failAll: typedFail(failDescribeGroups)},
		{key: 16, min: 0, max: 5, handle: typed((*Broker).handleListGroups), failAll: typedFail(failListGroups)},
		{key: apiKeyApiVersions, min: 0, max: 4, handle: typed((*Broker).handleApiVersions), failAll: typedFail(failApiVersions)},
		{key: 19, min: 2, max: 7, handle: typed((*Broker).handleCreateTopics), failAll: typedFail(failCreateTopics)},
		{key: 20, min: 1, max: 6, handle: typed((*Broker).handleDeleteTopics), failAll: typedFail(failDeleteTopics)},
		{key: 21, min: 0, max: 2, handle: typed((*Broker).handleDeleteRecords), failAll: typedFail(failDeleteRecords)},
		{key: 22, min: 0, max: 5, handle: typed((*Broker).handleInitProducerID), failAll: typedFail(failInitProducerID)},
		{key: 32, min: 0, max: 4, handle: typed((*Broker).handleDescribeConfigs), failAll: typedFail(failDescribeConfigs)},
		{key: 33, min: 0, max: 2, handle: typed((*Broker).handleAlterConfigs), failAll: typedFail(failAlterConfigs)},
		{key: 42, min: 0, max: 2, handle: typed((*Broker).handleDeleteGroups), failAll: typedFail(failDeleteGroups)},
		{key: 44, min: 0, max: 1, handle: typed((*Broker).handleIncrementalAlterConfigs), failAll: typedFail(failIncrementalAlterConfigs)},
		{key: 47, min: 0, max: 0, handle: typed((*Broker).handleOffsetDelete), failAll: typedFail(failOffsetDelete)},
		{key: 68, min: 0, max: 1, handle: typed((*Broker).handleConsumerGroupHeartbeat), failAll: typedFail(failConsumerGroupHeartbeat)},
		{key: 69, min: 0, max: 0, handle: typed((*Broker).handleConsumerGroupDescribe), failAll: typedFail(failConsumerGroupDescribe)},
	}
	sort.Slice(t, func(i, j int) bool { return t[i].key < t[j].key })
	return t
}

// typed adapts a handler taking its concrete request type to the table's
// signature. The router guarantees the dynamic type, since it made the
// request from the same key.
func typed[R kmsg.Request](fn func(*Broker, *reqCtx, R) response) func(*Broker, *reqCtx, kmsg.Request) response {
	return func(b *Broker, rc *reqCtx, req kmsg.Request) response { return fn(b, rc, req.(R)) }
}

func typedFail[R kmsg.Request](fn func(R, int16) kmsg.Response) func(kmsg.Request, int16) kmsg.Response {
	return func(req kmsg.Request, code int16) kmsg.Response { return fn(req.(R), code) }
}
