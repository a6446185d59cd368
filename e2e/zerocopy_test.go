package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel-dev/runnel/kernel/admin"
)

// TestFetchPaths consumes with a real client with zero-copy on and off,
// checks every record, and reads from the admin listener's /stats which
// path carried the record bytes.
func TestFetchPaths(t *testing.T) {
	for _, zeroCopy := range []bool{true, false} {
		t.Run(fmt.Sprintf("zero-copy=%v", zeroCopy), func(t *testing.T) {
			br := startBroker(t, "", "admin.listener=127.0.0.1:0", fmt.Sprintf("fetch.zero.copy.enable=%v", zeroCopy))
			ctx := testContext(t)
			const topic, n = "zc", 3000
			if _, err := br.admin().CreateTopic(ctx, 3, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			prod := br.client(kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()))
			for i := range n {
				v := bytes.Repeat([]byte{byte(i)}, 100+i%900)
				prod.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: v}, nil)
			}
			if err := prod.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			cons := br.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
				kgo.FetchMaxBytes(256<<10), kgo.FetchMaxPartitionBytes(64<<10))
			seen := make(map[string]bool)
			var recordBytes int64
			for len(seen) < n {
				fs := cons.PollFetches(ctx)
				if err := fs.Err0(); err != nil {
					t.Fatal(err)
				}
				fs.EachRecord(func(r *kgo.Record) {
					var i int
					fmt.Sscan(string(r.Key), &i)
					if want := bytes.Repeat([]byte{byte(i)}, 100+i%900); !bytes.Equal(r.Value, want) {
						t.Fatalf("record %s: value differs", r.Key)
					}
					seen[string(r.Key)] = true
					recordBytes += int64(len(r.Value))
				})
			}
			st := adminStats(t, br)
			sent := st.FetchSendfileBytes + st.FetchCopiedBytes
			if sent < recordBytes {
				t.Fatalf("stats count %d fetched bytes, less than the %d value bytes consumed", sent, recordBytes)
			}
			if zeroCopy && st.FetchSendfileBytes == 0 {
				t.Fatalf("zero-copy on, yet nothing went by sendfile: %+v", st)
			}
			if !zeroCopy && st.FetchSendfileBytes != 0 {
				t.Fatalf("zero-copy off, yet %d bytes went by sendfile", st.FetchSendfileBytes)
			}
		})
	}
}

func adminStats(t *testing.T, br *broker) admin.Stats {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), "GET", "http://"+br.k.AdminAddr().String()+"/stats", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st admin.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
