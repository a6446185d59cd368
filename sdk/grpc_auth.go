package sdk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/runnel-dev/runnel/sdk/internal/pb"
)

// maxOpenExchanges bounds the SASL exchanges a plugin process keeps for a
// host that starts them and never finishes: past it, the oldest is
// dropped.
const maxOpenExchanges = 4096

// authenticatorServer serves an Authenticator. Exchanges in progress are
// kept by id between Step calls.
type authenticatorServer struct {
	pb.UnimplementedAuthenticatorServer
	impl Authenticator

	mu        sync.Mutex // guards next, exchanges and order
	next      uint64
	exchanges map[uint64]AuthExchange
	order     []uint64 // ids by age, for the bound
}

func newAuthenticatorServer(impl Authenticator) *authenticatorServer {
	return &authenticatorServer{impl: impl, exchanges: map[uint64]AuthExchange{}}
}

func (s *authenticatorServer) Info(context.Context, *pb.InfoRequest) (*pb.InfoResponse, error) {
	return &pb.InfoResponse{}, nil
}

func (s *authenticatorServer) Mechanisms(context.Context, *pb.Empty) (resp *pb.MechanismsResponse, err error) {
	defer recovered(&err)
	return &pb.MechanismsResponse{Mechanisms: s.impl.Mechanisms()}, nil
}

func (s *authenticatorServer) Start(_ context.Context, req *pb.AuthStartRequest) (resp *pb.AuthStepResponse, err error) {
	defer recovered(&err)
	ex, err := s.impl.Start(req.Mechanism, ConnInfo{ClientHost: req.ClientHost, Listener: req.Listener})
	if err != nil {
		return nil, serverError(err)
	}
	s.mu.Lock()
	s.next++
	id := s.next
	s.exchanges[id] = ex
	s.order = append(s.order, id)
	var evicted []AuthExchange
	for len(s.exchanges) > maxOpenExchanges {
		evicted = append(evicted, s.forgetLocked(s.order[0]))
	}
	s.mu.Unlock()
	for _, old := range evicted {
		closeExchange(old)
	}
	return &pb.AuthStepResponse{ExchangeId: id}, nil
}

func (s *authenticatorServer) Step(_ context.Context, req *pb.AuthStepRequest) (resp *pb.AuthStepResponse, err error) {
	defer recovered(&err)
	s.mu.Lock()
	ex, ok := s.exchanges[req.ExchangeId]
	s.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no SASL exchange %d in progress", req.ExchangeId)
	}
	// A panicking exchange is finished: the host gives up on it, so
	// nothing would ever Abort it.
	defer func() {
		if err != nil {
			s.drop(req.ExchangeId)
		}
	}()
	defer recovered(&err)
	msg, done, principal, err := ex.Step(req.ClientMessage)
	resp = &pb.AuthStepResponse{ExchangeId: req.ExchangeId, ServerMessage: msg, Done: done || err != nil}
	if err != nil {
		// An empty failure reads as success on the wire.
		resp.Failure = cmp.Or(err.Error(), "authentication failed")
		err = nil
	} else if done {
		resp.Principal = &pb.Principal{Type: principal.Type, Name: principal.Name}
	}
	if resp.Done {
		s.drop(req.ExchangeId)
	}
	return resp, nil
}

func (s *authenticatorServer) Abort(_ context.Context, req *pb.AuthAbortRequest) (*pb.Empty, error) {
	s.drop(req.ExchangeId)
	return &pb.Empty{}, nil
}

// drop forgets an exchange and closes it. The close runs outside s.mu, so
// a slow or panicking Close stalls no other exchange.
func (s *authenticatorServer) drop(id uint64) {
	s.mu.Lock()
	ex := s.forgetLocked(id)
	s.mu.Unlock()
	closeExchange(ex)
}

