package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// clockTicksPerSecond converts /proc/PID/stat's utime and stime to seconds.
// They count in USER_HZ, which Linux fixes at 100 on every architecture for
// user-space ABI reasons (sysconf(_SC_CLK_TCK) returns it), whatever
// CONFIG_HZ the kernel runs at; so no cgo call to sysconf is needed.
const clockTicksPerSecond = 100

// procStats reads a local broker's CPU time and memory from /proc.
type procStats struct {
	pid  int
	root string // "/proc"; tests point it elsewhere
}

func (p procStats) String() string { return fmt.Sprintf("process %d", p.pid) }

func (p procStats) read() (brokerSample, error) {
	dir := filepath.Join(p.root, strconv.Itoa(p.pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return brokerSample{}, fmt.Errorf("no process %d (is --broker-pid right?)", p.pid)
		}
		return brokerSample{}, err
	}
	ticks, err := parseProcStatCPU(stat)
	if err != nil {
		return brokerSample{}, fmt.Errorf("%s/stat: %w", dir, err)
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return brokerSample{}, err
	}
	rss, err := parseVmRSS(status)
	if err != nil {
		return brokerSample{}, fmt.Errorf("%s/status: %w", dir, err)
	}
	return brokerSample{cpuSeconds: float64(ticks) / clockTicksPerSecond, rssBytes: rss}, nil
}

// parseProcStatCPU returns utime + stime, fields 14 and 15 of
// /proc/PID/stat, in clock ticks. Field 2 is the command name in
// parentheses, which may itself hold spaces and parentheses ("(a) b)"), so
// the fields are counted from the last ')' on, where field 3 begins.
func parseProcStatCPU(stat []byte) (uint64, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("no command name in parentheses")
	}
	fields := bytes.Fields(stat[end+1:])
	const utime, stime = 14 - 3, 15 - 3 // indexes after the name
	if len(fields) <= stime {
		return 0, fmt.Errorf("only %d fields after the command name", len(fields))
	}
	u, err := strconv.ParseUint(string(fields[utime]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	s, err := strconv.ParseUint(string(fields[stime]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return u + s, nil
}

// parseVmRSS returns the VmRSS line of /proc/PID/status in bytes. Kernel
// threads and zombies have none.
func parseVmRSS(status []byte) (int64, error) {
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmRSS line (a kernel thread or a zombie?)")
}
