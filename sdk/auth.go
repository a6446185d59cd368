package sdk

// Principal is an authenticated identity, as Kafka writes it: Type "User"
// and Name "alice" make "User:alice".
type Principal struct {
	Type string
	Name string
}

// String returns the principal in Kafka's "Type:Name" form.
func (p Principal) String() string { return p.Type + ":" + p.Name }

// ConnInfo describes the connection an authentication exchange runs on.
type ConnInfo struct {
	ClientHost string // the client's address, without port
	Listener   string // the listener name ("PLAINTEXT", "SASL_SSL", ...)
}

// Authenticator implements one or more SASL mechanisms. The kernel calls
// Start when a client's SaslHandshake names one of Mechanisms, then steps
// the exchange with each SaslAuthenticate message until it is done.
type Authenticator interface {
	// Mechanisms lists the SASL mechanism names served ("PLAIN",
	// "SCRAM-SHA-256", ...).
	Mechanisms() []string
	// Start begins an exchange for mechanism on the connection conn.
	Start(mechanism string, conn ConnInfo) (AuthExchange, error)
}

// AuthExchange is one SASL exchange in progress. It is used by one
// connection at a time and dropped when the connection closes.
type AuthExchange interface {
	// Step consumes the client's next message. It returns the server's
	// answer, and done when the exchange is complete: then the client is
	// authenticated as principal. An error fails the authentication; its
	// text is sent to the client, so it must not leak secrets.
	Step(clientMessage []byte) (serverMessage []byte, done bool, principal Principal, err error)
}

// AuthExchangeCloser is an optional capability of an AuthExchange that
// holds resources: Close is called when the exchange ends early.
type AuthExchangeCloser interface {
	AuthExchange
	Close() error
}

// Operation is an action on a resource, named as Kafka's ACLs name them:
// "Read", "Write", "Create", "Delete", "Alter", "Describe",
// "ClusterAction", "DescribeConfigs", "AlterConfigs", "IdempotentWrite".
type Operation string

// Resource names what an operation acts on. Type is Kafka's resource type
// name ("Topic", "Group", "Cluster", "TransactionalId"); Name is the
// resource's name ("kafka-cluster" for the cluster).
type Resource struct {
	Type string
	Name string
}

// Action is one operation on one resource.
type Action struct {
	Operation Operation
	Resource  Resource
}

// AuthorizeRequest asks about several actions of one principal at once,
// as one Kafka request may touch several topics.
type AuthorizeRequest struct {
	Principal Principal
	Host      string // the client's address, without port
	Actions   []Action
}

// Decision is the answer for one action.
type Decision uint8

const (
	Deny Decision = iota
	Allow
)

func (d Decision) String() string {
	if d == Allow {
		return "allow"
	}
	return "deny"
}

// Authorizer decides whether a principal may perform actions. The kernel
// caches decisions per (principal, host, action), so an Authorizer is
// asked again only when its cache entry expires or is invalidated.
type Authorizer interface {
	// Authorize returns one Decision per action of req, in order. An
	// error means no decision could be made; the kernel then denies.
	Authorize(req AuthorizeRequest) ([]Decision, error)
}
