package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// statLine builds a /proc/PID/stat line with the given command name,
// utime and stime, the other fields being plausible filler.
func statLine(comm string, utime, stime int) string {
	fields := []string{"1234", "(" + comm + ")", "S"}
	for i := 4; i <= 52; i++ {
		switch i {
		case 14:
			fields = append(fields, strconv.Itoa(utime))
		case 15:
			fields = append(fields, strconv.Itoa(stime))
		default:
			fields = append(fields, strconv.Itoa(i*7))
		}
	}
	return strings.Join(fields, " ") + "\n"
}

func TestParseProcStatCPU(t *testing.T) {
	for _, comm := range []string{
		"runnel",
		"my broker",        // a space
		"a) (b",            // parentheses that do not nest
		"x) S 1 2 3 4 5 )", // what would fool a parser splitting at the first ')'
		"",
	} {
		got, err := parseProcStatCPU([]byte(statLine(comm, 250, 17)))
		if err != nil || got != 267 {
			t.Errorf("comm %q: got %d, %v; want 267", comm, got, err)
		}
	}
	for _, bad := range []string{
		"",
		"1234 runnel S 1 2",     // no parentheses
		"1234 (runnel) S 1 2 3", // too few fields
		strings.Replace(statLine("r", 1, 2), " 1 2 ", " x 2 ", 1), // utime not a number
	} {
		if _, err := parseProcStatCPU([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\trunnel\nVmPeak:\t  999 kB\nVmRSS:\t   2048 kB\nThreads:\t9\n"
	if got, err := parseVmRSS([]byte(status)); err != nil || got != 2048*1024 {
		t.Fatalf("got %d, %v", got, err)
	}
	for _, bad := range []string{"Name:\tkthreadd\nThreads:\t1\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n"} {
		if _, err := parseVmRSS([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestProcStatsRead(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "42")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stat", statLine("the (broker)", 150, 50))
	write("status", "VmRSS:\t100 kB\n")
	s, err := procStats{pid: 42, root: root}.read()
	if err != nil || s.cpuSeconds != 2 || s.rssBytes != 100*1024 {
		t.Fatalf("got %+v, %v; want 2 CPU-seconds (200 ticks at USER_HZ 100), 102400 bytes", s, err)
	}
	_, err = procStats{pid: 43, root: root}.read()
	if err == nil || !strings.Contains(err.Error(), "no process 43") {
		t.Fatalf("missing process: %v", err)
	}
}

// TestProcStatsOfThisProcess reads the real /proc, as a run does.
func TestProcStatsOfThisProcess(t *testing.T) {
	s, err := procStats{pid: os.Getpid(), root: "/proc"}.read()
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if s.rssBytes <= 0 || s.cpuSeconds < 0 {
		t.Fatalf("implausible: %+v", s)
	}
}
