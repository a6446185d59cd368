package host

import (
	"github.com/runnel-dev/runnel/sdk"
)

// The proxies below stand for an extension in a supervised plugin
// process. Each call asks the process for its current client (failing at
// once with sdk.ErrUnavailable while it is down) and reports the outcome,
// so a call that times out hastens the health check.

// assignorProxy is an sdk.Assignor in a plugin process. Its name is the
// one the plugin gave when first started: a group's choice of assignor
// must not change under it.
type assignorProxy struct {
	proc *process
	name string
}

var _ sdk.Assignor = (*assignorProxy)(nil)

func newAssignorProxy(proc *process, first sdk.Assignor) *assignorProxy {
	return &assignorProxy{proc: proc, name: first.Name()}
}

func (a *assignorProxy) Name() string { return a.name }

func (a *assignorProxy) Assign(in sdk.AssignmentInput) (sdk.Assignment, error) {
	impl, err := a.proc.current()
	if err != nil {
		return sdk.Assignment{}, err
	}
	out, err := impl.(sdk.Assignor).Assign(in)
	return out, a.proc.observe(err)
}

// partitionerProxy is an sdk.Partitioner in a plugin process.
type partitionerProxy struct {
	proc *process
}

// statefulPartitionerProxy also forwards batch boundaries.
type statefulPartitionerProxy struct {
	*partitionerProxy
}

var (
	_ sdk.Partitioner         = (*partitionerProxy)(nil)
	_ sdk.StatefulPartitioner = statefulPartitionerProxy{}
)

func newPartitionerProxy(proc *process, first sdk.Partitioner) sdk.Partitioner {
	p := &partitionerProxy{proc: proc}
	if _, ok := first.(sdk.StatefulPartitioner); ok {
		return statefulPartitionerProxy{p}
	}
	return p
}

func (p *partitionerProxy) Partition(topic string, n int32, keys [][]byte, dst []int32) error {
	impl, err := p.proc.current()
	if err != nil {
		return err
	}
	return p.proc.observe(impl.(sdk.Partitioner).Partition(topic, n, keys, dst))
}

func (s statefulPartitionerProxy) OnNewBatch(topic string) {
	impl, err := s.proc.current()
	if err != nil {
		return
	}
	if sp, ok := impl.(sdk.StatefulPartitioner); ok {
		sp.OnNewBatch(topic)
	}
}

// authorizerProxy is an sdk.Authorizer in a plugin process.
type authorizerProxy struct {
	proc *process
}

var _ sdk.Authorizer = (*authorizerProxy)(nil)

func (a *authorizerProxy) Authorize(req sdk.AuthorizeRequest) ([]sdk.Decision, error) {
	impl, err := a.proc.current()
	if err != nil {
		return nil, err
	}
	out, err := impl.(sdk.Authorizer).Authorize(req)
	return out, a.proc.observe(err)
}

// authenticatorProxy is an sdk.Authenticator in a plugin process. An
// exchange stays with the process that started it: after a restart, the
// new process knows nothing of it and the client authenticates again.
type authenticatorProxy struct {
	proc       *process
	mechanisms []string
}

var _ sdk.Authenticator = (*authenticatorProxy)(nil)

func (a *authenticatorProxy) Mechanisms() []string { return a.mechanisms }

func (a *authenticatorProxy) Start(mechanism string, conn sdk.ConnInfo) (sdk.AuthExchange, error) {
	impl, err := a.proc.current()
	if err != nil {
		return nil, err
	}
	ex, err := impl.(sdk.Authenticator).Start(mechanism, conn)
	return ex, a.proc.observe(err)
}
