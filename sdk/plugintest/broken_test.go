package plugintest_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runnel-dev/runnel/plugins"
	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/sdk/plugintest"
	"github.com/runnel-dev/runnel/sdk/plugintest/internal/testplugins"
)

// broken is an implementation with one bug, and which of its suite's
// subtests must catch it (fail) and which must not (pass): a suite that
// passes everything, or fails everything, checks nothing.
type broken struct {
	name       string
	run        func(t *testing.T)
	fail, pass []string
}

func partitionerSuite(p sdk.Partitioner, opts plugintest.PartitionerOptions) func(t *testing.T) {
	return func(t *testing.T) {
		plugintest.TestPartitioner(t, func() sdk.Partitioner { return p }, opts)
	}
}

func assignorSuite(a sdk.Assignor) func(t *testing.T) {
	return func(t *testing.T) { plugintest.TestAssignor(t, func() sdk.Assignor { return a }) }
}

func authorizerSuite(a sdk.Authorizer) func(t *testing.T) {
	return func(t *testing.T) { plugintest.TestAuthorizer(t, func() sdk.Authorizer { return a }, aclCases...) }
}

func authenticatorSuite(a sdk.Authenticator) func(t *testing.T) {
	return func(t *testing.T) {
		plugintest.TestAuthenticator(t, func() sdk.Authenticator { return a }, usersCases...)
	}
}

