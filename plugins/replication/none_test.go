package replication

import (
	"testing"

	"github.com/runnel-dev/runnel/sdk"
)

func TestNoneCommitsWhatIsDurable(t *testing.T) {
	var r sdk.Replicator = None{}
	for _, end := range []int64{0, 1, 1 << 40} {
		if got := r.LeaderDurable(sdk.TopicPartition{Topic: "t", Partition: 3}, end); got != end {
			t.Errorf("LeaderDurable(%d) = %d", end, got)
		}
	}
}
