package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// kcat runs kcat with args and stdin, failing the test on a non-zero exit.
func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	path := needTool(t, "kcat")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\nstderr: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func TestKcat(t *testing.T) {
	needTool(t, "kcat")
	b := startBroker(t, "", "num.partitions=3")

	// Metadata: the one broker, at the address we listen on.
	meta := kcat(t, "", "-b", b.addr, "-L")
	if !strings.Contains(meta, "1 brokers:") || !strings.Contains(meta, "broker 1 at "+b.addr) {
		t.Fatalf("kcat -L:\n%s", meta)
	}

	// Produce with keys and headers into an auto-created topic.
	const topic = "kcat-topic"
	var in strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&in, "key%d:value%d\n", i%4, i)
	}
	before := time.Now().UnixMilli()
	kcat(t, in.String(), "-b", b.addr, "-P", "-t", topic, "-K:", "-H", "h1=one", "-H", "h2=two")

	meta = kcat(t, "", "-b", b.addr, "-L", "-t", topic)
	if !strings.Contains(meta, `topic "`+topic+`" with 3 partitions`) {
		t.Fatalf("kcat -L -t after produce:\n%s", meta)
	}

	// Consume everything from the beginning and exit at the end.
	out := kcat(t, "", "-b", b.addr, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%k|%s|%h|%p|%o\n")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 30 {
		t.Fatalf("consumed %d records, want 30:\n%s", len(lines), out)
	}
	keyPartition := map[string]string{}
	seen := map[string]bool{}
	lastOffset := map[string]int{}
	for _, l := range lines {
		f := strings.Split(l, "|")
		if len(f) != 5 {
			t.Fatalf("bad line %q", l)
		}
		key, value, headers, part, off := f[0], f[1], f[2], f[3], f[4]
		if headers != "h1=one,h2=two" {
			t.Fatalf("headers %q, want h1=one,h2=two", headers)
		}
		if p, ok := keyPartition[key]; ok && p != part {
			t.Fatalf("key %s in partitions %s and %s", key, p, part)
		}
		keyPartition[key] = part
		var n, o int
		fmt.Sscanf(value, "value%d", &n)
		if key != fmt.Sprintf("key%d", n%4) {
			t.Fatalf("record %q has key %q", value, key)
		}
		fmt.Sscanf(off, "%d", &o)
		if last, ok := lastOffset[part]; ok && o != last+1 {
			t.Fatalf("partition %s: offset %d after %d", part, o, last)
		}
		lastOffset[part] = o
		seen[value] = true
	}
	if len(seen) != 30 {
		t.Fatalf("%d distinct values, want 30", len(seen))
	}

	// Offsets by timestamp (-Q): before the first record is offset 0 of
	// the partition; latest (-1) is the end offset.
	q := kcat(t, "", "-b", b.addr, "-Q", "-t", fmt.Sprintf("%s:%s:%d", topic, keyPartition["key0"], before-1000))
	re := regexp.MustCompile(`offset (-?\d+)`)
	if m := re.FindStringSubmatch(q); m == nil || m[1] != "0" {
		t.Fatalf("kcat -Q at an early timestamp:\n%s", q)
	}
	end := lastOffset[keyPartition["key0"]] + 1
	q = kcat(t, "", "-b", b.addr, "-Q", "-t", fmt.Sprintf("%s:%s:-1", topic, keyPartition["key0"]))
	if m := re.FindStringSubmatch(q); m == nil || m[1] != fmt.Sprint(end) {
		t.Fatalf("kcat -Q latest, want offset %d:\n%s", end, q)
	}
}
