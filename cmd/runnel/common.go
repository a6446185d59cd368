package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// errHelpShown reports that a command printed its help because -h or
// --help was given; the process exits 0.
var errHelpShown = errors.New("help shown")

// usageError is a mistake on the command line. It exits 2 and is printed
// with the command's usage line.
type usageError struct {
	cmd   string // command path after "runnel", e.g. "topic create"
	usage string // usage line after "runnel "
	msg   string
}

func (e *usageError) Error() string { return e.msg }

// cmdError attributes a runtime error to a subcommand, so that it is
// printed as "runnel topic create: ..." rather than "runnel topic: ...".
type cmdError struct {
	cmd string
	err error
}

func (e *cmdError) Error() string { return e.err.Error() }
func (e *cmdError) Unwrap() error { return e.err }

// commandDoc is the help text of one command or subcommand.
type commandDoc struct {
	name     string // command path after "runnel", e.g. "topic create"
	summary  string // one line, for command lists
	usage    string // usage line after "runnel ", e.g. "topic create NAME... [flags]"
	detail   string // what the command does, one or more paragraphs
	examples []string
}

// flagSet is a flag.FlagSet that knows its command's help text and the
// aliases of its flags, and reports errors as usageErrors instead of
// printing them itself.
type flagSet struct {
	*flag.FlagSet
	doc     commandDoc
	aliases map[string][]string // primary flag name → alias names
	isAlias map[string]bool
}

func newFlagSet(doc commandDoc) *flagSet {
	fs := flag.NewFlagSet("runnel "+doc.name, flag.ContinueOnError)
	// parse reports errors and prints help itself, to the right stream and
	// with the usage line instead of the flag package's full dump.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{
		FlagSet: fs,
		doc:     doc,
		aliases: map[string][]string{},
		isAlias: map[string]bool{},
	}
}

// alias registers names as other names of the already defined flag
// primary. They share its value, so the last one given wins.
func (f *flagSet) alias(primary string, names ...string) {
	fl := f.Lookup(primary)
	if fl == nil {
		panic("alias of undefined flag " + primary)
	}
	for _, n := range names {
		f.Var(fl.Value, n, fl.Usage)
		f.aliases[primary] = append(f.aliases[primary], n)
		f.isAlias[n] = true
	}
}

// usageErr builds a usageError for this command from a format.
func (f *flagSet) usageErr(format string, args ...any) error {
	return &usageError{cmd: f.doc.name, usage: f.doc.usage, msg: fmt.Sprintf(format, args...)}
}

// parse parses args and returns the positional arguments. Unlike
// flag.FlagSet.Parse it accepts flags after positional arguments, since
// operators write "topic create orders --partitions 6" as often as the
// other way round; "--" still ends the flags. On -h or --help it prints
// the help to stdout and returns errHelpShown.
func (f *flagSet) parse(args []string, stdout io.Writer) ([]string, error) {
	var positional []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printHelp(stdout)
				return nil, errHelpShown
			}
			return nil, f.usageErr("%v", err)
		}
		rest := f.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// printHelp writes the description, usage line, examples and flags.
func (f *flagSet) printHelp(w io.Writer) {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(f.doc.detail))
	fmt.Fprintf(&b, "\n\nUsage:\n  runnel %s\n", f.doc.usage)
	if len(f.doc.examples) > 0 {
		b.WriteString("\nExamples:\n")
		for _, e := range f.doc.examples {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	b.WriteString("\nFlags:\n")
	f.VisitAll(func(fl *flag.Flag) {
		if !f.isAlias[fl.Name] {
			f.writeFlagHelp(&b, fl)
		}
	})
	b.WriteString("  -h, --help\n    \tshow this help\n")
	io.WriteString(w, b.String())
}

// writeFlagHelp writes one flag with its aliases, in the flag package's
// two-line layout: "-b, --bootstrap HOSTS" then the indented usage.
func (f *flagSet) writeFlagHelp(b *strings.Builder, fl *flag.Flag) {
	names := append([]string{fl.Name}, f.aliases[fl.Name]...)
	// Short names first: "-b, --bootstrap" reads better than the reverse.
	sort.SliceStable(names, func(i, j int) bool { return len(names[i]) < len(names[j]) })
	for i, n := range names {
		names[i] = dashes(n) + n
	}
	argName, usage := flag.UnquoteUsage(fl)
	b.WriteString("  " + strings.Join(names, ", "))
	if argName != "" {
		b.WriteString(" " + argName)
	}
	b.WriteString("\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t"))
	if showDefault(fl.DefValue) {
		fmt.Fprintf(b, " (default %s)", fl.DefValue)
	}
	b.WriteString("\n")
}

// dashes returns the conventional prefix for a flag name. The flag
// package accepts either form; help shows the usual one.
func dashes(name string) string {
	if len(name) == 1 {
		return "-"
	}
	return "--"
}

func showDefault(def string) bool {
	switch def {
	case "", "0", "false", "0s":
		return false
	}
	return true
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string {
	if s == nil {
		return ""
	}
	return strings.Join(*s, ",")
}

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// parseKeyValue splits "key=value" at the first '='. The value may be
// empty and may itself contain '='; the key may not be empty.
func parseKeyValue(s string) (key, value string, err error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return "", "", fmt.Errorf("%q is not of the form key=value", s)
	}
	return key, value, nil
}

