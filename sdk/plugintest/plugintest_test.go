package plugintest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/runnel-dev/runnel/plugins"
	_ "github.com/runnel-dev/runnel/plugins/builtin"
	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/sdk/plugintest"
	"github.com/runnel-dev/runnel/sdk/plugintest/internal/testplugins"
)

// binDir holds the plugin binary, once built.
var binDir string

// pluginBin builds testdata/plugin once per test binary: with `go` from
// PATH, which `go test` puts its own GOROOT's bin first on.
var pluginBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "plugintest-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "plugin")
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/plugin").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./testdata/plugin: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// pluginCmd returns the command that starts the test plugin serving id.
func pluginCmd(t testing.TB, id string) *exec.Cmd {
	t.Helper()
	bin, err := pluginBin()
	if err != nil {
		t.Fatal(err)
	}
	return exec.Command(bin, id)
}

// conform runs suite three ways: against newImpl's implementation in
// process, the same served over gRPC in memory, and the plugin binary
// serving id in a process of its own.
func conform[T any](t *testing.T, point, id string, newImpl func() T, suite func(t *testing.T, newImpl func() T)) {
	t.Run("builtin", func(t *testing.T) {
		suite(t, newImpl)
	})
	t.Run("grpc", func(t *testing.T) {
		suite(t, func() T { return plugintest.InMemory(t, point, newImpl()) })
	})
	t.Run("process", func(t *testing.T) {
		suite(t, func() T { return plugintest.Subprocess[T](t, point, pluginCmd(t, id)) })
	})
}

// keyStable says which builtin partitioners place a key the same way
// whatever the batch. A new builtin must be added here to be tested.
var keyStable = map[string]bool{
	"partitioner.murmur2":    true,
	"partitioner.sticky":     true,
	"partitioner.roundrobin": false,
}

func TestBuiltinPartitioners(t *testing.T) {
	modules := plugins.List(sdk.PointPartitioner + ".")
	if len(modules) == 0 {
		t.Fatal("no builtin partitioners registered")
	}
	for _, m := range modules {
		t.Run(m.ID, func(t *testing.T) {
			stable, ok := keyStable[m.ID]
			if !ok {
				t.Fatalf("%s has no entry in keyStable", m.ID)
			}
			newImpl := func() sdk.Partitioner { return m.New().(sdk.Partitioner) }
			conform(t, sdk.PointPartitioner, m.ID, newImpl, func(t *testing.T, newImpl func() sdk.Partitioner) {
				plugintest.TestPartitioner(t, newImpl, plugintest.PartitionerOptions{KeyStable: stable})
			})
		})
	}
}

func TestBuiltinAssignors(t *testing.T) {
	modules := plugins.List(sdk.PointAssignor + ".")
	if len(modules) == 0 {
		t.Fatal("no builtin assignors registered")
	}
	for _, m := range modules {
		t.Run(m.ID, func(t *testing.T) {
			newImpl := func() sdk.Assignor { return m.New().(sdk.Assignor) }
			conform(t, sdk.PointAssignor, m.ID, newImpl, plugintest.TestAssignor)
		})
	}
}

var (
	alice = sdk.Principal{Type: "User", Name: "alice"}
	bob   = sdk.Principal{Type: "User", Name: "bob"}
	carol = sdk.Principal{Type: "User", Name: "carol"}
	admin = sdk.Principal{Type: "User", Name: "admin"}

	orders  = sdk.Resource{Type: "Topic", Name: "orders"}
	billing = sdk.Resource{Type: "Group", Name: "billing"}
	cluster = sdk.Resource{Type: "Cluster", Name: "kafka-cluster"}
)

