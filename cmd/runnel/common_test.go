package main

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testFlagSet() (*flagSet, *clientFlags, *int, *bool) {
	f := newFlagSet(commandDoc{
		name:     "thing",
		usage:    "thing NAME [flags]",
		detail:   "Do a thing.",
		examples: []string{"runnel thing x"},
	})
	c := addClientFlags(f)
	n := f.Int("count", 0, "how many `N`")
	f.alias("count", "c")
	v := f.Bool("verbose", false, "say more")
	return f, c, n, v
}

func TestParseAcceptsFlagsAfterPositionals(t *testing.T) {
	f, c, n, v := testFlagSet()
	pos, err := f.parse([]string{"a", "-c", "3", "b", "--verbose", "--bootstrap", "h:1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pos, []string{"a", "b"}) || *n != 3 || !*v || c.bootstrap != "h:1" {
		t.Fatalf("got pos=%q n=%d v=%t bootstrap=%q", pos, *n, *v, c.bootstrap)
	}
}

func TestParseDoubleDashEndsFlags(t *testing.T) {
	f, _, n, _ := testFlagSet()
	pos, err := f.parse([]string{"a", "--", "-c", "3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pos, []string{"a", "-c", "3"}) || *n != 0 {
		t.Fatalf("got pos=%q n=%d", pos, *n)
	}
}

func TestParseUnknownFlagIsUsageError(t *testing.T) {
	f, _, _, _ := testFlagSet()
	_, err := f.parse([]string{"--nope"}, nil)
	var ue *usageError
	if !errors.As(err, &ue) || ue.cmd != "thing" || !strings.Contains(ue.msg, "nope") {
		t.Fatalf("got %v", err)
	}
}

func TestHelpListsAliasesTogether(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		f, _, _, _ := testFlagSet()
		var out bytes.Buffer
		_, err := f.parse([]string{arg}, &out)
		if !errors.Is(err, errHelpShown) {
			t.Fatalf("%s: err = %v", arg, err)
		}
		help := out.String()
		for _, want := range []string{
			"Do a thing.", "Usage:\n  runnel thing NAME [flags]", "Examples:\n  runnel thing x",
			"-b, --bootstrap HOST:PORT", "-c, --count N", "--verbose\n", "(default 10s)", "-h, --help",
		} {
			if !strings.Contains(help, want) {
				t.Errorf("%s: help lacks %q:\n%s", arg, want, help)
			}
		}
		if strings.Count(help, "--bootstrap") != 1 || strings.Contains(help, "\n  -bootstrap") {
			t.Errorf("alias listed separately:\n%s", help)
		}
	}
}

func TestBootstrapDefaultFromEnvironment(t *testing.T) {
	t.Setenv("RUNNEL_BOOTSTRAP", "k1:9092, k2:9092,")
	f, c, _, _ := testFlagSet()
	if _, err := f.parse(nil, nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.brokers()
	if err != nil || !reflect.DeepEqual(got, []string{"k1:9092", "k2:9092"}) {
		t.Fatalf("brokers = %q, %v", got, err)
	}

	t.Setenv("RUNNEL_BOOTSTRAP", "")
	f, c, _, _ = testFlagSet()
	if _, err := f.parse([]string{"-b", "x:1"}, nil); err != nil {
		t.Fatal(err)
	}
	if c.bootstrap != "x:1" {
		t.Fatalf("bootstrap = %q", c.bootstrap)
	}
	f, c, _, _ = testFlagSet()
	f.parse(nil, nil)
	if c.bootstrap != defaultBootstrap || c.timeout != 10*time.Second {
		t.Fatalf("defaults = %q %v", c.bootstrap, c.timeout)
	}
}

func TestClientFlagsValidate(t *testing.T) {
	for _, args := range [][]string{{"-b", " , "}, {"--timeout", "0s"}, {"--timeout", "-1s"}} {
		f, c, _, _ := testFlagSet()
		if _, err := f.parse(args, nil); err != nil {
			t.Fatal(err)
		}
		var ue *usageError
		if err := c.validate(f); !errors.As(err, &ue) {
			t.Errorf("%q: validate = %v, want a usage error", args, err)
		}
	}
}

func TestParseKeyValue(t *testing.T) {
	for in, want := range map[string][2]string{
		"a=b":    {"a", "b"},
		"a=":     {"a", ""},
		"a=b=c":  {"a", "b=c"},
		"k.x=1 ": {"k.x", "1 "},
	} {
		k, v, err := parseKeyValue(in)
		if err != nil || k != want[0] || v != want[1] {
			t.Errorf("%q: got %q %q %v", in, k, v, err)
		}
	}
	for _, in := range []string{"", "a", "=b"} {
		if _, _, err := parseKeyValue(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}
