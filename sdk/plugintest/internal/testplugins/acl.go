package testplugins

import "github.com/runnel-dev/runnel/sdk"

// ACL is an sdk.Authorizer over an allow-list: an action is allowed when
// an entry names it for the principal and host, and denied otherwise.
type ACL struct {
	Allow []ACLEntry
}

// ACLEntry allows one action to one principal, from Host or, when Host is
// empty, from anywhere.
type ACLEntry struct {
	Principal sdk.Principal
	Host      string
	Action    sdk.Action
}

var _ sdk.Authorizer = (*ACL)(nil)

// NewACL returns the policy the tests expect: alice reads and writes
// topic orders and describes group billing, bob reads orders from
// 10.0.0.2 only, admin alters the cluster.
func NewACL() *ACL {
	alice := sdk.Principal{Type: "User", Name: "alice"}
	bob := sdk.Principal{Type: "User", Name: "bob"}
	admin := sdk.Principal{Type: "User", Name: "admin"}
	orders := sdk.Resource{Type: "Topic", Name: "orders"}
	return &ACL{Allow: []ACLEntry{
		{Principal: alice, Action: sdk.Action{Operation: "Read", Resource: orders}},
		{Principal: alice, Action: sdk.Action{Operation: "Write", Resource: orders}},
		{Principal: alice, Action: sdk.Action{Operation: "Describe", Resource: sdk.Resource{Type: "Group", Name: "billing"}}},
		{Principal: bob, Host: "10.0.0.2", Action: sdk.Action{Operation: "Read", Resource: orders}},
		{Principal: admin, Action: sdk.Action{Operation: "Alter", Resource: sdk.Resource{Type: "Cluster", Name: "kafka-cluster"}}},
	}}
}

// Authorize implements sdk.Authorizer.
func (a *ACL) Authorize(req sdk.AuthorizeRequest) ([]sdk.Decision, error) {
	out := make([]sdk.Decision, len(req.Actions))
	for i, act := range req.Actions {
		for _, e := range a.Allow {
			if e.Principal == req.Principal && e.Action == act && (e.Host == "" || e.Host == req.Host) {
				out[i] = sdk.Allow
				break
			}
		}
	}
	return out, nil
}
