package kernel

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) handleApiVersions(rc *reqCtx, req *kmsg.ApiVersionsRequest) response {
	return response{msg: b.apiVersionsResponse(req.Version, 0)}
}

// apiVersionsResponse lists every served API with its version range:
// the same table the router dispatches from.
func (b *Broker) apiVersionsResponse(version, errCode int16) *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = version
	resp.ErrorCode = errCode
	for _, a := range b.apis {
		if a == nil {
			continue
		}
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	return resp
}

func failApiVersions(req *kmsg.ApiVersionsRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ErrorCode = code
	return resp
}
