package bench

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProfiler(t *testing.T) {
	profile := []byte("\x1f\x8bfake pprof bytes")
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" "+r.URL.Path)
		switch r.URL.Path {
		case "/debug/pprof/cpu/start":
			w.WriteHeader(http.StatusNoContent)
		case "/debug/pprof/cpu/stop":
			w.Write(profile)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "cpu.pprof")
	p, err := newProfiler(srv.URL, file, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	p.abandon() // what the run's cleanup does; must keep a finished profile
	got, err := os.ReadFile(file)
	if err != nil || !bytes.Equal(got, profile) {
		t.Fatalf("profile file: %q, %v", got, err)
	}
	want := "POST /debug/pprof/cpu/start,POST /debug/pprof/cpu/stop"
	if strings.Join(calls, ",") != want {
		t.Fatalf("calls %v, want %s", calls, want)
	}
}

func TestProfilerErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "profiling is off", http.StatusForbidden)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "cpu.pprof")
	p, err := newProfiler(srv.URL, file, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	err = p.start()
	if err == nil || !strings.Contains(err.Error(), "POST "+srv.URL+"/debug/pprof/cpu/start: 403 Forbidden: profiling is off") {
		t.Fatalf("start: %v", err)
	}
	p.abandon()
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("an abandoned profile leaves a file behind: %v", err)
	}
	if _, err := newProfiler(srv.URL, filepath.Join(t.TempDir(), "no", "such", "dir"), time.Second); err == nil {
		t.Fatal("an unwritable profile path is accepted")
	}
}