var brokens = []broken{
	{
		name: "partitioner-out-of-range",
		run: partitionerSuite(partitionerFunc(func(n int32, keys [][]byte, dst []int32) {
			for i := range dst {
				dst[i] = n
			}
		}), plugintest.PartitionerOptions{}),
		fail: []string{"range", "nil-and-empty-keys", "large-batch", "spread"},
		pass: []string{"empty-batch"},
	},
	{
		name: "partitioner-unstable",
		run: partitionerSuite(partitionerFunc(func(n int32, keys [][]byte, dst []int32) {
			for i := range dst {
				dst[i] = rand.Int32N(n)
			}
		}), plugintest.PartitionerOptions{KeyStable: true}),
		fail: []string{"key-stable"},
		pass: []string{"range", "large-batch", "spread"},
	},
	{
		name: "partitioner-one-partition",
		run: partitionerSuite(partitionerFunc(func(n int32, keys [][]byte, dst []int32) {
			clear(dst)
		}), plugintest.PartitionerOptions{KeyStable: true}),
		fail: []string{"spread"},
		pass: []string{"range", "key-stable"},
	},
	{
		name: "partitioner-skips-last",
		run: partitionerSuite(partitionerFunc(func(n int32, keys [][]byte, dst []int32) {
			if len(dst) > 0 {
				clear(dst[:len(dst)-1])
			}
		}), plugintest.PartitionerOptions{}),
		fail: []string{"large-batch", "range"},
		pass: []string{"empty-batch"},
	},
	{
		name: "partitioner-writes-keys",
		run: partitionerSuite(partitionerFunc(func(n int32, keys [][]byte, dst []int32) {
			clear(dst)
			for _, k := range keys {
				if len(k) > 0 {
					k[0]++
				}
			}
		}), plugintest.PartitionerOptions{}),
		fail: []string{"keys-untouched"},
		pass: []string{"range", "empty-batch"},
	},
	{
		name: "partitioner-refuses-empty-batch",
		run:  partitionerSuite(errPartitioner{}, plugintest.PartitionerOptions{}),
		fail: []string{"empty-batch"},
		pass: []string{"range", "spread"},
	},
	{
		name: "assignor-everyone-gets-everything",
		run: assignorSuite(assignorFunc(func(in sdk.AssignmentInput) (sdk.Assignment, error) {
			out := sdk.Assignment{Members: map[string][]sdk.TopicPartitions{}}
			for _, m := range in.Members {
				for _, t := range in.Topics {
					if slices.Contains(m.Subscribed, t.Topic) {
						out.Members[m.MemberID] = append(out.Members[m.MemberID], t)
					}
				}
			}
			return out, nil
		})),
		fail: []string{"exclusive/more-members-than-partitions", "exclusive/random-30-members"},
		pass: []string{"complete", "subscribed-only", "known-members", "exclusive/one-member", "name", "no-members"},
	},
	{
		name: "assignor-ignores-subscriptions",
		run: assignorSuite(assignorFunc(func(in sdk.AssignmentInput) (sdk.Assignment, error) {
			out := sdk.Assignment{Members: map[string][]sdk.TopicPartitions{}}
			if len(in.Members) > 0 {
				out.Members[in.Members[0].MemberID] = in.Topics
			}
			return out, nil
		})),
		fail: []string{"subscribed-only/mixed-subscriptions"},
		pass: []string{"exclusive", "complete", "known-members", "subscribed-only/one-member"},
	},
	{
		name: "assignor-forgets-a-partition",
		run: assignorSuite(assignorFunc(func(in sdk.AssignmentInput) (sdk.Assignment, error) {
			out, err := new(uniformAssignor).Assign(in)
			for id, tps := range out.Members {
				if len(tps) > 0 && len(tps[0].Partitions) > 0 {
					tps[0].Partitions = tps[0].Partitions[1:]
					out.Members[id] = tps
					break
				}
			}
			return out, err
		})),
		fail: []string{"complete/one-member"},
		pass: []string{"exclusive", "subscribed-only", "known-members"},
	},
	{
		name: "assignor-invents-a-member",
		run: assignorSuite(assignorFunc(func(in sdk.AssignmentInput) (sdk.Assignment, error) {
			out, err := new(uniformAssignor).Assign(in)
			out.Members["ghost"] = nil
			return out, err
		})),
		fail: []string{"known-members/one-member", "no-members"},
		pass: []string{"exclusive", "complete", "subscribed-only"},
	},
	{
		name: "assignor-invents-a-partition",
		run: assignorSuite(assignorFunc(func(in sdk.AssignmentInput) (sdk.Assignment, error) {
			out, err := new(uniformAssignor).Assign(in)
			for id := range out.Members {
				out.Members[id] = append(out.Members[id], sdk.TopicPartitions{Topic: "t", Partitions: []int32{99}})
				break
			}
			return out, err
		})),
		fail: []string{"known-partitions/one-member"},
		pass: []string{"known-members", "complete"},
	},
	{
		name: "assignor-sorts-its-input",
		run: assignorSuite(assignorFunc(func(in sdk.AssignmentInput) (sdk.Assignment, error) {
			sort.Slice(in.Members, func(i, j int) bool { return in.Members[i].MemberID > in.Members[j].MemberID })
			return new(uniformAssignor).Assign(in)
		})),
		fail: []string{"input-untouched"},
		pass: []string{"exclusive", "complete"},
	},
	{
		name: "assignor-unnamed",
		run:  assignorSuite(unnamedAssignor{}),
		fail: []string{"name"},
		pass: []string{"exclusive", "complete"},
	},
	{
		name: "authorizer-allows-everything",
		run: authorizerSuite(authorizerFunc(func(req sdk.AuthorizeRequest) ([]sdk.Decision, error) {
			out := make([]sdk.Decision, len(req.Actions))
			for i := range out {
				out[i] = sdk.Allow
			}
			return out, nil
		})),
		fail: []string{"one-at-a-time", "batched"},
		pass: []string{"no-actions"},
	},
	{
		name: "authorizer-drops-the-last-answer",
		run: authorizerSuite(authorizerFunc(func(req sdk.AuthorizeRequest) ([]sdk.Decision, error) {
			out, err := testplugins.NewACL().Authorize(req)
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			return out, err
		})),
		fail: []string{"batched"},
		pass: []string{"one-at-a-time", "no-actions"},
	},
	{
		name: "authorizer-answers-the-first-action-only",
		run: authorizerSuite(authorizerFunc(func(req sdk.AuthorizeRequest) ([]sdk.Decision, error) {
			out, err := testplugins.NewACL().Authorize(req)
			for i := range out {
				out[i] = out[0]
			}
			return out, err
		})),
		fail: []string{"batched"},
		pass: []string{"one-at-a-time"},
	},
	{
		name: "authenticator-accepts-everyone",
		run:  authenticatorSuite(welcoming{}),
		fail: []string{"cases/plain-wrong-password", "unknown-mechanism"},
		pass: []string{"mechanisms", "cases/plain-alice"},
	},
	{
		name: "authenticator-shares-state-between-exchanges",
		run:  authenticatorSuite(&sharedNonce{Users: testplugins.NewUsers()}),
		fail: []string{"interleaved"},
		pass: []string{"cases", "mechanisms", "unknown-mechanism"},
	},
}

// TestBroken runs the suites against the broken implementations. It
// fails by design, so it runs only as TestSuitesCatchBugs' child.
func TestBroken(t *testing.T) {
	if os.Getenv("RUNNEL_PLUGINTEST_BROKEN") == "" {
		t.Skip("run by TestSuitesCatchBugs")
	}
	for _, b := range brokens {
		t.Run(b.name, b.run)
	}
}

