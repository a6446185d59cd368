package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	// The blank import is the whole set of builtin extensions this binary
	// ships: it registers the partitioners that runnel produce resolves by
	// name, and whatever the broker resolves from its configuration.
	_ "github.com/runnel-dev/runnel/plugins/builtin"
)

// command is one entry of the top-level command list.
type command struct {
	name    string
	summary string
	// client commands get a context that Ctrl-C cancels. serve handles
	// signals itself: it needs an orderly shutdown, not a cancelled context.
	client bool
	run    func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// commands lists the commands in the order `runnel help` shows them.
var commands = []command{
	{
		name:    "serve",
		summary: "run a broker",
		run: func(_ context.Context, args []string, _ io.Reader, _, _ io.Writer) error {
			return runServe(args)
		},
	},
	{
		name:    "topic",
		summary: "create, list, describe and delete topics",
		client:  true,
		run: func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
			return runTopic(ctx, args, stdout, stderr)
		},
	},
	{
		name:    "group",
		summary: "list, describe, delete consumer groups and reset their offsets",
		client:  true,
		run: func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
			return runGroup(ctx, args, stdout, stderr)
		},
	},
	{
		name:    "produce",
		summary: "write lines from stdin or a file to a topic, one record per line",
		client:  true,
		run:     runProduce,
	},
	{
		name:    "consume",
		summary: "print the records of a topic",
		client:  true,
		run: func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
			return runConsume(ctx, args, stdout, stderr)
		},
	},
	{
		name:    "plugin",
		summary: "list extension bindings, serve a builtin as a plugin process",
		run: func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
			return runPlugin(ctx, args, stdout, stderr)
		},
	},
	{
		name:    "bench",
		summary: "measure a broker: produce, consume and end-to-end throughput and latency",
		client:  true,
		run: func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
			return runBench(ctx, args, stdout, stderr)
		},
	},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line args and returns the process exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelpArg(args[0]) {
		printUsage(stdout)
		return 0
	}
	name, rest := args[0], args[1:]
	if name == "help" {
		return runHelp(rest, stdout, stderr)
	}
	cmd, ok := lookupCommand(name)
	if !ok {
		fmt.Fprintf(stderr, "runnel: unknown command %q\n\n", name)
		printUsage(stderr)
		return 2
	}
	ctx := context.Background()
	if cmd.client {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	return report(stderr, cmd.name, cmd.run(ctx, rest, stdin, stdout, stderr))
}

// runHelp implements `runnel help [COMMAND]`: the command list, or the
// help of one command, as `runnel COMMAND --help` would print it.
func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stdout)
		return 0
	}
	if _, ok := lookupCommand(args[0]); !ok {
		fmt.Fprintf(stderr, "runnel help: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return 2
	}
	// Asking the command itself keeps one source of truth for its help.
	return run(append(args[:len(args):len(args)], "--help"), nil, stdout, stderr)
}

func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func isHelpArg(s string) bool {
	return s == "-h" || s == "-help" || s == "--help"
}

func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Runnel is a Kafka-compatible broker shipped as one binary.\n\n")
	b.WriteString("Usage:\n  runnel <command> [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'runnel <command> --help' for the flags and examples of a command.\n")
	io.WriteString(w, b.String())
}

// report prints err for an operator and returns the exit status it maps to.
func report(stderr io.Writer, name string, err error) int {
	if err == nil || errors.Is(err, errHelpShown) {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "runnel %s: %s\n", ue.cmd, ue.msg)
		fmt.Fprintf(stderr, "Usage: runnel %s\n", ue.usage)
		fmt.Fprintf(stderr, "Run 'runnel %s --help' for details.\n", ue.cmd)
		return 2
	}
	var ce *cmdError
	if errors.As(err, &ce) {
		name, err = ce.cmd, ce.err
	}
	// Per-topic failures arrive joined; one line each reads better than
	// one line with the others dangling under it unprefixed.
	for _, e := range splitJoined(err) {
		fmt.Fprintf(stderr, "runnel %s: %v\n", name, e)
	}
	return 1
}

// splitJoined returns the errors joined in err by errors.Join, or err alone.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
