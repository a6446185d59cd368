package kernel

import (
	"github.com/runnel-dev/runnel/kernel/config"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) handleCreateTopics(rc *reqCtx, req *kmsg.CreateTopicsRequest) response {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := make(map[string]int, len(req.Topics))
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic, st.NumPartitions, st.ReplicationFactor = rt.Topic, -1, -1
		fail := func(e *topicError) {
			st.ErrorCode = e.code
			msg := e.msg
			st.ErrorMessage = &msg
		}
		switch {
		case seen[rt.Topic] > 1:
			fail(newTopicError(kerr.InvalidRequest, "topic %q is named more than once in the request", rt.Topic))
		case len(rt.ReplicaAssignment) > 0:
			fail(b.checkAssignment(rt))
		}
		if st.ErrorCode == 0 {
			configs, cerr := createConfigs(rt.Configs)
			if cerr != nil {
				fail(cerr)
			} else {
				partitions := rt.NumPartitions
				if len(rt.ReplicaAssignment) > 0 {
					partitions = int32(len(rt.ReplicaAssignment))
				}
				t, terr := b.createTopic(rt.Topic, partitions, rt.ReplicationFactor, configs, req.ValidateOnly)
				if terr != nil {
					fail(terr)
				} else {
					st.TopicID = t.id
					st.NumPartitions = int32(len(t.partitions))
					st.ReplicationFactor = 1
					st.Configs = describeCreatedConfigs(t)
				}
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return response{msg: resp}
}

// checkAssignment accepts a manual replica assignment only if it places
// every partition, contiguously numbered, on this broker alone.
func (b *Broker) checkAssignment(rt kmsg.CreateTopicsRequestTopic) *topicError {
	if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
		return newTopicError(kerr.InvalidRequest, "give either a replica assignment or partitions and replication factor, not both")
	}
	for i, a := range rt.ReplicaAssignment {
		if a.Partition != int32(i) {
			return newTopicError(kerr.InvalidReplicaAssignment, "partitions must be numbered 0 to %d in order", len(rt.ReplicaAssignment)-1)
		}
		if len(a.Replicas) != 1 || a.Replicas[0] != b.cfg.NodeID {
			return newTopicError(kerr.InvalidReplicaAssignment, "partition %d: replicas must be exactly [%d], the one broker", i, b.cfg.NodeID)
		}
	}
	return nil
}

func createConfigs(cs []kmsg.CreateTopicsRequestTopicConfig) (map[string]string, *topicError) {
	if len(cs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(cs))
	for _, c := range cs {
		if c.Value == nil {
			return nil, newTopicError(kerr.InvalidConfig, "config %q has a null value", c.Name)
		}
		m[c.Name] = *c.Value
	}
	return m, nil
}

// describeCreatedConfigs lists the topic's effective configs, as
// CreateTopics v5+ reports them.
func describeCreatedConfigs(t *topic) []kmsg.CreateTopicsResponseTopicConfig {
	var out []kmsg.CreateTopicsResponseTopicConfig
	s := t.settings.Load()
	for _, name := range config.TopicConfigNames() {
		v, ok := s.cfg.Get(name)
		if !ok {
			continue
		}
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name = name
		c.Value = &v
		c.Source = 5 // DEFAULT_CONFIG
		if _, set := s.overrides[name]; set {
			c.Source = 1 // DYNAMIC_TOPIC_CONFIG
		}
		out = append(out, c)
	}
	return out
}

func failCreateTopics(req *kmsg.CreateTopicsRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic, st.ErrorCode, st.NumPartitions, st.ReplicationFactor = rt.Topic, code, -1, -1
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (b *Broker) handleDeleteTopics(rc *reqCtx, req *kmsg.DeleteTopicsRequest) response {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type named struct {
		name *string
		id   [16]byte
	}
	var wanted []named
	if req.Version < 6 {
		for _, n := range req.TopicNames {
			n := n
			wanted = append(wanted, named{name: &n})
		}
	} else {
		for _, t := range req.Topics {
			wanted = append(wanted, named{name: t.Topic, id: t.TopicID})
		}
	}
	for _, w := range wanted {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = w.name, w.id
		var t *topic
		if w.name != nil {
			t = b.topicByName(*w.name)
		} else {
			t = b.topicByID(w.id)
		}
		var terr *topicError
		switch {
		case t == nil && w.name == nil:
			terr = newTopicError(kerr.UnknownTopicID, "no topic has that id")
		case t == nil:
			terr = newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", *w.name)
		default:
			terr = b.deleteTopic(t)
			name := t.name
			st.Topic, st.TopicID = &name, t.id
		}
		if terr != nil {
			st.ErrorCode = terr.code
			msg := terr.msg
			st.ErrorMessage = &msg
		}
		resp.Topics = append(resp.Topics, st)
	}
	return response{msg: resp}
}

func failDeleteTopics(req *kmsg.DeleteTopicsRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	for _, n := range req.TopicNames {
		n := n
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.ErrorCode = &n, code
		resp.Topics = append(resp.Topics, st)
	}
	for _, t := range req.Topics {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID, st.ErrorCode = t.Topic, t.TopicID, code
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
