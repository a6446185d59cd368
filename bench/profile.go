package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// profiler takes a CPU profile of the broker over the measured window
// through its admin listener: POST /debug/pprof/cpu/start at the start,
// POST /debug/pprof/cpu/stop at the end, whose answer is the profile.
type profiler struct {
	base string
	hc   *http.Client
	out  *os.File
	kept bool // the profile was written; abandon leaves it
}

// newProfiler creates file at once, so that an unwritable path fails
// before the run rather than after it.
func newProfiler(base, file string, timeout time.Duration) (*profiler, error) {
	out, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("cannot write the profile: %w", err)
	}
	// Stopping answers with the whole profile, which takes longer than a
	// small request; give it room.
	return &profiler{base: base, hc: &http.Client{Timeout: 2 * timeout}, out: out}, nil
}

// start asks the broker to begin profiling.
func (p *profiler) start() error {
	resp, err := p.post("/debug/pprof/cpu/start")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// stop ends the broker's profile and writes it to the file.
func (p *profiler) stop() error {
	resp, err := p.post("/debug/pprof/cpu/stop")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(p.out, resp.Body); err != nil {
		return fmt.Errorf("reading the profile from %s: %w", resp.Request.URL, err)
	}
	if err := p.out.Close(); err != nil {
		return fmt.Errorf("cannot write the profile: %w", err)
	}
	p.kept = true
	return nil
}

// abandon closes and removes the file unless stop wrote the profile, so
// that an empty or partial file is not mistaken for one.
func (p *profiler) abandon() {
	if p.kept {
		return
	}
	p.out.Close()
	os.Remove(p.out.Name())
}

// post POSTs to base+path and returns the answer if it is a 2xx one.
func (p *profiler) post(path string) (*http.Response, error) {
	url := p.base + path
	resp, err := p.hc.Post(url, "", nil)
	if err != nil {
		return nil, fmt.Errorf("profiling: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, fmt.Errorf("profiling: POST %s: %s%s", url, resp.Status, bodyHint(resp.Body))
	}
	return resp, nil
}
