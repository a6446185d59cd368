package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// brokerSample is one reading of the broker's resource use.
type brokerSample struct {
	cpuSeconds float64 // user + system CPU time since the broker started
	rssBytes   int64
}

// statsSource reads the broker's resource use: procStats for a broker on
// this machine, adminStats through the broker's admin listener. Reads bound
// themselves (/proc does not block; the HTTP client has a timeout), so they
// take no context.
type statsSource interface {
	read() (brokerSample, error)
	String() string // names the source in errors
}

var (
	_ statsSource = procStats{}
	_ statsSource = (*adminStats)(nil)
)

// adminStats reads GET URL/stats from Runnel's admin listener: a JSON
// object with at least cpu_user_seconds, cpu_system_seconds and rss_bytes.
type adminStats struct {
	url string // the listener's base URL, without a trailing slash
	hc  *http.Client
}

func newAdminStats(base string, timeout time.Duration) *adminStats {
	return &adminStats{url: base + "/stats", hc: &http.Client{Timeout: timeout}}
}

func (a *adminStats) String() string { return a.url }

// adminStatsBody is the part of the /stats answer read here; the broker may
// send more.
type adminStatsBody struct {
	CPUUserSeconds   *float64 `json:"cpu_user_seconds"`
	CPUSystemSeconds *float64 `json:"cpu_system_seconds"`
	RSSBytes         *int64   `json:"rss_bytes"`
}

func (a *adminStats) read() (brokerSample, error) {
	resp, err := a.hc.Get(a.url)
	if err != nil {
		return brokerSample{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return brokerSample{}, fmt.Errorf("GET %s: %s%s", a.url, resp.Status, bodyHint(resp.Body))
	}
	var b adminStatsBody
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&b); err != nil {
		return brokerSample{}, fmt.Errorf("GET %s: not the JSON of a stats endpoint: %w", a.url, err)
	}
	if b.CPUUserSeconds == nil || b.CPUSystemSeconds == nil || b.RSSBytes == nil {
		return brokerSample{}, fmt.Errorf("GET %s: the answer lacks cpu_user_seconds, cpu_system_seconds or rss_bytes", a.url)
	}
	return brokerSample{cpuSeconds: *b.CPUUserSeconds + *b.CPUSystemSeconds, rssBytes: *b.RSSBytes}, nil
}

// bodyHint returns the start of an error answer's body, which often says
// what went wrong, as ": text".
func bodyHint(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 200))
	if len(b) == 0 {
		return ""
	}
	return ": " + string(b)
}

// rssInterval is how often the monitor samples the broker's memory.
const rssInterval = 100 * time.Millisecond

// monitor follows the broker over the measured window: CPU time at both
// ends, and the peak RSS of samples taken every rssInterval.
type monitor struct {
	src   statsSource
	first brokerSample
	stop  chan struct{}
	done  chan struct{}

	// mu guards maxRSS.
	mu     sync.Mutex
	maxRSS int64
}

// startMonitor takes the first sample, which also checks that src works,
// and starts sampling memory.
func startMonitor(src statsSource) (*monitor, error) {
	first, err := src.read()
	if err != nil {
		return nil, fmt.Errorf("cannot read the broker's CPU and memory from %s: %w", src, err)
	}
	m := &monitor{src: src, first: first, maxRSS: first.rssBytes, stop: make(chan struct{}), done: make(chan struct{})}
	go m.sample()
	return m, nil
}

func (m *monitor) sample() {
	defer close(m.done)
	t := time.NewTicker(rssInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			// A failed sample only loses a point of the memory curve;
			// finish reports the error that matters, at the end.
			if s, err := m.src.read(); err == nil {
				m.seeRSS(s.rssBytes)
			}
		}
	}
}

func (m *monitor) seeRSS(rss int64) {
	m.mu.Lock()
	m.maxRSS = max(m.maxRSS, rss)
	m.mu.Unlock()
}

// brokerUsage is what the monitor measured over the window.
type brokerUsage struct {
	cpuSeconds float64
	maxRSS     int64
}

// finish stops sampling and returns the CPU time spent since
// startMonitor and the peak memory.
func (m *monitor) finish() (brokerUsage, error) {
	close(m.stop)
	<-m.done
	last, err := m.src.read()
	if err != nil {
		return brokerUsage{}, fmt.Errorf("cannot read the broker's CPU and memory from %s at the end: %w", m.src, err)
	}
	m.seeRSS(last.rssBytes)
	cpu := last.cpuSeconds - m.first.cpuSeconds
	if cpu < 0 {
		return brokerUsage{}, errors.New("the broker's CPU time went backwards: did it restart during the run?")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return brokerUsage{cpuSeconds: cpu, maxRSS: m.maxRSS}, nil
}

// statsSourceFor returns the source cfg asks for, or nil. A PID wins over
// the admin URL: /proc is read without disturbing the broker.
func statsSourceFor(cfg *Config) statsSource {
	switch {
	case cfg.BrokerPID > 0:
		return procStats{pid: cfg.BrokerPID, root: "/proc"}
	case cfg.AdminURL != "":
		return newAdminStats(cfg.AdminURL, cfg.Timeout)
	}
	return nil
}
