package sdk

// Assignor computes a target assignment of partitions to the members of a
// consumer group. The broker calls it on every rebalance of a group that
// uses server-side assignment (KIP-848); for classic groups the assignor's
// Name is one of the protocols the broker accepts.
type Assignor interface {
	// Name is the protocol name clients use to ask for this assignor
	// ("uniform", "range", ...).
	Name() string
	// Assign returns the target assignment for the group described by in.
	// Every partition of every subscribed topic is owned by at most one
	// member in the result.
	Assign(in AssignmentInput) (Assignment, error)
}

// AssignmentInput is everything an assignor may look at.
type AssignmentInput struct {
	GroupID string
	Members []GroupMember
	// Topics lists the subscribed topics with their partition counts.
	Topics []TopicPartitions
}

// GroupMember is one member of a group, as the assignor sees it.
type GroupMember struct {
	MemberID   string
	InstanceID string // static membership id, empty when dynamic
	RackID     string
	// Subscribed lists the topic names the member subscribes to.
	Subscribed []string
	// Owned is the member's current assignment, for sticky assignors.
	Owned []TopicPartitions
}

// TopicPartitions names a topic and a set of its partitions. In
// AssignmentInput.Topics, Partitions holds every partition of the topic.
type TopicPartitions struct {
	Topic      string
	TopicID    [16]byte
	Partitions []int32
}

// Assignment maps member ids to the partitions they should own.
type Assignment struct {
	Members map[string][]TopicPartitions
}