// aclCases is testplugins.NewACL's policy, allowed and denied.
var aclCases = []plugintest.AuthorizerCase{
	{Principal: alice, Host: "10.0.0.1", Action: sdk.Action{Operation: "Read", Resource: orders}, Want: sdk.Allow},
	{Principal: alice, Host: "10.0.0.1", Action: sdk.Action{Operation: "Write", Resource: orders}, Want: sdk.Allow},
	{Principal: alice, Host: "10.0.0.1", Action: sdk.Action{Operation: "Delete", Resource: orders}, Want: sdk.Deny},
	{Principal: alice, Host: "10.0.0.1", Action: sdk.Action{Operation: "Describe", Resource: billing}, Want: sdk.Allow},
	{Principal: alice, Host: "10.0.0.1", Action: sdk.Action{Operation: "Alter", Resource: cluster}, Want: sdk.Deny},
	{Principal: bob, Host: "10.0.0.2", Action: sdk.Action{Operation: "Read", Resource: orders}, Want: sdk.Allow},
	{Principal: bob, Host: "10.0.0.2", Action: sdk.Action{Operation: "Write", Resource: orders}, Want: sdk.Deny},
	{Principal: bob, Host: "10.0.0.3", Action: sdk.Action{Operation: "Read", Resource: orders}, Want: sdk.Deny},
	{Principal: admin, Host: "", Action: sdk.Action{Operation: "Alter", Resource: cluster}, Want: sdk.Allow},
	{Principal: admin, Host: "", Action: sdk.Action{Operation: "Read", Resource: orders}, Want: sdk.Deny},
	{Principal: sdk.Principal{Type: "Group", Name: "alice"}, Host: "10.0.0.1", Action: sdk.Action{Operation: "Read", Resource: orders}, Want: sdk.Deny},
	{Principal: sdk.Principal{}, Host: "10.0.0.1", Action: sdk.Action{Operation: "Read", Resource: orders}, Want: sdk.Deny},
}

func TestAuthorizerACL(t *testing.T) {
	newImpl := func() sdk.Authorizer { return testplugins.NewACL() }
	conform(t, sdk.PointAuthorizer, "authorizer.acl", newImpl, func(t *testing.T, newImpl func() sdk.Authorizer) {
		plugintest.TestAuthorizer(t, newImpl, aclCases...)
	})
}

// plainMsg is a SASL PLAIN client message.
func plainMsg(authz, user, password string) [][]byte {
	return [][]byte{[]byte(authz + "\x00" + user + "\x00" + password)}
}

// challengeReply answers TEST-CHALLENGE as user with password.
func challengeReply(user, password string) func(int, []byte) []byte {
	return func(step int, server []byte) []byte {
		if step == 0 {
			return []byte(user)
		}
		return []byte(string(server) + ":" + password)
	}
}

// usersCases are testplugins.NewUsers' table, logging in and refused.
var usersCases = []plugintest.AuthenticatorCase{
	{Name: "plain-alice", Mechanism: "PLAIN", Messages: plainMsg("", "alice", "alice-secret"), Want: alice},
	{Name: "plain-bob-as-bob", Mechanism: "PLAIN", Messages: plainMsg("bob", "bob", "bob-secret"), Want: bob},
	{Name: "plain-carol-from-her-host", Mechanism: "PLAIN", Conn: sdk.ConnInfo{ClientHost: "10.0.0.7", Listener: "SASL_SSL"},
		Messages: plainMsg("", "carol", "carol-secret"), Want: carol},
	{Name: "plain-wrong-password", Mechanism: "PLAIN", Messages: plainMsg("", "alice", "bob-secret"), WantErr: true},
	{Name: "plain-unknown-user", Mechanism: "PLAIN", Messages: plainMsg("", "mallory", "x"), WantErr: true},
	{Name: "plain-carol-elsewhere", Mechanism: "PLAIN", Conn: sdk.ConnInfo{ClientHost: "10.0.0.8"},
		Messages: plainMsg("", "carol", "carol-secret"), WantErr: true},
	{Name: "plain-bob-as-alice", Mechanism: "PLAIN", Messages: plainMsg("alice", "bob", "bob-secret"), WantErr: true},
	{Name: "plain-malformed", Mechanism: "PLAIN", Messages: [][]byte{[]byte("alice")}, WantErr: true},
	{Name: "plain-empty", Mechanism: "PLAIN", Messages: [][]byte{nil}, WantErr: true},
	{Name: "challenge-alice", Mechanism: "TEST-CHALLENGE", Reply: challengeReply("alice", "alice-secret"), Want: alice},
	{Name: "challenge-wrong-password", Mechanism: "TEST-CHALLENGE", Reply: challengeReply("bob", "alice-secret"), WantErr: true},
	{Name: "challenge-replayed-nonce", Mechanism: "TEST-CHALLENGE",
		Messages: [][]byte{[]byte("alice"), []byte("0000:alice-secret")}, WantErr: true},
}

func TestAuthenticatorUsers(t *testing.T) {
	newImpl := func() sdk.Authenticator { return testplugins.NewUsers() }
	conform(t, sdk.PointAuthenticator, "authenticator.users", newImpl, func(t *testing.T, newImpl func() sdk.Authenticator) {
		plugintest.TestAuthenticator(t, newImpl, usersCases...)
	})
}
