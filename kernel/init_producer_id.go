package kernel

import (
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// producerIDs hands out producer ids. Ids are reserved in blocks recorded
// in the metadata log, so a restart never hands out an id twice without a
// log write per id. Guarded by Broker.metaMu.
type producerIDs struct {
	next, upTo int64
}

const producerIDBlock = 1000

func (b *Broker) allocProducerID() (int64, error) {
	b.metaMu.Lock()
	defer b.metaMu.Unlock()
	if b.pids.next >= b.pids.upTo {
		upTo := b.pids.next + producerIDBlock
		if err := b.meta.append(metaRecord{Type: recProducerIDs, ProducerIDsUpTo: upTo}); err != nil {
			return -1, err
		}
		b.pids.upTo = upTo
	}
	id := b.pids.next
	b.pids.next++
	return id, nil
}

func (b *Broker) issuedProducerID(id int64) bool {
	b.metaMu.Lock()
	defer b.metaMu.Unlock()
	return id >= 0 && id < b.pids.next
}

// handleInitProducerID serves idempotent producers. Transactions are not
// served yet, so a transactional id is refused rather than half-honoured.
// From v3 a producer may present its current id and epoch to have the
// epoch bumped (KIP-360), which resets its sequences after an error.
func (b *Broker) handleInitProducerID(rc *reqCtx, req *kmsg.InitProducerIDRequest) response {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		b.log.Warn("refused InitProducerId with a transactional id: transactions are not supported yet",
			"client", rc.header.clientID, "transactional.id", *req.TransactionalID)
		return response{msg: resp}
	}
	if req.Version >= 3 && req.ProducerID >= 0 {
		if !b.issuedProducerID(req.ProducerID) || req.ProducerEpoch < 0 {
			resp.ErrorCode = kerr.InvalidProducerIDMapping.Code
			return response{msg: resp}
		}
		if req.ProducerEpoch < math.MaxInt16-1 {
			resp.ProducerID, resp.ProducerEpoch = req.ProducerID, req.ProducerEpoch+1
			return response{msg: resp}
		}
		// Epoch exhausted: fall through to a fresh id.
	}
	id, err := b.allocProducerID()
	if err != nil {
		b.log.Error("could not allocate a producer id", "error", err)
		resp.ErrorCode = kerr.KafkaStorageError.Code
		return response{msg: resp}
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return response{msg: resp}
}

func failInitProducerID(req *kmsg.InitProducerIDRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = code, -1, -1
	return resp
}