// forgetLocked removes an exchange and returns it, nil if there is none.
// REQUIRES: s.mu held.
func (s *authenticatorServer) forgetLocked(id uint64) AuthExchange {
	ex, ok := s.exchanges[id]
	if !ok {
		return nil
	}
	delete(s.exchanges, id)
	for i, o := range s.order {
		if o == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	return ex
}

// closeExchange closes ex if it holds resources. Nobody waits for the
// outcome: the exchange is over either way, so neither Close's error nor
// its panic may cost the plugin process or the caller's answer.
func closeExchange(ex AuthExchange) {
	c, ok := ex.(AuthExchangeCloser)
	if !ok {
		return
	}
	defer func() { _ = recover() }()
	_ = c.Close()
}

// authenticatorClient is an Authenticator served by a plugin process.
type authenticatorClient struct {
	caller
	rpc        pb.AuthenticatorClient
	mechanisms []string // asked once, when the client is made
}

var _ Authenticator = (*authenticatorClient)(nil)

func newAuthenticatorClient(c caller, rpc pb.AuthenticatorClient) (Authenticator, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	resp, err := rpc.Mechanisms(ctx, &pb.Empty{})
	if err != nil {
		return nil, clientError("Authenticator.Mechanisms", err)
	}
	return &authenticatorClient{caller: c, rpc: rpc, mechanisms: resp.Mechanisms}, nil
}

func (a *authenticatorClient) Mechanisms() []string { return a.mechanisms }

func (a *authenticatorClient) Start(mechanism string, conn ConnInfo) (AuthExchange, error) {
	ctx, cancel := a.ctx()
	defer cancel()
	resp, err := a.rpc.Start(ctx, &pb.AuthStartRequest{Mechanism: mechanism, ClientHost: conn.ClientHost, Listener: conn.Listener})
	if err != nil {
		return nil, clientError("Authenticator.Start", err)
	}
	return &authExchangeClient{parent: a, id: resp.ExchangeId}, nil
}

// authExchangeClient is one exchange kept by the plugin process.
type authExchangeClient struct {
	parent *authenticatorClient
	id     uint64
	done   bool
}

var _ AuthExchangeCloser = (*authExchangeClient)(nil)

func (e *authExchangeClient) Step(clientMessage []byte) ([]byte, bool, Principal, error) {
	if e.done {
		return nil, true, Principal{}, fmt.Errorf("SASL exchange already finished")
	}
	ctx, cancel := e.parent.ctx()
	defer cancel()
	resp, err := e.parent.rpc.Step(ctx, &pb.AuthStepRequest{ExchangeId: e.id, ClientMessage: clientMessage})
	if err != nil {
		e.done = true
		return nil, true, Principal{}, clientError("Authenticator.Step", err)
	}
	e.done = resp.Done
	if resp.Failure != "" {
		e.done = true
		return resp.ServerMessage, true, Principal{}, errors.New(resp.Failure)
	}
	if !resp.Done {
		return resp.ServerMessage, false, Principal{}, nil
	}
	// Done without a principal is no authentication at all, whatever a
	// faulty plugin meant by it.
	if resp.Principal == nil {
		return resp.ServerMessage, true, Principal{}, errors.New("authentication failed: the plugin named no principal")
	}
	return resp.ServerMessage, true, Principal{Type: resp.Principal.Type, Name: resp.Principal.Name}, nil
}

func (e *authExchangeClient) Close() error {
	if e.done {
		return nil
	}
	e.done = true
	ctx, cancel := e.parent.ctx()
	defer cancel()
	_, err := e.parent.rpc.Abort(ctx, &pb.AuthAbortRequest{ExchangeId: e.id})
	return clientError("Authenticator.Abort", err)
}

// authorizerServer serves an Authorizer.
type authorizerServer struct {
	pb.UnimplementedAuthorizerServer
	mu   sync.Mutex // serializes calls into impl
	impl Authorizer
}

func (s *authorizerServer) Info(context.Context, *pb.InfoRequest) (*pb.InfoResponse, error) {
	return &pb.InfoResponse{}, nil
}

func (s *authorizerServer) Authorize(_ context.Context, req *pb.AuthorizeRequest) (resp *pb.AuthorizeResponse, err error) {
	defer recovered(&err)
	in := AuthorizeRequest{Host: req.Host}
	if req.Principal != nil {
		in.Principal = Principal{Type: req.Principal.Type, Name: req.Principal.Name}
	}
	for _, a := range req.Actions {
		act := Action{Operation: Operation(a.Operation)}
		if a.Resource != nil {
			act.Resource = Resource{Type: a.Resource.Type, Name: a.Resource.Name}
		}
		in.Actions = append(in.Actions, act)
	}
	decisions, err := s.authorize(in)
	if err != nil {
		return nil, serverError(err)
	}
	if len(decisions) != len(in.Actions) {
		return nil, serverError(fmt.Errorf("authorizer answered %d decisions for %d actions", len(decisions), len(in.Actions)))
	}
	resp = &pb.AuthorizeResponse{Allowed: make([]bool, len(decisions))}
	for i, d := range decisions {
		resp.Allowed[i] = d == Allow
	}
	return resp, nil
}

// authorize calls impl. The deferred unlock matters: a panic in impl is
// recovered into an error, and must not leave every later call waiting.
func (s *authorizerServer) authorize(req AuthorizeRequest) ([]Decision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.impl.Authorize(req)
}

// authorizerClient is an Authorizer served by a plugin process.
type authorizerClient struct {
	caller
	rpc pb.AuthorizerClient
}

var _ Authorizer = (*authorizerClient)(nil)

func newAuthorizerClient(c caller, rpc pb.AuthorizerClient) (Authorizer, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	if _, err := rpc.Info(ctx, &pb.InfoRequest{}); err != nil {
		return nil, clientError("Authorizer.Info", err)
	}
	return &authorizerClient{caller: c, rpc: rpc}, nil
}

func (a *authorizerClient) Authorize(req AuthorizeRequest) ([]Decision, error) {
	in := &pb.AuthorizeRequest{
		Principal: &pb.Principal{Type: req.Principal.Type, Name: req.Principal.Name},
		Host:      req.Host,
	}
	for _, act := range req.Actions {
		in.Actions = append(in.Actions, &pb.Action{
			Operation: string(act.Operation),
			Resource:  &pb.Resource{Type: act.Resource.Type, Name: act.Resource.Name},
		})
	}
	ctx, cancel := a.ctx()
	defer cancel()
	resp, err := a.rpc.Authorize(ctx, in)
	if err != nil {
		return nil, clientError("Authorizer.Authorize", err)
	}
	if len(resp.Allowed) != len(req.Actions) {
		return nil, fmt.Errorf("authorizer plugin answered %d decisions for %d actions", len(resp.Allowed), len(req.Actions))
	}
	out := make([]Decision, len(resp.Allowed))
	for i, ok := range resp.Allowed {
		if ok {
			out[i] = Allow
		}
	}
	return out, nil
}
