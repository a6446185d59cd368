// Package admin owns the broker's admin HTTP listener: Prometheus text
// metrics (/metrics), a JSON snapshot of the counters benchmarks read
// (/stats), and Go's profiler (/debug/pprof), including a CPU profile
// bounded by two calls (/debug/pprof/cpu/start and /stop) so that a
// benchmark profiles exactly its measured window.
//
// The listener has no authentication: it belongs on a private address.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	runtimepprof "runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Counters are the broker's own numbers the listener exports.
type Counters struct {
	// FetchSendfileBytes are fetched record bytes sent with sendfile.
	FetchSendfileBytes int64
	// FetchCopiedBytes are fetched record bytes copied through the
	// broker instead.
	FetchCopiedBytes int64
}

// Stats is the /stats answer. Field names are a contract with `runnel
// bench`; add, never rename.
type Stats struct {
	PID                int     `json:"pid"`
	CPUUserSeconds     float64 `json:"cpu_user_seconds"`
	CPUSystemSeconds   float64 `json:"cpu_system_seconds"`
	RSSBytes           int64   `json:"rss_bytes"`
	MaxRSSBytes        int64   `json:"max_rss_bytes"`
	Goroutines         int     `json:"goroutines"`
	HeapInuseBytes     uint64  `json:"heap_inuse_bytes"`
	FetchSendfileBytes int64   `json:"fetch_sendfile_bytes"`
	FetchCopiedBytes   int64   `json:"fetch_copied_bytes"`
}

// Server is a running admin listener.
type Server struct {
	srv      *http.Server
	addr     net.Addr
	counters func() Counters
	metrics  *metrics.Set
	mux      *http.ServeMux

	// mu guards profile: the CPU profile being taken, if any.
	mu      sync.Mutex
	profile *bytes.Buffer
}

// Listen binds addr and serves the admin endpoints until Shutdown.
// counters is called per request.
func Listen(addr string, counters func() Counters, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin.listener %s: %w", addr, err)
	}
	s := &Server{addr: ln.Addr(), counters: counters, metrics: metrics.NewSet()}
	s.metrics.NewGauge(`runnel_fetch_bytes_total{path="sendfile"}`, func() float64 {
		return float64(s.counters().FetchSendfileBytes)
	})
	s.metrics.NewGauge(`runnel_fetch_bytes_total{path="copy"}`, func() float64 {
		return float64(s.counters().FetchCopiedBytes)
	})
	mux := http.NewServeMux()
	s.mux = mux
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	mux.HandleFunc("GET /stats", s.serveStats)
	mux.HandleFunc("POST /debug/pprof/cpu/start", s.startCPUProfile)
	mux.HandleFunc("POST /debug/pprof/cpu/stop", s.stopCPUProfile)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener stopped", "error", err)
		}
	}()
	return s, nil
}

// Addr is the bound address (useful when the port was 0).
func (s *Server) Addr() net.Addr { return s.addr }

// Shutdown stops the listener, ending a CPU profile left running.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.profile != nil {
		runtimepprof.StopCPUProfile()
		s.profile = nil
	}
	s.mu.Unlock()
	return s.srv.Shutdown(ctx)
}

func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	s.metrics.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}

func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) {
	st, err := s.stats()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

func (s *Server) stats() (Stats, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Stats{}, fmt.Errorf("getrusage: %w", err)
	}
	rss, err := currentRSS()
	if err != nil {
		return Stats{}, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	c := s.counters()
	return Stats{
		PID:                os.Getpid(),
		CPUUserSeconds:     seconds(ru.Utime),
		CPUSystemSeconds:   seconds(ru.Stime),
		RSSBytes:           rss,
		MaxRSSBytes:        ru.Maxrss << 10, // Linux reports KiB
		Goroutines:         runtime.NumGoroutine(),
		HeapInuseBytes:     ms.HeapInuse,
		FetchSendfileBytes: c.FetchSendfileBytes,
		FetchCopiedBytes:   c.FetchCopiedBytes,
	}, nil
}

func seconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// currentRSS reads the resident set size from /proc/self/statm (pages).
func currentRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("read resident set size: %w", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0, fmt.Errorf("read resident set size: unexpected /proc/self/statm %q", b)
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read resident set size: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}

func (s *Server) startCPUProfile(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.profile != nil {
		http.Error(w, "a CPU profile is already running; stop it first", http.StatusConflict)
		return
	}
	buf := new(bytes.Buffer)
	if err := runtimepprof.StartCPUProfile(buf); err != nil {
		// Someone else in the process profiles (a /debug/pprof/profile
		// request, or a test binary's -cpuprofile).
		http.Error(w, "cannot start a CPU profile: "+err.Error(), http.StatusConflict)
		return
	}
	s.profile = buf
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) stopCPUProfile(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.profile == nil {
		http.Error(w, "no CPU profile is running; start one first", http.StatusConflict)
		return
	}
	runtimepprof.StopCPUProfile()
	buf := s.profile
	s.profile = nil
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="cpu.pprof"`)
	_, _ = w.Write(buf.Bytes())
}

// HandleJSON serves GET path with what f returns, as JSON: the broker's
// caller adds its own views (the plugin host's /plugins) this way.
func (s *Server) HandleJSON(path string, f func() any) {
	s.mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(f())
	})
}
