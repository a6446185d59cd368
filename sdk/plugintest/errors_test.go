package plugintest_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/runnel-dev/runnel/plugins"
	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/sdk/plugintest"
	"github.com/runnel-dev/runnel/sdk/plugintest/internal/testplugins"
)

// failingCall makes the call of one extension point that Faulty fails.
type failingCall struct {
	name  string
	point string
	call  func(impl any) error
}

var failingCalls = []failingCall{
	{"Partition", sdk.PointPartitioner, func(impl any) error {
		return impl.(sdk.Partitioner).Partition("t", 3, [][]byte{nil, []byte("k")}, make([]int32, 2))
	}},
	{"OnNewBatch", sdk.PointPartitioner, func(impl any) error {
		// OnNewBatch has no error of its own: the call after it tells.
		impl.(sdk.StatefulPartitioner).OnNewBatch("t")
		return impl.(sdk.Partitioner).Partition("t", 3, [][]byte{nil}, make([]int32, 1))
	}},
	{"Assign", sdk.PointAssignor, func(impl any) error {
		_, err := impl.(sdk.Assignor).Assign(sdk.AssignmentInput{
			GroupID: "g",
			Members: []sdk.GroupMember{{MemberID: "m", Subscribed: []string{"t"}}},
			Topics:  []sdk.TopicPartitions{{Topic: "t", Partitions: []int32{0}}},
		})
		return err
	}},
	{"Authorize", sdk.PointAuthorizer, func(impl any) error {
		_, err := impl.(sdk.Authorizer).Authorize(sdk.AuthorizeRequest{
			Principal: alice,
			Actions:   []sdk.Action{{Operation: "Read", Resource: orders}},
		})
		return err
	}},
	{"Start", sdk.PointAuthenticator, func(impl any) error {
		_, err := impl.(sdk.Authenticator).Start("FAULTY-START", sdk.ConnInfo{})
		return err
	}},
	{"Step", sdk.PointAuthenticator, func(impl any) error {
		ex, err := impl.(sdk.Authenticator).Start("FAULTY-STEP", sdk.ConnInfo{})
		if err != nil {
			return errors.New("unexpected Start failure: " + err.Error())
		}
		_, done, p, err := ex.Step([]byte("hello"))
		if err == nil {
			return nil
		}
		if !done || p != (sdk.Principal{}) {
			return errors.New("a failed Step must end the exchange with no principal")
		}
		return err
	}},
}

func failingCallNamed(name string) func(impl any) error {
	for _, c := range failingCalls {
		if c.name == name {
			return c.call
		}
	}
	panic("no failing call " + name)
}

// bindFaulty returns Faulty serving point over gRPC in memory or in a
// plugin process.
func bindFaulty(t *testing.T, binding, point string, panics bool) any {
	impl := testplugins.Faulty{Panic: panics}
	if binding == "grpc" {
		return plugintest.InMemory[any](t, point, impl)
	}
	id := point + ".faulty"
	if panics {
		id = point + ".panicky"
	}
	return plugintest.Subprocess[any](t, point, pluginCmd(t, id))
}

// An implementation's error reaches the host with its text, as from a
// builtin, and does not read as the plugin being unavailable.
func TestPluginErrorText(t *testing.T) {
	for _, binding := range []string{"builtin", "grpc", "process"} {
		for _, c := range failingCalls {
			t.Run(binding+"/"+c.name, func(t *testing.T) {
				var impl any = testplugins.Faulty{}
				if binding != "builtin" {
					impl = bindFaulty(t, binding, c.point, false)
				}
				err := c.call(impl)
				if err == nil || err.Error() != testplugins.FaultyError {
					t.Fatalf("got error %v, want %q", err, testplugins.FaultyError)
				}
				if errors.Is(err, sdk.ErrUnavailable) {
					t.Errorf("an implementation's error reads as sdk.ErrUnavailable: %v", err)
				}
			})
		}
	}
}

// A panic in an implementation costs the call, not the plugin process:
// the call fails, and the next one is answered the same way.
func TestPluginPanic(t *testing.T) {
	for _, binding := range []string{"grpc", "process"} {
		for _, c := range failingCalls {
			t.Run(binding+"/"+c.name, func(t *testing.T) {
				impl := bindFaulty(t, binding, c.point, true)
				for i := range 2 {
					err := c.call(impl)
					if err == nil || !strings.Contains(err.Error(), "panicked on purpose") {
						t.Fatalf("call %d: got error %v, want the panic's", i, err)
					}
					if errors.Is(err, sdk.ErrUnavailable) {
						t.Fatalf("call %d: the plugin is gone after a panic: %v", i, err)
					}
				}
			})
		}
	}
}

