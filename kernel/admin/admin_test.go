package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func startAdmin(t *testing.T) string {
	t.Helper()
	s, err := Listen("127.0.0.1:0", func() Counters {
		return Counters{FetchSendfileBytes: 1234, FetchCopiedBytes: 56}
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return "http://" + s.Addr().String()
}

func call(t *testing.T, method, url string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestStats(t *testing.T) {
	base := startAdmin(t)
	// Burn a little CPU so the process has some to report.
	x := 0
	for i := range 20_000_000 {
		x += i
	}
	code, body := call(t, "GET", base+"/stats")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var st Stats
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if st.CPUUserSeconds+st.CPUSystemSeconds <= 0 || st.RSSBytes <= 0 || st.MaxRSSBytes < st.RSSBytes/2 || st.PID <= 0 {
		t.Fatalf("implausible stats %+v (x=%d)", st, x)
	}
	if st.FetchSendfileBytes != 1234 || st.FetchCopiedBytes != 56 {
		t.Fatalf("counters not reported: %+v", st)
	}
	for _, field := range []string{`"cpu_user_seconds"`, `"cpu_system_seconds"`, `"rss_bytes"`} {
		if !bytes.Contains(body, []byte(field)) {
			t.Fatalf("stats lack %s, which runnel bench reads: %s", field, body)
		}
	}
}

func TestMetrics(t *testing.T) {
	base := startAdmin(t)
	code, body := call(t, "GET", base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		`runnel_fetch_bytes_total{path="sendfile"} 1234`,
		`runnel_fetch_bytes_total{path="copy"} 56`,
		"process_cpu_seconds_total",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestCPUProfileWindow(t *testing.T) {
	base := startAdmin(t)
	if code, _ := call(t, "POST", base+"/debug/pprof/cpu/stop"); code != http.StatusConflict {
		t.Fatalf("stop without start: status %d", code)
	}
	if code, body := call(t, "POST", base+"/debug/pprof/cpu/start"); code != http.StatusNoContent {
		t.Fatalf("start: status %d: %s", code, body)
	}
	if code, _ := call(t, "POST", base+"/debug/pprof/cpu/start"); code != http.StatusConflict {
		t.Fatalf("second start: status %d", code)
	}
	code, body := call(t, "POST", base+"/debug/pprof/cpu/stop")
	if code != http.StatusOK {
		t.Fatalf("stop: status %d: %s", code, body)
	}
	// A pprof profile is a gzipped protocol buffer.
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		t.Fatalf("stop answered %d bytes that are not a gzipped profile", len(body))
	}
	if code, _ := call(t, "GET", base+"/debug/pprof/"); code != http.StatusOK {
		t.Fatalf("pprof index: status %d", code)
	}
}

func TestListenRefusesBadAddress(t *testing.T) {
	_, err := Listen("127.0.0.1:99999", func() Counters { return Counters{} }, slog.Default())
	if err == nil || !strings.Contains(err.Error(), "admin.listener") {
		t.Fatalf("got %v", err)
	}
}
