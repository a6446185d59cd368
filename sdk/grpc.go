package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/runnel-dev/runnel/sdk/internal/pb"
)

// GRPCPlugin is the go-plugin binding of one extension point over gRPC.
// In a plugin process it serves Impl; in the host, what it dispenses is a
// client that implements the point's sdk interface, so the host cannot
// tell an external extension from a builtin one.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin

	// Point is one of ExternalPoints.
	Point string
	// Impl is the implementation served (plugin side only).
	Impl any
	// CallTimeout bounds each call the dispensed client makes (host side
	// only; zero means no bound).
	CallTimeout time.Duration
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer implements plugin.GRPCPlugin: it registers Impl's service.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	var ok bool
	switch p.Point {
	case PointPartitioner:
		var impl Partitioner
		if impl, ok = p.Impl.(Partitioner); ok {
			pb.RegisterPartitionerServer(s, &partitionerServer{impl: impl})
		}
	case PointAssignor:
		var impl Assignor
		if impl, ok = p.Impl.(Assignor); ok {
			pb.RegisterAssignorServer(s, &assignorServer{impl: impl})
		}
	case PointAuthenticator:
		var impl Authenticator
		if impl, ok = p.Impl.(Authenticator); ok {
			pb.RegisterAuthenticatorServer(s, newAuthenticatorServer(impl))
		}
	case PointAuthorizer:
		var impl Authorizer
		if impl, ok = p.Impl.(Authorizer); ok {
			pb.RegisterAuthorizerServer(s, &authorizerServer{impl: impl})
		}
	default:
		return fmt.Errorf("unknown extension point %q", p.Point)
	}
	if !ok {
		return fmt.Errorf("%T does not implement the %s interface", p.Impl, p.Point)
	}
	return nil
}

// GRPCClient implements plugin.GRPCPlugin: it returns a client of the
// point's service that implements the point's sdk interface.
func (p *GRPCPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	c := caller{timeout: p.CallTimeout}
	switch p.Point {
	case PointPartitioner:
		return newPartitionerClient(c, pb.NewPartitionerClient(conn))
	case PointAssignor:
		return newAssignorClient(c, pb.NewAssignorClient(conn))
	case PointAuthenticator:
		return newAuthenticatorClient(c, pb.NewAuthenticatorClient(conn))
	case PointAuthorizer:
		return newAuthorizerClient(c, pb.NewAuthorizerClient(conn))
	}
	return nil, fmt.Errorf("unknown extension point %q", p.Point)
}

// caller holds what every client call shares: its time bound.
type caller struct {
	timeout time.Duration
}

func (c caller) ctx() (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return context.WithCancel(context.Background())
	}
	return context.WithTimeout(context.Background(), c.timeout)
}

// clientError turns a gRPC call's error into what an sdk caller
// expects: the plugin's own error text when the plugin answered with an
// error, and ErrUnavailable when it could not answer at all.
func clientError(method string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, method, err)
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return fmt.Errorf("%w: %s: %s", ErrUnavailable, method, st.Message())
	case codes.ResourceExhausted:
		// gRPC's answer to a message over its size limit: asking again
		// gets the same answer, so it must not read as retriable.
		return fmt.Errorf("%s: %s", method, st.Message())
	case codes.Unimplemented:
		return fmt.Errorf("%s: the plugin does not implement it: %s", method, st.Message())
	}
	return errors.New(st.Message())
}

// serverError turns an implementation's error into a gRPC status the
// client side maps back with clientError.
func serverError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrUnavailable) {
		return status.Error(codes.Unavailable, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

// recovered turns a panic of an implementation into an error, so a bad
// input costs one call rather than the plugin process.
func recovered(err *error) {
	if r := recover(); r != nil {
		*err = status.Errorf(codes.Internal, "plugin panicked: %v", r)
	}
}
