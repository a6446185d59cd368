package kernel

import (
	"net"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleMetadata describes the broker and the requested topics, creating
// missing ones when auto.create.topics.enable is on and the client allows
// it (always, before v4, where the request has no such field).
func (b *Broker) handleMetadata(rc *reqCtx, req *kmsg.MetadataRequest) response {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	host, port := b.advertisedFor(rc)
	broker := kmsg.NewMetadataResponseBroker()
	broker.NodeID, broker.Host, broker.Port = b.cfg.NodeID, host, port
	resp.Brokers = append(resp.Brokers, broker)
	clusterID := b.clusterID
	resp.ClusterID = &clusterID
	resp.ControllerID = b.cfg.NodeID

	// v0: an empty list means every topic; v1+: null means every topic
	// and empty means none.
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		for _, t := range b.allTopics() {
			resp.Topics = append(resp.Topics, b.describeTopic(t))
		}
		return response{msg: resp}
	}
	autoCreate := b.cfg.AutoCreateTopics && (req.Version < 4 || req.AllowAutoTopicCreation)
	for _, rt := range req.Topics {
		var t *topic
		switch {
		case rt.Topic != nil && *rt.Topic != "":
			t = b.topicByName(*rt.Topic)
			if t == nil && autoCreate {
				var terr *topicError
				t, terr = b.createTopic(*rt.Topic, -1, -1, nil, false)
				if terr != nil && terr.code == kerr.TopicAlreadyExists.Code {
					t, terr = b.topicByName(*rt.Topic), nil // created concurrently
				}
				if terr != nil {
					resp.Topics = append(resp.Topics, metadataTopicError(rt, terr.code))
					continue
				}
			}
			if t == nil {
				code := kerr.UnknownTopicOrPartition.Code
				if validTopicName(*rt.Topic) != nil {
					code = kerr.InvalidTopicException.Code
				}
				resp.Topics = append(resp.Topics, metadataTopicError(rt, code))
				continue
			}
		default:
			t = b.topicByID(rt.TopicID)
			if t == nil {
				resp.Topics = append(resp.Topics, metadataTopicError(rt, kerr.UnknownTopicID.Code))
				continue
			}
		}
		resp.Topics = append(resp.Topics, b.describeTopic(t))
	}
	return response{msg: resp}
}

func metadataTopicError(rt kmsg.MetadataRequestTopic, code int16) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic, mt.TopicID, mt.ErrorCode = rt.Topic, rt.TopicID, code
	return mt
}

func (b *Broker) describeTopic(t *topic) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.name
	mt.Topic, mt.TopicID, mt.IsInternal = &name, t.id, t.internal
	mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, len(t.partitions))
	node := []int32{b.cfg.NodeID}
	for i := range t.partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.Leader, mp.LeaderEpoch = int32(i), b.cfg.NodeID, 0
		mp.Replicas, mp.ISR = node, node
		if t.partitions[i].offline.Load() {
			mp.ErrorCode = kerr.KafkaStorageError.Code
			mp.OfflineReplicas = node
		}
		mt.Partitions[i] = mp
	}
	return mt
}

// advertisedFor picks the address clients should use: the advertised
// listener matching the listener this connection arrived on. A listener
// configured with port 0 advertises the port it really got.
func (b *Broker) advertisedFor(rc *reqCtx) (string, int32) {
	localPort := 0
	if rc != nil && rc.conn != nil {
		if la, ok := rc.conn.LocalAddr().(*net.TCPAddr); ok {
			localPort = la.Port
		}
	}
	bound := b.Addrs()
	idx := 0
	for i, l := range b.cfg.Listeners {
		port := l.Port
		if port == 0 && i < len(bound) {
			if ta, ok := bound[i].(*net.TCPAddr); ok {
				port = ta.Port
			}
		}
		if port != 0 && port == localPort {
			idx = i
			break
		}
	}
	name := b.cfg.Listeners[idx].Name
	adv := b.cfg.Advertised()
	pick := adv[0]
	for _, a := range adv {
		if a.Name == name {
			pick = a
			break
		}
	}
	port := pick.Port
	if port == 0 {
		// Only a listener advertised as itself can have port 0 here.
		port = localPort
		if port == 0 && idx < len(bound) {
			if ta, ok := bound[idx].(*net.TCPAddr); ok {
				port = ta.Port
			}
		}
	}
	return pick.Host, int32(port)
}

func failMetadata(req *kmsg.MetadataRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	for _, rt := range req.Topics {
		resp.Topics = append(resp.Topics, metadataTopicError(rt, code))
	}
	resp.ErrorCode = code
	return resp
}