// TestSuitesCatchBugs runs TestBroken in a child test process and checks
// that each bug fails the subtests meant to catch it, and only those
// listed as passing pass.
func TestSuitesCatchBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child test process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestBroken$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "RUNNEL_PLUGINTEST_BROKEN=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the child test process should fail, got error %v:\n%s", err, out)
	}
	results := map[string]string{}
	for _, m := range regexp.MustCompile(`--- (PASS|FAIL|SKIP): TestBroken/(\S+)`).FindAllSubmatch(out, -1) {
		results[string(m[2])] = string(m[1])
	}
	for _, b := range brokens {
		for _, sub := range b.fail {
			if got := results[b.name+"/"+sub]; got != "FAIL" {
				t.Errorf("%s: subtest %s should catch the bug, result %q", b.name, sub, got)
			}
		}
		for _, sub := range b.pass {
			if got := results[b.name+"/"+sub]; got != "PASS" {
				t.Errorf("%s: subtest %s should pass, result %q", b.name, sub, got)
			}
		}
	}
	if t.Failed() {
		t.Logf("child output:\n%s", out)
	}
}

type partitionerFunc func(n int32, keys [][]byte, dst []int32)

func (f partitionerFunc) Partition(_ string, n int32, keys [][]byte, dst []int32) error {
	f(n, keys, dst)
	return nil
}

// errPartitioner refuses empty batches and otherwise partitions by
// key length.
type errPartitioner struct{}

func (errPartitioner) Partition(_ string, n int32, keys [][]byte, dst []int32) error {
	if len(keys) == 0 {
		return errors.New("nothing to partition")
	}
	for i, k := range keys {
		dst[i] = int32(len(k)) % n
	}
	return nil
}

type assignorFunc func(sdk.AssignmentInput) (sdk.Assignment, error)

func (assignorFunc) Name() string { return "broken" }

func (f assignorFunc) Assign(in sdk.AssignmentInput) (sdk.Assignment, error) { return f(in) }

// uniformAssignor is the builtin the broken assignors start from.
type uniformAssignor struct{}

func (uniformAssignor) Assign(in sdk.AssignmentInput) (sdk.Assignment, error) {
	a, err := plugins.NewAssignor("uniform")
	if err != nil {
		return sdk.Assignment{}, err
	}
	return a.Assign(in)
}

type unnamedAssignor struct{ uniformAssignor }

func (unnamedAssignor) Name() string { return "" }

type authorizerFunc func(sdk.AuthorizeRequest) ([]sdk.Decision, error)

func (f authorizerFunc) Authorize(req sdk.AuthorizeRequest) ([]sdk.Decision, error) { return f(req) }

// welcoming authenticates anyone as alice, whatever the mechanism.
type welcoming struct{}

func (welcoming) Mechanisms() []string { return testplugins.NewUsers().Mechanisms() }

func (welcoming) Start(string, sdk.ConnInfo) (sdk.AuthExchange, error) { return welcoming{}, nil }

func (welcoming) Step([]byte) ([]byte, bool, sdk.Principal, error) {
	return nil, true, alice, nil
}

// sharedNonce keeps TEST-CHALLENGE's nonce on the authenticator rather
// than on the exchange, so exchanges in progress at once mix up.
type sharedNonce struct {
	*testplugins.Users
	nonce string
}

func (s *sharedNonce) Start(mechanism string, conn sdk.ConnInfo) (sdk.AuthExchange, error) {
	ex, err := s.Users.Start(mechanism, conn)
	if err != nil || mechanism != "TEST-CHALLENGE" {
		return ex, err
	}
	return &sharedNonceExchange{s: s, ex: ex}, nil
}

type sharedNonceExchange struct {
	s  *sharedNonce
	ex sdk.AuthExchange
}

func (e *sharedNonceExchange) Step(msg []byte) ([]byte, bool, sdk.Principal, error) {
	server, done, p, err := e.ex.Step(msg)
	if !done && err == nil {
		e.s.nonce = string(server) // the first step hands out a nonce
		return server, done, p, err
	}
	if nonce, _, ok := strings.Cut(string(msg), ":"); ok && nonce != e.s.nonce {
		return nil, true, sdk.Principal{}, errors.New("wrong nonce")
	}
	return server, done, p, err
}
