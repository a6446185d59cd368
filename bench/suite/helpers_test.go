package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
)

func TestParseIperf(t *testing.T) {
	mbps, err := parseIperf([]byte(`{"start":{},"end":{"sum_sent":{"bits_per_second":9e9},
		"sum_received":{"bits_per_second":8e9}}}`))
	if err != nil || mbps != 1000 {
		t.Errorf("got %v, %v; want 1000 MB/s from the receiver's 8e9 bit/s", mbps, err)
	}
	_, err = parseIperf([]byte(`{"start":{},"error":"error - unable to connect to server: Connection refused"}`))
	if err == nil || !strings.Contains(err.Error(), "unable to connect") {
		t.Errorf("error JSON: %v", err)
	}
	for _, bad := range []string{"", "iperf3: oops", `{"end":{}}`} {
		if _, err := parseIperf([]byte(bad)); err == nil {
			t.Errorf("parseIperf(%q) succeeded", bad)
		}
	}
}

func TestLoopbackWithIperf3(t *testing.T) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Skip("iperf3 is not installed")
	}
	d := &driver{cfg: config{iperfBin: "iperf3", iperfSeconds: 1, stopGrace: 5e9}, workDir: t.TempDir()}
	if err := mkdirLogs(d.workDir); err != nil {
		t.Fatal(err)
	}
	mbps, err := d.loopback(context.Background())
	if err != nil || mbps <= 0 {
		t.Fatalf("loopback: %v MB/s, %v", mbps, err)
	}
}

func TestDiskThroughput(t *testing.T) {
	mbps, err := diskThroughput(context.Background(), t.TempDir(), 3<<20)
	if err != nil || mbps <= 0 {
		t.Fatalf("diskThroughput: %v, %v", mbps, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := diskThroughput(ctx, t.TempDir(), 3<<20); err == nil {
		t.Error("a cancelled disk test reported a number")
	}
}

func TestLineWatcher(t *testing.T) {
	w := newLineWatcher("listening on ")
	// Split across writes, after another line, as a pipe may deliver it.
	for _, s := range []string{"starting\nlisten", "ing on 127.0.0.1:4", "242\nmore\n"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	select {
	case got := <-w.found:
		if got != "127.0.0.1:4242" {
			t.Errorf("found %q", got)
		}
	default:
		t.Fatal("address not found")
	}
	if _, err := w.Write([]byte("listening on again\n")); err != nil {
		t.Error(err)
	}
}

func TestPrefixAndTail(t *testing.T) {
	var out bytes.Buffer
	p := &prefixWriter{w: &out, prefix: "> "}
	p.Write([]byte("a\nb"))
	p.Write([]byte("c\n"))
	if out.String() != "> a\n> bc\n" {
		t.Errorf("prefixed %q", out.String())
	}
	tb := &tailBuffer{max: 5}
	tb.Write([]byte("abc"))
	tb.Write([]byte("defg"))
	if string(tb.buf) != "cdefg" {
		t.Errorf("tail %q", tb.buf)
	}
	if got := lastLines([]byte("one\n\ntwo\nthree\n"), 2); got != "two / three" {
		t.Errorf("lastLines = %q", got)
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"bin/bench-suite", "--records", "200000", "--workdir", "/tmp/a b", "it's", ""})
	want := `bin/bench-suite --records 200000 --workdir '/tmp/a b' 'it'\''s' ''`
	if got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}

func TestCPUModel(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
	if got := cpuModel([]byte(info)); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q", got)
	}
}

func TestParseFlags(t *testing.T) {
	var stderr bytes.Buffer
	c, err := parseFlags([]string{"--records", "200000", "--reps", "1", "--runnel", "x/runnel"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.records != 200000 || c.reps != 1 || c.benchBin != "x/runnel" || c.diskBytes != 1<<30 || c.latencyRate != 20000 {
		t.Errorf("config %+v", c)
	}
	for _, bad := range [][]string{{"--reps", "0"}, {"--records", "0"}, {"extra"}, {"--latency-rate", "-1"}} {
		if _, err := parseFlags(bad, &stderr); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

func TestCommitOfFallsBackToGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	// A throwaway repository, not the project's: a binary in its bin/
	// that carries no VCS stamp (a shell script here) gets the checkout's
	// commit.
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	writeScript(t, repo+"/f", "one\n")
	git("add", "f")
	git("commit", "-q", "-m", "c")
	head := git("rev-parse", "HEAD")
	writeScript(t, repo+"/bin-runnel", "#!/bin/sh\n")
	if got, want := commitOf(repo+"/bin-runnel"), head[:12]; got != want {
		t.Errorf("commitOf = %q, want %q", got, want)
	}
	writeScript(t, repo+"/f", "two\n")
	if got := commitOf(repo + "/bin-runnel"); !strings.HasSuffix(got, "(with uncommitted changes)") {
		t.Errorf("commitOf with a modified file = %q", got)
	}
	if got := commitOf(t.TempDir() + "/runnel"); got != "" {
		t.Errorf("commitOf outside a checkout = %q, want empty", got)
	}
}