// Once a plugin process is gone, each call fails at once with
// sdk.ErrUnavailable, which the kernel answers clients with as retriable,
// rather than hanging until the call timeout.
func TestPluginKilled(t *testing.T) {
	for _, c := range []struct {
		id   string
		call func(impl any) error
	}{
		{"partitioner.murmur2", failingCallNamed("Partition")},
		{"assignor.uniform", failingCallNamed("Assign")},
		{"authorizer.acl", failingCallNamed("Authorize")},
		{"authenticator.users", func(impl any) error {
			_, err := impl.(sdk.Authenticator).Start("PLAIN", sdk.ConnInfo{})
			return err
		}},
	} {
		t.Run(c.id, func(t *testing.T) {
			point, _, _ := strings.Cut(c.id, ".")
			cmd := pluginCmd(t, c.id)
			impl := plugintest.Subprocess[any](t, point, cmd)
			if err := c.call(impl); err != nil {
				t.Fatalf("before the kill: %v", err)
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				start := time.Now()
				err := c.call(impl)
				took := time.Since(start)
				if !errors.Is(err, sdk.ErrUnavailable) {
					t.Fatalf("call %d after the kill: got %v, want sdk.ErrUnavailable", i, err)
				}
				if took >= plugintest.CallTimeout {
					t.Errorf("call %d after the kill took %v; the call timeout is %v", i, took, plugintest.CallTimeout)
				}
			}
		})
	}
}

// blockingPartitioner answers nothing until release is closed.
type blockingPartitioner struct{ release chan struct{} }

func (p blockingPartitioner) Partition(string, int32, [][]byte, []int32) error {
	<-p.release
	return nil
}

// A plugin that does not answer in time is unavailable, after the
// configured call timeout and not much later.
func TestPluginCallTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	impl := blockingPartitioner{release: make(chan struct{})}
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
		sdk.PointPartitioner: &sdk.GRPCPlugin{Point: sdk.PointPartitioner, Impl: impl, CallTimeout: timeout},
	})
	t.Cleanup(func() {
		close(impl.release)
		_ = client.Close() // stops the server too
	})
	raw, err := client.Dispense(sdk.PointPartitioner)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = raw.(sdk.Partitioner).Partition("t", 3, [][]byte{nil}, make([]int32, 1))
	took := time.Since(start)
	if !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("got %v, want sdk.ErrUnavailable", err)
	}
	if took < timeout || took > timeout+5*time.Second {
		t.Errorf("the call gave up after %v; the timeout is %v", took, timeout)
	}
}

// outOfRange answers a partition past the topic's count.
type outOfRange struct{}

func (outOfRange) Partition(_ string, n int32, _ [][]byte, dst []int32) error {
	for i := range dst {
		dst[i] = n
	}
	return nil
}

// The host indexes its partitions with what a plugin answers, so the
// client refuses an answer out of range rather than passing it on.
func TestPluginPartitionOutOfRange(t *testing.T) {
	p := plugintest.InMemory[sdk.Partitioner](t, sdk.PointPartitioner, outOfRange{})
	err := p.Partition("t", 3, [][]byte{[]byte("k")}, make([]int32, 1))
	if err == nil || !strings.Contains(err.Error(), "partition 3 of a topic with 3") {
		t.Fatalf("got %v, want the out-of-range answer refused", err)
	}
}

// A batch larger than gRPC's 4 MiB message limit still crosses, in
// several requests, and places every key as the builtin does.
func TestPluginPartitionLargeBatch(t *testing.T) {
	keys := make([][]byte, 6000)
	for i := range keys {
		keys[i] = bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 512) // 1 KiB each, 6 MiB in all
	}
	keys[17] = nil
	want := make([]int32, len(keys))
	builtin, err := plugins.NewPartitioner("murmur2")
	if err != nil {
		t.Fatal(err)
	}
	if err := builtin.Partition("t", 50, keys, want); err != nil {
		t.Fatal(err)
	}
	remote := plugintest.InMemory(t, sdk.PointPartitioner, builtin)
	got := make([]int32, len(keys))
	if err := remote.Partition("t", 50, keys, got); err != nil {
		t.Fatalf("a 6 MiB batch: %v", err)
	}
	for i := range keys {
		if got[i] != want[i] {
			t.Fatalf("keys[%d] went to %d over gRPC and %d in process", i, got[i], want[i])
		}
	}
}

// emptyFailure fails every exchange with an error whose text is empty.
type emptyFailure struct{}

func (emptyFailure) Mechanisms() []string { return []string{"EMPTY"} }

func (emptyFailure) Start(string, sdk.ConnInfo) (sdk.AuthExchange, error) { return emptyFailure{}, nil }

func (emptyFailure) Step([]byte) ([]byte, bool, sdk.Principal, error) {
	return nil, true, sdk.Principal{Type: "User", Name: "nobody"}, errors.New("")
}

// On the wire a failure is its text; an empty one must still fail the
// exchange rather than authenticate anyone.
func TestPluginAuthEmptyFailure(t *testing.T) {
	a := plugintest.InMemory[sdk.Authenticator](t, sdk.PointAuthenticator, emptyFailure{})
	ex, err := a.Start("EMPTY", sdk.ConnInfo{})
	if err != nil {
		t.Fatal(err)
	}
	_, done, p, err := ex.Step([]byte("x"))
	if err == nil || !done || p != (sdk.Principal{}) {
		t.Fatalf("Step = done %v, principal %q, error %v; want a failure", done, p, err)
	}
}
