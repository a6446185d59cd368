package config

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// propEntry is one key/value pair read from a .properties file, with the
// number of the line it starts on.
type propEntry struct {
	key, value string
	line       int
}

// readProperties parses the Java .properties format that Kafka's
// server.properties uses: comment lines starting with # or !, key=value,
// key: value and "key value" separators, surrounding whitespace ignored,
// a trailing backslash continuing the line, and backslash escapes (\=, \:,
// \ , \t, \n, \r, \f, \uXXXX; any other escaped character stands for
// itself). Later duplicates are returned too; applying them in order
// makes the last one win, as in Java.
func readProperties(r io.Reader) ([]propEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var (
		out     []propEntry
		logical strings.Builder
		start   int  // line number where the current logical line began
		cont    bool // the previous line ended in a continuation
		n       int
	)
	flush := func() error {
		key, value, err := splitProperty(logical.String())
		logical.Reset()
		if err != nil {
			return fmt.Errorf("line %d: %w", start, err)
		}
		out = append(out, propEntry{key: key, value: value, line: start})
		return nil
	}
	for sc.Scan() {
		n++
		line := strings.TrimLeft(sc.Text(), " \t\f")
		if !cont {
			// Comments and blank lines only count at the start of a
			// logical line; inside a continuation they are value text.
			if line == "" || line[0] == '#' || line[0] == '!' {
				continue
			}
			start = n
		}
		if continues(line) {
			logical.WriteString(line[:len(line)-1])
			cont = true
			continue
		}
		logical.WriteString(line)
		cont = false
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	if cont { // a continuation on the last line just ends the entry
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// continues reports whether line ends in an odd number of backslashes: an
// even number is escaped backslashes, not a continuation.
func continues(line string) bool {
	k := 0
	for k < len(line) && line[len(line)-1-k] == '\\' {
		k++
	}
	return k%2 == 1
}

// splitProperty splits a logical line into its unescaped key and value.
// The key ends at the first unescaped '=', ':' or whitespace; whitespace
// and at most one '=' or ':' separate it from the value.
func splitProperty(line string) (key, value string, err error) {
	i := 0
	for i < len(line) {
		c := line[i]
		if c == '\\' {
			i += 2
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		i++
	}
	i = min(i, len(line))
	rawKey, rest := line[:i], line[i:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	if key, err = unescape(rawKey); err != nil {
		return "", "", err
	}
	if value, err = unescape(rest); err != nil {
		return "", "", err
	}
	return strings.TrimSpace(key), strings.TrimSpace(value), nil
}

// unescape resolves the backslash escapes of the .properties format.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\u escape %q: want four hex digits", s[i-1:])
			}
			r, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("malformed \\u escape %q: want four hex digits", s[i-1:i+5])
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}
