package main

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/runnel-dev/runnel/bench/report"
)

// machine describes where the suite runs. runnelBin is the binary under
// test: its embedded VCS stamp names exactly the commit measured.
func machine(runnelBin string) report.Machine {
	m := report.Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = cpuModel(data)
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil { // what uname -r prints
		m.Kernel = strings.TrimSpace(string(data))
	}
	m.Commit = commitOf(runnelBin)
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel(cpuinfo []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// commitOf reads the VCS stamp Go embeds in a binary built inside a git
// checkout. Builds with -buildvcs=false (GOFLAGS here has it) carry none,
// so it falls back to asking git about the checkout the binary sits in.
func commitOf(bin string) string {
	if info, err := buildinfo.ReadFile(bin); err == nil {
		var rev, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			return shortCommit(rev, modified == "true")
		}
	}
	dir := filepath.Dir(bin)
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	status, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
	return shortCommit(strings.TrimSpace(string(out)), err == nil && len(bytes.TrimSpace(status)) > 0)
}

func shortCommit(rev string, dirty bool) string {
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += " (with uncommitted changes)"
	}
	return rev
}
