package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// debianPython is the interpreter that sees apt's python3-kafka; a python3
// earlier on PATH may be a separate install without it.
const debianPython = "/usr/bin/python3"

const kafkaPythonScript = `
import sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition

addr, topic = sys.argv[1], sys.argv[2]
producer = KafkaProducer(bootstrap_servers=addr, acks='all', retries=5)
futures = [producer.send(topic, key=b'k%d' % (i % 5), value=b'value-%d' % i) for i in range(200)]
producer.flush()
metas = [f.get(timeout=30) for f in futures]
producer.close()

consumer = KafkaConsumer(topic, bootstrap_servers=addr, group_id=None,
                         auto_offset_reset='earliest', enable_auto_commit=False,
                         consumer_timeout_ms=5000)
values = []
for msg in consumer:
    values.append(msg.value)
    if len(values) == 200:
        break
consumer.close()

want = [b'value-%d' % i for i in range(200)]
if sorted(values) != sorted(want):
    print("mismatch: got %d values" % len(values))
    sys.exit(1)
print("ok %d %d" % (len(values), max(m.offset for m in metas)))
`

func TestKafkaPython(t *testing.T) {
	if _, err := os.Stat(debianPython); err != nil {
		needTool(t, "no-debian-python3")
	}
	check := exec.Command(debianPython, "-c", "import kafka")
	if err := check.Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3-kafka is not installed; .ci/run should have installed it")
		}
		t.Skip("python3-kafka is not installed")
	}
	b := startBroker(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, "-c", kafkaPythonScript, b.addr, "py-auto-topic")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kafka-python: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	if !strings.HasPrefix(out.String(), "ok 200 ") {
		t.Fatalf("kafka-python said %q", out.String())
	}
	if b.k == nil {
		t.Fatal("broker gone")
	}
}
