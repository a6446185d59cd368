package bench

import (
	"fmt"
	"io"
	"time"
)

// progress writes a line every interval while a run goes on, so that a
// long run shows it is alive and a slow one can be stopped early: records
// done so far, throughput over the last interval, p99 so far.
type progress struct {
	w        io.Writer
	interval time.Duration
	workload Workload
	target   int64    // records the run aims at; 0 if unknown
	tallies  []*tally // whose records count
	all      []*tally // whose errors count
	latency  bool     // whether the tallies hold latencies
	stop     chan struct{}
	done     chan struct{}
}

func (p *progress) start() {
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop()
}

func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	var lastBytes int64
	last := time.Now()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			s := sum(p.tallies, p.latency)
			mbps := float64(s.bytes-lastBytes) / 1e6 / now.Sub(last).Seconds()
			lastBytes, last = s.bytes, now
			p.line(s, mbps)
		}
	}
}

func (p *progress) line(s totals, mbps float64) {
	line := fmt.Sprintf("bench %s: %d", p.workload, s.records)
	if p.target > 0 {
		line += fmt.Sprintf("/%d", p.target)
	}
	line += fmt.Sprintf(" records, %.1f MB/s", mbps)
	if p.latency && s.hist.TotalCount() > 0 {
		line += ", p99 " + micros(s.hist.ValueAtQuantile(99))
	}
	if errs := sum(p.all, false).errors; errs > 0 {
		line += fmt.Sprintf(", %d errors", errs)
	}
	fmt.Fprintln(p.w, line)
}

// finish stops the lines.
func (p *progress) finish() {
	close(p.stop)
	<-p.done
}
