package testplugins

import (
	"errors"

	"github.com/runnel-dev/runnel/sdk"
)

// FaultyError is the text of every error Faulty returns.
const FaultyError = "faulty: refused on purpose"

// Faulty implements every sdk interface a plugin process can serve and
// fails every call that can fail: with an error whose text is
// FaultyError, or with a panic when Panic is set. Its Authenticator fails
// at Start, except for mechanism FAULTY-STEP, whose exchange fails at its
// first Step.
type Faulty struct {
	Panic bool
}

var (
	_ sdk.StatefulPartitioner = Faulty{}
	_ sdk.Assignor            = Faulty{}
	_ sdk.Authorizer          = Faulty{}
	_ sdk.Authenticator       = Faulty{}
)

func (f Faulty) fail() error {
	if f.Panic {
		panic("faulty: panicked on purpose")
	}
	return errors.New(FaultyError)
}

// Partition implements sdk.Partitioner.
func (f Faulty) Partition(string, int32, [][]byte, []int32) error { return f.fail() }

// OnNewBatch implements sdk.StatefulPartitioner; it has no error to
// return, so only a panicking Faulty fails it.
func (f Faulty) OnNewBatch(string) {
	if f.Panic {
		_ = f.fail()
	}
}

// Name implements sdk.Assignor.
func (Faulty) Name() string { return "faulty" }

// Assign implements sdk.Assignor.
func (f Faulty) Assign(sdk.AssignmentInput) (sdk.Assignment, error) {
	return sdk.Assignment{}, f.fail()
}

// Authorize implements sdk.Authorizer.
func (f Faulty) Authorize(sdk.AuthorizeRequest) ([]sdk.Decision, error) { return nil, f.fail() }

// Mechanisms implements sdk.Authenticator.
func (Faulty) Mechanisms() []string { return []string{"FAULTY-START", "FAULTY-STEP"} }

// Start implements sdk.Authenticator.
func (f Faulty) Start(mechanism string, _ sdk.ConnInfo) (sdk.AuthExchange, error) {
	if mechanism == "FAULTY-STEP" {
		return faultyExchange(f), nil
	}
	return nil, f.fail()
}

type faultyExchange Faulty

func (e faultyExchange) Step([]byte) ([]byte, bool, sdk.Principal, error) {
	return nil, true, sdk.Principal{}, Faulty(e).fail()
}