// defaultBootstrap is where client commands look for a cluster when -b is
// not given.
const defaultBootstrap = "127.0.0.1:9092"

// clientFlags are the flags every command that talks to a cluster shares.
type clientFlags struct {
	bootstrap string
	timeout   time.Duration
}

func addClientFlags(f *flagSet) *clientFlags {
	c := &clientFlags{}
	def := os.Getenv(bootstrapEnv)
	if def == "" {
		def = defaultBootstrap
	}
	f.StringVar(&c.bootstrap, "bootstrap", def,
		"brokers to contact first, as a comma-separated `HOST:PORT` list;\n"+
			"$RUNNEL_BOOTSTRAP, when set, replaces the default")
	f.alias("bootstrap", "b")
	f.DurationVar(&c.timeout, "timeout", 10*time.Second,
		"give up on a request to the cluster after this `DURATION`")
	return c
}

// brokers returns the bootstrap list, checked.
func (c *clientFlags) brokers() ([]string, error) {
	var out []string
	for _, b := range strings.Split(c.bootstrap, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--bootstrap needs at least one HOST:PORT")
	}
	return out, nil
}

// validate checks the client flags and returns a usage error for f.
func (c *clientFlags) validate(f *flagSet) error {
	if _, err := c.brokers(); err != nil {
		return f.usageErr("%v", err)
	}
	if c.timeout <= 0 {
		return f.usageErr("--timeout must be positive, not %v", c.timeout)
	}
	return nil
}

// newClient returns a kgo client for the bootstrap brokers with opts.
// kgo connects lazily, so this fails only on a bad configuration.
func (c *clientFlags) newClient(opts ...kgo.Opt) (*kgo.Client, error) {
	brokers, err := c.brokers()
	if err != nil {
		return nil, err
	}
	base := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ClientID("runnel-cli"),
		kgo.DialTimeout(c.timeout),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("cannot set up the Kafka client: %w", err)
	}
	return cl, nil
}

// newAdmin returns an admin client. Closing it closes its kgo client.
func (c *clientFlags) newAdmin() (*kadm.Client, error) {
	cl, err := c.newClient()
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	// The broker-side timeout of CreateTopics and DeleteTopics: without it
	// the broker may keep working after our own deadline has passed.
	adm.SetTimeoutMillis(int32(min(c.timeout.Milliseconds(), 1<<31-1)))
	return adm, nil
}

// openAdmin opens an admin client and a context bounded by --timeout;
// done releases both.
func (c *clientFlags) openAdmin(ctx context.Context) (*kadm.Client, context.Context, func(), error) {
	adm, err := c.newAdmin()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	return adm, ctx, func() { cancel(); adm.Close() }, nil
}

// withTimeout bounds a request round with the --timeout deadline.
func (c *clientFlags) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// bootstrapEnv names the environment variable that sets the client
// commands' default bootstrap servers.
const bootstrapEnv = "RUNNEL_BOOTSTRAP"

// subcommand is one subcommand of a command with several (topic, group,
// plugin).
type subcommand struct {
	doc commandDoc
	run func(ctx context.Context, args []string, stdout io.Writer) error
}

// runSubcommand runs the subcommand of parent that args name, or prints
// parent's help.
func runSubcommand(ctx context.Context, parent commandDoc, subs []subcommand, args []string, stdout io.Writer) error {
	if len(args) == 0 || isHelpArg(args[0]) || args[0] == "help" {
		printSubcommandHelp(stdout, parent, subs)
		return nil
	}
	names := make([]string, 0, len(subs))
	for _, sub := range subs {
		name := strings.TrimPrefix(sub.doc.name, parent.name+" ")
		if name == args[0] {
			if err := sub.run(ctx, args[1:], stdout); err != nil {
				return &cmdError{cmd: sub.doc.name, err: err}
			}
			return nil
		}
		names = append(names, name)
	}
	return &usageError{cmd: parent.name, usage: parent.usage,
		msg: fmt.Sprintf("unknown subcommand %q (expected %s)", args[0], strings.Join(names, ", "))}
}

func printSubcommandHelp(w io.Writer, doc commandDoc, subs []subcommand) {
	var b strings.Builder
	b.WriteString(doc.detail)
	fmt.Fprintf(&b, "\n\nUsage:\n  runnel %s\n\nSubcommands:\n", doc.usage)
	for _, sub := range subs {
		fmt.Fprintf(&b, "  %-14s %s\n", strings.TrimPrefix(sub.doc.name, doc.name+" "), sub.doc.summary)
	}
	b.WriteString("\nExamples:\n")
	for _, e := range doc.examples {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	fmt.Fprintf(&b, "\nRun 'runnel %s <subcommand> --help' for its flags.\n", doc.name)
	io.WriteString(w, b.String())
}

// reportDeletes reports a delete of several named things: "deleted KIND
// NAME" for each one deleted, and the joined errors of the others. result
// says whether the broker answered for a name, and its error.
func reportDeletes(stdout io.Writer, kind string, names []string, result func(name string) (answered bool, err error)) error {
	var errs []error
	for _, name := range names {
		answered, err := result(name)
		switch {
		case !answered:
			errs = append(errs, fmt.Errorf("%s %q: the broker did not answer for it", kind, name))
		case err != nil:
			errs = append(errs, err)
		default:
			fmt.Fprintf(stdout, "deleted %s %q\n", kind, name)
		}
	}
	return errors.Join(errs...)
}
