package bench

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// statsServer serves body at /stats with the given status.
func statsServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stats" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAdminStats(t *testing.T) {
	// Extra fields are what a real broker sends too; they are ignored.
	srv := statsServer(t, 200, `{"cpu_user_seconds": 1.25, "cpu_system_seconds": 0.5, "rss_bytes": 123456789,
		"goroutines": 42, "uptime_seconds": 9.5}`)
	base, err := normalizeAdminURL(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newAdminStats(base, time.Second).read()
	if err != nil || s.cpuSeconds != 1.75 || s.rssBytes != 123456789 {
		t.Fatalf("got %+v, %v", s, err)
	}
}

func TestAdminStatsErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{500, "broken", "500 Internal Server Error: broken"},
		{200, "<html>", "not the JSON of a stats endpoint"},
		{200, `{"cpu_user_seconds": 1}`, "lacks cpu_user_seconds, cpu_system_seconds or rss_bytes"},
	} {
		srv := statsServer(t, tc.status, tc.body)
		_, err := newAdminStats(srv.URL, time.Second).read()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), srv.URL+"/stats") {
			t.Errorf("%d %q: err %v, want one naming the URL and %q", tc.status, tc.body, err, tc.want)
		}
	}
}

func TestNormalizeAdminURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:9644":   "http://127.0.0.1:9644",
		"http://127.0.0.1:9644//": "http://127.0.0.1:9644",
		"127.0.0.1:9644":          "http://127.0.0.1:9644",
		"https://b:1/admin/":      "https://b:1/admin",
	} {
		if got, err := normalizeAdminURL(in); err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://x:1", "http://", "http://[::1"} {
		if _, err := normalizeAdminURL(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// scriptedStats returns the samples it is given, one per read, repeating
// the last.
type scriptedStats struct {
	mu      sync.Mutex
	samples []brokerSample
	err     error // returned once the samples run out, if set
}

func (s *scriptedStats) String() string { return "script" }

func (s *scriptedStats) read() (brokerSample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 1 && s.err != nil {
		return brokerSample{}, s.err
	}
	v := s.samples[0]
	if len(s.samples) > 1 {
		s.samples = s.samples[1:]
	}
	return v, nil
}

func TestMonitor(t *testing.T) {
	src := &scriptedStats{samples: []brokerSample{
		{cpuSeconds: 10, rssBytes: 100},
		{cpuSeconds: 11, rssBytes: 900}, // the peak, seen between the ends
		{cpuSeconds: 12.5, rssBytes: 300},
	}}
	m, err := startMonitor(src)
	if err != nil {
		t.Fatal(err)
	}
	// Let the sampler take the middle sample.
	for deadline := time.Now().Add(5 * time.Second); ; {
		m.mu.Lock()
		peak := m.maxRSS
		m.mu.Unlock()
		if peak == 900 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sampler never read the middle sample")
		}
		time.Sleep(10 * time.Millisecond)
	}
	u, err := m.finish()
	if err != nil || u.cpuSeconds != 2.5 || u.maxRSS != 900 {
		t.Fatalf("got %+v, %v; want 2.5 CPU-seconds and a 900-byte peak", u, err)
	}
}

func TestMonitorErrors(t *testing.T) {
	if _, err := startMonitor(&scriptedStats{samples: []brokerSample{{}}, err: errors.New("gone")}); err == nil ||
		!strings.Contains(err.Error(), "from script: gone") {
		t.Fatalf("failing first read: %v", err)
	}
	// A broker that restarted mid-run has less CPU time at the end.
	m, err := startMonitor(&scriptedStats{samples: []brokerSample{{cpuSeconds: 5}, {cpuSeconds: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.finish(); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("CPU time going backwards: %v", err)
	}
}
