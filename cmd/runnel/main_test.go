package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// runCLI runs the command line args in-process.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommandListOnHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"-h"}, {"--help"}} {
		code, out, _ := runCLI(args...)
		if code != 0 {
			t.Errorf("%q: exit %d", args, code)
		}
		for _, c := range []string{"serve", "topic", "produce", "consume"} {
			if !strings.Contains(out, "\n  "+c+" ") {
				t.Errorf("%q: command list lacks %s:\n%s", args, c, out)
			}
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	code, out, errOut := runCLI("frobnicate")
	if code != 2 || out != "" || !strings.Contains(errOut, `unknown command "frobnicate"`) ||
		!strings.Contains(errOut, "Commands:") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, args := range [][]string{
		{"topic", "--help"},
		{"topic", "create", "--help"},
		{"topic", "list", "-h"},
		{"topic", "describe", "-h"},
		{"topic", "delete", "-h"},
		{"produce", "-h"},
		{"consume", "--help"},
		{"help", "consume"},
	} {
		code, out, errOut := runCLI(args...)
		if code != 0 || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{"Usage:", "Examples:"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: help lacks %q:\n%s", args, want, out)
			}
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"produce"}, "runnel produce: no topic given"},
		{[]string{"consume", "-t", "x", "-o", "later"}, "runnel consume: -o must be"},
		{[]string{"topic", "create"}, "runnel topic create: no topic name given"},
		{[]string{"topic", "rename", "x"}, `runnel topic: unknown subcommand "rename"`},
		{[]string{"topic", "list", "--nope"}, "runnel topic list: flag provided but not defined: -nope"},
		{[]string{"help", "nope"}, `unknown command "nope"`},
	} {
		code, _, errOut := runCLI(tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestReportRuntimeErrors(t *testing.T) {
	var buf bytes.Buffer
	err := &cmdError{cmd: "topic create", err: errors.Join(
		fmt.Errorf(`topic "a": boom`), fmt.Errorf(`topic "b": bang`))}
	if code := report(&buf, "topic", err); code != 1 {
		t.Fatalf("exit %d", code)
	}
	want := "runnel topic create: topic \"a\": boom\nrunnel topic create: topic \"b\": bang\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}

	buf.Reset()
	if code := report(&buf, "produce", errors.New("it broke")); code != 1 || buf.String() != "runnel produce: it broke\n" {
		t.Fatalf("exit %d, %q", code, buf.String())
	}
	if code := report(&buf, "x", errHelpShown); code != 0 {
		t.Fatalf("help: exit %d", code)
	}
}
